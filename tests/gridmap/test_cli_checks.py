"""``gridmap validate`` and ``gridmap org report`` on the demo district and on an empty database."""

import datetime as dt

import pyogrio
import pytest
from districts import CODE, street_grid_district
from sqlalchemy import update

from gridmap.io.assign import assign
from gridmap.store.engine import make_engine
from gridmap.store.layers import write_layer
from gridmap.store.schema import init_db
from gridmap.store.tables import LAYER_TABLES
from gridmap_cli import main


@pytest.mark.slow
def test_validate_reports_findings_and_exits_1_on_errors(demo_db, tmp_path, capsys):
    out = tmp_path / "findings.geojson"
    assert main(["--db", demo_db, "validate", "--out", str(out)]) == 0  # the demo has warnings only
    assert "building_split_across_grids" in capsys.readouterr().out
    findings = pyogrio.read_dataframe(out)
    assert len(findings) > 0 and set(findings["severity"]) == {"warning"}
    assert findings.crs.to_epsg() == 4326
    assert {"kind", "feature_ids", "message", "area_m2"} <= set(findings.columns)
    engine = make_engine(demo_db)
    with engine.begin() as conn:
        conn.execute(update(LAYER_TABLES["grids"]).where(LAYER_TABLES["grids"].c.id == 1).values(code="G-1"))
    code = main(["--db", demo_db, "validate"])
    captured = capsys.readouterr()
    assert code == 1
    assert "grid_code_malformed" in captured.out and "1 errors" in captured.err


def test_validate_on_an_empty_database_is_clean(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    assert main(["--db", db, "db", "init"]) == 0
    assert main(["--db", db, "validate"]) == 0
    assert "no findings" in capsys.readouterr().out


@pytest.mark.slow
def test_org_report_prints_figures_and_writes_layers(demo_db, tmp_path, capsys):
    out = tmp_path / "org.gpkg"
    assert main(["--db", demo_db, "org", "report", "--by", "street", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for words in (
        "party-building figures, whole area",
        "有党支部的小区",
        "by street",
        "一肩挑",
        "双报到",
        "grid_leader:",
    ):
        assert words in text
    layers = dict(pyogrio.list_layers(out))
    assert {"org_figures", "org_leader_load", "org_skills"} <= set(layers)
    figures = pyogrio.read_dataframe(out, layer="org_figures", read_geometry=False)
    assert set(figures["scope"]) == {"area", "district", "street", "community", "grid"}
    by_street = pyogrio.read_dataframe(out, layer="org_by_street")
    assert len(by_street) == 5 and by_street.geometry.notna().all()  # the streets' outlines, for a map
    assert {"compounds_with_branch", "compounds_with_branch_total", "compounds_with_branch_share"} <= set(
        by_street
    )


@pytest.mark.slow
def test_grids_align_needs_both_kinds(demo_db, tmp_path, capsys):
    assert main(["--db", demo_db, "grids", "align", "comprehensive", "comprehensive"]) == 0
    text = capsys.readouterr().out
    assert "inner borders" in text and "(100.0% of comprehensive's" in text
    assert main(["--db", demo_db, "grids", "align", "party", "comprehensive"]) == 2
    assert "there are no grids of kind 'party'; kinds present: comprehensive" in capsys.readouterr().err


@pytest.fixture
def street_grid_db(tmp_path) -> str:
    """The small synthetic district (tests/districts.py) stored: its community, buildings,
    compound and streets, one grid over the whole community (1,600 households, above the
    range) and a grid leader in office on it."""
    community, buildings, compounds, roads = street_grid_district()
    url = f"sqlite:///{tmp_path / 'district.sqlite'}"
    engine = make_engine(url)
    init_db(engine)
    write_layer(engine, "communities", community.drop(columns="id").assign(id=1))
    write_layer(engine, "compounds", compounds.assign(community_id=1))
    write_layer(engine, "buildings", buildings[["id", "households", "compound_id", "geometry"]])
    write_layer(engine, "roads", roads)
    whole = community.drop(columns=["id", "name"]).assign(
        code=CODE + "001", kind="comprehensive", level=1, community_id=1, households=1600
    )
    write_layer(engine, "grids", whole)
    assign(engine, role="grid_leader", target_layer="grids", target_id=1, person_name="测试甲", user="test",
           valid_from=dt.date(2026, 1, 1))  # fmt: skip
    engine.dispose()
    return url


def test_grids_propose_draws_applies_and_then_holds_still(street_grid_db, tmp_path, capsys):
    db = street_grid_db
    out = tmp_path / "grids.gpkg"
    args = ["--db", db, "grids", "propose", "--community", "东社区", "--households", "300-500"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"东社区 ({CODE})" in text and "comprehensive grids for 300-500 households each" in text
    assert "retired: " in text  # the one grid there is outside the range
    proposed = pyogrio.read_dataframe(out, layer="proposed_grids")
    assert proposed.crs.to_epsg() == 4326 and proposed["code"].str.startswith(CODE).all()
    assert main([*args, "--apply"]) == 2  # a grid leader is in office on the grid it retires
    assert "people are in office on grids this drawing retires" in capsys.readouterr().err
    assert main([*args, "--apply", "--end-terms"]) == 0
    text = capsys.readouterr().out
    assert "lineage recorded" in text and f"ended: grid {CODE}001" in text
    assert main([*args, "--apply"]) == 0  # drawn once, the same drawing again changes nothing
    assert "nothing to apply: every grid stays as it is" in capsys.readouterr().out
    main(["--db", db, "validate"])  # the redrawn grids tile the community
    assert not {"grid_overlap", "grid_hole", "grid_crosses_community"} & set(capsys.readouterr().out.split())
    assert main(["--db", db, "grids", "propose", "--community", "无此社区"]) == 2
    assert "no community has the code or name '无此社区'" in capsys.readouterr().err
    assert main([*args[:-1], "500-300"]) == 2
    assert "expected MIN-MAX" in capsys.readouterr().err
