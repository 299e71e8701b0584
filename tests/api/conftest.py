"""The service over the demo district, on SpatiaLite and on PostGIS: one database per test
module (edits stay within their module), with an account per role, one coverage run and one
siting scenario."""

from __future__ import annotations

import itertools
import shutil
import socket
import threading
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from fresh_db import copy_database, made_once, spatialite_service

from api.main import create_app
from gridmap.accounts import add_user, list_users
from gridmap.coverage import CoverageParams, compute_coverage
from gridmap.scope import AREA_INPUTS, grid_leader_area
from gridmap.settings import Settings
from gridmap.siting.proposal import SitingParams, propose_sites
from gridmap.store.engine import make_engine
from gridmap.store.inputs import load_inputs
from gridmap.store.layers import read_layer
from gridmap.store.runs import save_run
from gridmap.store.scenarios import save_scenario
from gridmap_cli.service import EVENT_LOOP

PASSWORDS = {
    "admin": "admin-pass",
    "planner": "planner-pass",
    "leader": "leader-pass",
    "resident": "resident-pass",
}
ROLES = {"admin": "admin", "planner": "planner", "leader": "grid_leader", "resident": "public"}


def fill(url: str) -> None:
    """To the demo district at ``url``: accounts (the leader has the first grid, in code
    order, with members living in it), a coverage run and a siting scenario."""
    engine = make_engine(url)
    frames = {n: read_layer(engine, n) for n in AREA_INPUTS}
    grids = frames["grids"].sort_values("code")
    grid = next(
        str(code) for gid, code in zip(grids.index, grids["code"], strict=True)
        if grid_leader_area(frames, (int(gid),)).ids["members"]
    )  # fmt: skip
    for name, role in ROLES.items():
        add_user(engine, name, role, PASSWORDS[name], [grid] if role == "grid_leader" else None)
    inputs = load_inputs(engine)
    params = CoverageParams(categories=("elderly_care", "clinic"), levels=(15,))
    save_run(engine, compute_coverage(inputs, params), inputs, label="test")
    proposal = propose_sites(inputs, SitingParams(categories=("elderly_care",), count=2))
    save_scenario(engine, proposal, inputs, label="test")
    engine.dispose()


@pytest.fixture(scope="module", params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def service_db(request, tmp_path_factory) -> str:
    """One database per module (edits stay within it): a copy of one filled once per run."""
    if request.param == "spatialite":
        return spatialite_service(request, tmp_path_factory)
    return copy_database(request.getfixturevalue("_service_template"), f"service_{next(_COPIES)}")


_COPIES = itertools.count(1)


@pytest.fixture(scope="session")
def _service_template(demo_copy) -> str:
    """A PostGIS database filled once per run, which each module's database copies."""
    url = demo_copy("postgis", "service_template")
    fill(url)
    return url


@pytest.fixture(scope="session")
def _service_file(tmp_path_factory, request) -> Path:
    """The filled demo in a SpatiaLite file, filled once per run, which modules copy."""

    def make(path: Path) -> None:
        shutil.copyfile(request.getfixturevalue("_demo_file"), path)
        fill(f"sqlite:///{path}")

    return made_once(tmp_path_factory, "service.sqlite", make)


@pytest.fixture(scope="module")
def client(service_db):
    with TestClient(create_app(Settings(database_url=service_db))) as c:
        yield c


@pytest.fixture(scope="module")
def auth(client) -> dict[str, dict[str, str]]:
    """Authorization headers per account name; ``public`` signs in as nobody."""
    headers: dict[str, dict[str, str]] = {"public": {}}
    for name, password in PASSWORDS.items():
        r = client.post("/auth/token", json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return headers


#: the layers of the filled demo as each store reads them, read once per run and store: every
#: module's database is a fresh copy of the same filled one
_READ: dict[str, dict] = {}


@pytest.fixture(scope="module")
def layers(service_db):
    """The demo's layers as filled (copies: a test may change its frames)."""
    backend = "spatialite" if service_db.startswith("sqlite") else "postgis"
    if backend not in _READ:
        engine = make_engine(service_db)
        names = ("grids", "buildings", "compounds", "members", "households", "assignments", "facilities",
                 "communities")  # fmt: skip
        _READ[backend] = {n: read_layer(engine, n) for n in names}
        engine.dispose()
    return {name: frame.copy() for name, frame in _READ[backend].items()}


@pytest.fixture(scope="module")
def leader_grid(service_db, layers):
    """The grid of the ``leader`` account."""
    engine = make_engine(service_db)
    (user,) = [u for u in list_users(engine) if u.name == "leader"]
    engine.dispose()
    grids = layers["grids"]
    return grids[grids["code"] == user.grid_codes[0]].iloc[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_url(service_db):
    """The service running in uvicorn on a loopback port, on the event loop ``gridmap serve``
    runs it on, for real HTTP clients."""
    port = free_port()
    app = create_app(Settings(database_url=service_db))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop=EVENT_LOOP)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.is_set():
        started.wait(0.05)
        if server.started:
            started.set()
        if not thread.is_alive():
            raise RuntimeError("the service did not start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
