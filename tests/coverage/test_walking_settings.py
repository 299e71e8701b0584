"""Each walking setting (GRIDMAP_WALK_SPEED_MPS, _MAX_SNAP_M, _WALK_HIGHWAYS, _DETOUR_FACTOR)
reaches every analysis that walks: coverage and siting from the command line, the maps the
command draws, and the service's runs, scenarios and map downloads.

Every analysis places its study area through ``prepare_area(inputs, walking)``; a spy there
records the walking each path handed down.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import gridmap.coverage
import gridmap.siting.proposal
from api.main import create_app
from gridmap.accounts import add_user
from gridmap.settings import Settings
from gridmap.store.engine import make_engine
from gridmap.walking import WalkingParams
from gridmap_cli import main

ENV = {
    "GRIDMAP_WALK_SPEED_MPS": "0.9",
    "GRIDMAP_ELDERLY_SPEED_MPS": "0.6",
    "GRIDMAP_MAX_SNAP_M": "123",
    "GRIDMAP_WALK_HIGHWAYS": '["footway", "residential", "tertiary"]',
    "GRIDMAP_DETOUR_FACTOR": "1.7",
}
EXPECTED = WalkingParams(
    speed_mps=0.9, max_snap_m=123.0, highways=("footway", "residential", "tertiary"), detour_factor=1.7
)


@pytest.fixture
def walked(monkeypatch, demo_db) -> list[tuple[str, WalkingParams]]:
    """The walking every study area was prepared with, as (analysis, walking)."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", demo_db)
    seen: list[tuple[str, WalkingParams]] = []
    for module in (gridmap.coverage, gridmap.siting.proposal):
        real = module.prepare_area

        def spy(inputs, walking, _real=real, _name=module.__name__, **options):
            seen.append((_name.rsplit(".", 1)[-1], walking))
            return _real(inputs, walking, **options)

        monkeypatch.setattr(module, "prepare_area", spy)
    return seen


def _ran(walked) -> set[str]:
    assert walked, "no analysis ran"
    wrong = [(name, w) for name, w in walked if w != EXPECTED]
    assert wrong == [], f"walking not from the settings: {wrong}"
    return {name for name, _ in walked}


@pytest.mark.slow
def test_the_command_line_walks_as_the_settings_say(walked, tmp_path, capsys):
    assert main(["coverage", "--category", "clinic", "--level", "15", "--no-save", "--no-circles"]) == 0
    assert main(["site", "--category", "elderly_care", "--count", "1", "--no-save"]) == 0, (
        capsys.readouterr().err
    )
    assert _ran(walked) == {"coverage", "proposal"}
    walked.clear()
    for kind in ("coverage", "gaps", "siting"):
        out = tmp_path / f"{kind}.html"
        assert main(["map", kind, "--category", "elderly_care", "--out", str(out)]) == 0, (
            capsys.readouterr().err
        )
    assert _ran(walked) == {"coverage", "proposal"}


def test_a_speed_given_on_the_command_line_keeps_the_other_settings(walked, capsys):
    assert main(["coverage", "--category", "clinic", "--level", "15", "--no-save", "--no-circles",
                 "--speed", "elderly"]) == 0  # fmt: skip
    ((_, walking),) = walked
    assert walking == WalkingParams(**{**EXPECTED.__dict__, "speed_mps": 0.6})


@pytest.mark.slow
def test_the_service_walks_as_the_settings_say(walked, demo_db):
    add_user(make_engine(demo_db), "walker", "planner", "walker-pass")
    with TestClient(create_app(Settings())) as client:
        token = client.post("/auth/token", json={"name": "walker", "password": "walker-pass"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for path, body in (
            ("/coverage/runs", {"categories": ["clinic"], "levels": [15]}),
            ("/siting/scenarios", {"categories": ["elderly_care"], "count": 1}),
        ):
            r = client.post(path, json=body, headers=headers)
            assert r.status_code == 202, r.text
            job = client.app.state.gridmap.jobs.wait(r.json()["id"], timeout=120)
            assert job.status == "done", job.error
        assert _ran(walked) == {"coverage", "proposal"}
        walked.clear()
        r = client.get("/maps/siting.html", params={"category": "elderly_care"}, headers=headers)
        assert r.status_code == 200, r.text
        assert _ran(walked) == {"coverage", "proposal"}
