"""Two districts' published party-building figures, rebuilt from records imported as a
district would import them (fixtures/org_seeds): the counts and shares `gridmap org report`
prints must be the published ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridmap_cli import main

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "org_seeds"
ORDER = ("streets", "communities", "party_orgs", "compounds", "buildings", "members", "assignments")


def _report(seed: str, tmp_path: Path) -> pd.DataFrame:
    db = f"sqlite:///{tmp_path / f'{seed}.sqlite'}"
    assert main(["--db", db, "db", "init"]) == 0
    for layer in ORDER:
        path = next((SEEDS / seed).glob(f"{layer}.*"))
        assert main(["--db", db, "import", layer, str(path)]) == 0, layer
    out = tmp_path / f"{seed}.csv"
    assert main(["--db", db, "org", "report", "--by", "street", "--out", str(out)]) == 0
    figures = pd.read_csv(out)
    return figures[figures["scope"] == "area"].set_index("figure")


def test_seed_003_thirty_nine_branches_cover_78_of_84_compounds(tmp_path, capsys):
    area = _report("seed003", tmp_path)
    assert area.loc["branches", "count"] == 39  # "覆盖78个居民小区的39个党支部"
    covered = area.loc["compounds_with_branch"]
    assert (covered["count"], covered["total"]) == (78, 84)
    assert f"{100 * covered['share']:.1f}%" == "92.9%"
    assert "78/84 92.9%" in capsys.readouterr().out


def test_seed_001_fifty_two_compounds_thirty_five_branches_587_member_building_leaders(tmp_path):
    area = _report("seed001", tmp_path)
    assert area.loc["branches", "count"] == 35  # "52个小区建立35个党支部"
    assert (area.loc["compounds_with_branch", "count"], area.loc["compounds_with_branch", "total"]) == (
        52,
        52,
    )
    assert area.loc["branches_joint", "count"] == 13 and area.loc["branches_single", "count"] == 22
    assert area.loc["member_building_leaders", "count"] == 587  # "587名党员楼栋长"


@pytest.mark.parametrize("seed", ["seed003", "seed001"])
def test_the_records_are_the_generator_s(seed, tmp_path):
    """The fixtures are what make_seeds.py writes: regenerate them and compare."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_seeds", SEEDS / "make_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = {p.name: p.read_bytes() for p in (SEEDS / seed).iterdir()}
    module.HERE = tmp_path
    args = {"seed003": dict(x0=103.90, y0=30.50, communities=6, branches=[1] * 10 + [2] * 19 + [3] * 10, bare=6,
                            buildings_per_compound=4, member_leaders=120, other_leaders=60),
            "seed001": dict(x0=103.95, y0=30.55, communities=4, branches=[1] * 22 + [2] * 9 + [3] * 4, bare=0,
                            buildings_per_compound=13, member_leaders=587, other_leaders=53)}[seed]  # fmt: skip
    module.write_seed(seed, **args)
    assert {p.name: p.read_bytes() for p in (tmp_path / seed).iterdir()} == before
