"""Applying a grid drawing on SpatiaLite and PostGIS: kept grids stay, retired ones go with
their lineage, terms in office stop the change unless ended, and a refused change writes
nothing."""

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely
from districts import CODE, X0, Y0, metric, street_grid_district
from sqlalchemy import select

from gridmap.errors import ConflictError, InputError, StaleEditError
from gridmap.gridplan import propose_grids
from gridmap.io.assign import assign
from gridmap.store.gridplans import apply_grid_plan, read_lineage
from gridmap.store.layers import read_layer, write_layer
from gridmap.store.tables import LAYER_TABLES

RANGE = (300, 500)


@pytest.fixture
def drawn(engine):
    """The test district stored, with its first drawing applied; returns its layers."""
    community, buildings, compounds, roads = street_grid_district()
    write_layer(engine, "communities", community.drop(columns="id").assign(id=1))
    write_layer(engine, "buildings", buildings[["id", "households", "geometry"]])
    first = propose_grids(community, buildings, compounds=compounds, roads=roads, households=RANGE)
    apply_grid_plan(engine, first, community_id=1, kind="comprehensive", level=1, user="test")
    return community, buildings, compounds, roads


def _redraw(engine, layers):
    """A drawing after the third column of blocks doubled its households."""
    community, buildings, compounds, roads = layers
    stored = read_layer(engine, "grids")
    column = stored[np.asarray([g.contains(_point()) for g in stored.geometry])]
    grown = buildings.copy()
    inside = metric(buildings).geometry.representative_point().within(metric(column).geometry.iloc[0])
    grown.loc[inside.to_numpy(), "households"] = 100
    plan = propose_grids(
        community, grown, compounds=compounds, roads=roads, existing=stored, households=RANGE
    )
    return plan, column


def _point():
    return gpd.GeoSeries.from_xy([X0 + 500], [Y0 + 150], crs="EPSG:32648").to_crs(4326).iloc[0]


def test_a_first_drawing_is_stored_with_its_lineage(engine, drawn):
    grids = read_layer(engine, "grids").sort_values("code")
    assert grids["code"].tolist() == [f"{CODE}{i:03d}" for i in range(1, 5)]
    assert grids["households"].tolist() == [400] * 4
    assert set(grids["kind"]) == {"comprehensive"} and set(grids["community_id"]) == {1}
    lineage = read_lineage(engine, community_id=1)
    assert lineage["relation"].tolist() == ["new"] * 4 and lineage.geometry.isna().all()


def test_a_redraw_keeps_unchanged_grids_and_records_the_split(engine, drawn):
    before = read_layer(engine, "grids").set_index("code")
    plan, column = _redraw(engine, drawn)
    done = apply_grid_plan(engine, plan, community_id=1, kind="comprehensive", level=1, user="test")
    assert done.added == [f"{CODE}005", f"{CODE}006"] and done.retired == column["code"].tolist()
    after = read_layer(engine, "grids").set_index("code")
    for code in before.index.difference(column["code"]):
        assert after.loc[code, "id"] == before.loc[code, "id"]
        assert after.loc[code, "geometry"].equals_exact(before.loc[code, "geometry"], 1e-9)
    assert sorted(after.index) == sorted([*before.index.difference(column["code"]), *done.added])
    lineage = read_lineage(engine, community_id=1)
    split = lineage[lineage["relation"] == "split"]
    assert split["old_code"].tolist() == column["code"].tolist() * 2
    assert split["old_grid_id"].tolist() == column["id"].tolist() * 2
    assert split.geometry.iloc[0].equals_exact(column.geometry.iloc[0], 1e-9)  # the retired outline
    assert split["households"].tolist() == [400, 400]


def test_terms_in_office_stop_a_redraw_unless_ended(engine, drawn):
    plan, column = _redraw(engine, drawn)
    grid_id = int(column["id"].iloc[0])
    term, _ = assign(engine, role="grid_leader", target_layer="grids", target_id=grid_id,
                     person_name="测试甲", user="test", valid_from=dt.date(2026, 1, 1))  # fmt: skip
    before = read_layer(engine, "grids")
    with pytest.raises(ConflictError, match=f"grid {column['code'].iloc[0]}: grid_leader 测试甲"):
        apply_grid_plan(engine, plan, community_id=1, kind="comprehensive", level=1, user="test")
    assert read_layer(engine, "grids")["code"].tolist() == before["code"].tolist()  # nothing written
    done = apply_grid_plan(engine, plan, community_id=1, kind="comprehensive", level=1, user="test",
                           end_terms=True, on=dt.date(2026, 11, 1))  # fmt: skip
    assert done.ended_terms == [f"grid {column['code'].iloc[0]}: grid_leader 测试甲 (term {term})"]
    table = LAYER_TABLES["assignments"]
    with engine.connect() as conn:
        ended = conn.execute(select(table.c.valid_to).where(table.c.id == term)).scalar_one()
    assert ended == dt.date(2026, 11, 1)


