"""Siting scenarios kept in the database (SpatiaLite and PostGIS): saved whole, read back,
listed, compared; a failed save keeps nothing."""

from dataclasses import replace

import pytest
from siting_plan import given_lots, plan_inputs, site_params
from sqlalchemy import func, select

from gridmap.errors import NotFoundError
from gridmap.siting.proposal import propose_sites
from gridmap.store.scenarios import compare_scenarios, list_scenarios, read_scenario, save_scenario
from gridmap.store.tables import siting_scenarios, siting_sites
from gridmap_cli.siting_report import print_comparison


def test_scenarios_round_trip_and_compare(engine, capsys):
    inputs = plan_inputs(home_x=(0, 200, 1200, 2000, 2200), clinics=())
    given = given_lots([100, 1200, 2100])
    one = propose_sites(inputs, site_params(count=1), given=given)
    cover = propose_sites(inputs, site_params(model="lscp", count=None), given=given)
    a = save_scenario(engine, one, inputs, user="planner", label="one site")
    b = save_scenario(engine, cover, inputs)
    stored = read_scenario(engine, a)
    assert (stored.model, stored.categories, stored.levels, stored.label) == (
        "mclp",
        ["clinic"],
        [15],
        "one site",
    )
    assert stored.status == "optimal" and stored.objective == 3 * 250
    assert stored.sites["name"].tolist() == ["lot 2100"]  # reaches 1200, 2000 and 2200
    assert stored.sites.crs.to_epsg() == 4326
    assert stored.sites.geometry.iloc[0].distance(one.sites.geometry.iloc[0]) < 1e-9
    assert sorted(stored.site_homes["feature_id"]) == [3, 4, 5]
    assert stored.params["rules"]["sources"] == ["given"]
    assert stored.inputs["buildings"]["features"] == 5
    area = stored.coverage[stored.coverage["scope"] == "area"].iloc[0]
    assert (area["residents_covered_before"], area["residents_covered_after"]) == (0, 750)
    listed = list_scenarios(engine)
    assert listed["id"].tolist() == [b, a] and listed["sites"].tolist() == [2, 1]
    assert listed["residents"].tolist() == [1250, 1250] and listed["estimated"].tolist() == [0.0, 0.0]
    table, sites = compare_scenarios(engine, a, b)
    row = table.iloc[0]
    assert (row[f"sites_{a}"], row[f"sites_{b}"], row["residents_difference"]) == (1, 2, 500)
    assert sites[f"nearest_rank_in_{b}"].tolist() == [1] and sites["apart_m"].iloc[0] < 1.0
    with pytest.raises(NotFoundError, match="no siting scenario 99"):
        read_scenario(engine, 99)
    print_comparison(engine, a, b)
    assert "homes counted differ" not in capsys.readouterr().out  # read from the same homes
    # a proposal over other counts of the same homes: the comparison says so
    counted = replace(inputs, buildings=inputs.buildings.assign(residents=inputs.buildings["residents"] * 2))
    c = save_scenario(engine, propose_sites(counted, site_params(count=1), given=given), counted)
    print_comparison(engine, a, c)
    assert (
        f"the homes counted differ, so part of any change is the count, not the services: scenario {a} "
        f"1,250 residents: 100 % given; scenario {c} 2,500 residents: 100 % given"
    ) in capsys.readouterr().out


def test_a_failed_save_keeps_nothing(engine):
    inputs = plan_inputs()
    prop = propose_sites(inputs, site_params(), given=given_lots([2100]))
    prop.site_homes["walk_m"] = None  # walk_m may not be empty: the insert fails midway
    with pytest.raises(Exception):  # noqa: B017 - the driver's own integrity error
        save_scenario(engine, prop, inputs)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(siting_scenarios)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(siting_sites)).scalar_one() == 0