def test_a_plan_drawn_before_the_grids_changed_is_refused(engine, drawn):
    plan, _ = _redraw(engine, drawn)
    apply_grid_plan(engine, plan, community_id=1, kind="comprehensive", level=1, user="test")
    count = len(read_lineage(engine))
    with pytest.raises(StaleEditError, match="changed since this drawing was proposed"):
        apply_grid_plan(engine, plan, community_id=1, kind="comprehensive", level=1, user="test")
    assert len(read_lineage(engine)) == count


def test_a_fresh_drawing_that_finds_the_same_grids_keeps_their_codes_and_ids(engine, drawn):
    community, buildings, compounds, roads = drawn
    before = read_layer(engine, "grids").set_index("code")
    plan = propose_grids(community, buildings, compounds=compounds, roads=roads, households=RANGE,
                         existing=read_layer(engine, "grids"), fresh=True)  # fmt: skip
    assert set(plan.grids["status"]) == {"reshaped"} and plan.retired == [] and plan.lineage.empty
    done = apply_grid_plan(engine, plan, community_id=1, kind="comprehensive", level=1, user="test")
    assert done.added == [] and done.retired == []
    after = read_layer(engine, "grids").set_index("code")
    assert after["id"].to_dict() == before["id"].to_dict()
    for code, geom in zip(plan.grids["code"], plan.grids.geometry, strict=True):
        assert after.loc[code, "geometry"].equals_exact(
            shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom, 1e-9
        )


def test_another_kind_of_grid_drawn_over_the_same_community_takes_numbers_of_its_own(engine, drawn):
    """多网合一: party grids drawn where comprehensive grids are numbered 001–004."""
    community, buildings, compounds, roads = drawn
    stored = read_layer(engine, "grids")
    plan = propose_grids(community, buildings, compounds=compounds, roads=roads, households=RANGE,
                         taken=stored["code"])  # fmt: skip
    done = apply_grid_plan(engine, plan, community_id=1, kind="party", level=1, user="test")
    assert done.added == [f"{CODE}{i:03d}" for i in range(5, 9)]
    grids = read_layer(engine, "grids")
    assert grids.groupby("kind")["code"].apply(sorted).to_dict() == {
        "comprehensive": sorted(stored["code"]),
        "party": done.added,
    }


def test_a_drawing_whose_new_codes_were_taken_meanwhile_is_refused_and_writes_nothing(engine, drawn):
    """Two clerks draw party and police grids from the same grids: the second to apply is told
    to propose again, rather than failing on the database's unique codes."""
    community, buildings, compounds, roads = drawn
    stored = read_layer(engine, "grids")
    party, police = (
        propose_grids(
            community, buildings, compounds=compounds, roads=roads, households=RANGE, taken=stored["code"]
        )
        for _ in range(2)
    )
    apply_grid_plan(engine, party, community_id=1, kind="party", level=1, user="test")
    before, lineage = read_layer(engine, "grids"), len(read_lineage(engine))
    with pytest.raises(StaleEditError, match=r"grid code\(s\) .*005.* were taken by other grids"):
        apply_grid_plan(engine, police, community_id=1, kind="police", level=1, user="test")
    assert len(read_layer(engine, "grids")) == len(before) and len(read_lineage(engine)) == lineage


def test_a_drawing_of_a_kind_or_level_the_grids_do_not_hold_is_refused_and_writes_nothing(engine, drawn):
    """It was stored as grids of kind 'nosuch' (which no rule judges), or of level 9."""
    community, buildings, compounds, roads = drawn
    stored = read_layer(engine, "grids")
    plan = propose_grids(community, buildings, compounds=compounds, roads=roads, households=RANGE,
                         taken=stored["code"])  # fmt: skip
    with pytest.raises(
        InputError, match="'nosuch' is not a kind of grid; the organisation catalogue has: party"
    ):
        apply_grid_plan(engine, plan, community_id=1, kind="nosuch", level=1, user="test")
    with pytest.raises(InputError, match="grid level 9: expected 1 to 5"):
        apply_grid_plan(engine, plan, community_id=1, kind="party", level=9, user="test")
    assert len(read_layer(engine, "grids")) == len(stored)
