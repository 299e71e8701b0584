"""The organisation report's figures on a hand-built street whose answers are counted by hand:
branches by form, groups, central households, member building leaders, red committees, 一肩挑,
双报到 of units and members, "1+10" from both sides, sponsored compounds, needs, points; per
grid up to the district, as on a day, over a chosen base of compounds."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gridmap.organisation import ORG_LAYERS, ReportOptions, figures_by_unit, organisation_report
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def _box(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _gdf(rows: dict, geoms: list, index: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, index=index, crs=UTM)


@pytest.fixture
def layers():
    districts = _gdf({"code": ["510104"], "name": ["锦江区"]}, [_box(0, 0, 2000, 1000)], [1])
    streets = _gdf(
        {"code": ["510104001"], "name": ["街道"], "district_id": [1]}, [_box(0, 0, 2000, 1000)], [1]
    )
    communities = _gdf({"code": ["510104001001", "510104001002"], "name": ["东社区", "西社区"], "street_id": [1, 1]},
                       [_box(0, 0, 1000, 1000), _box(1000, 0, 2000, 1000)], [1, 2])  # fmt: skip
    grids = _gdf({"code": ["510104001001001", "510104001001002", "510104001002001"], "community_id": [1, 1, 2],
                  "level": [1, 1, 1], "branch_id": [30, None, 30], "name": ["G1", "G2", "G3"]},
                 [_box(0, 0, 500, 1000), _box(500, 0, 1000, 1000), _box(1000, 0, 2000, 1000)], [31, 32, 33])  # fmt: skip
    compounds = _gdf(
        {"name": ["甲", "乙", "丙", "丁"], "community_id": [1, 1, 2, 2], "branch_id": [10, 11, 11, None],
         "property_company": ["物业A", None, "物业B", "物业C"], "owners_committee": [True, True, False, True],
         "red_owners_committee": [True, False, False, False], "red_property": [True, False, False, True]},
        [_box(100, 100, 400, 400), _box(600, 100, 900, 400), _box(1100, 100, 1400, 400), _box(1600, 100, 1900, 400)],
        [1, 2, 3, 4],
    )  # fmt: skip
    buildings = _gdf(
        {"households": [40, 60, 30, 70], "compound_id": [1, 2, 3, 4], "party_group_id": [20, None, None, None]},
        [_box(150, 150, 170, 170), _box(600, 150, 620, 170), _box(1150, 150, 1170, 170), _box(1650, 150, 1670, 170)],
        [11, 12, 13, 14],
    )  # fmt: skip
    orgs = pd.DataFrame(
        {"name": ["东社区党委", "甲兼合式党支部", "乙丙联合党支部", "网格党支部", "甲1栋党小组", "单位党组织"],
         "kind": ["community_committee", "compound_branch", "compound_branch", "grid_branch", "building_group",
                  "unit_org"],
         "form": [None, "embedded", "joint", "joint", None, None], "community_id": [1, 1, 1, 1, None, 2],
         "building_id": [None, None, None, None, 11, None], "joint": [False, False, True, True, False, False],
         "founded_on": ["2015-01-01", "2020-01-01", "2019-01-01", "2024-06-01", "2020-01-01", "2010-01-01"]},
        index=[1, 10, 11, 30, 20, 40],
    )  # fmt: skip
    members = pd.DataFrame(
        {"name": ["甲", "乙", "丙", "丁", "戊"], "kind": ["in_service", "in_service", "in_service", "resident", "resident"],
         "building_id": [11, 12, 13, 13, 14], "community_id": [1, 1, 2, 2, 2], "coop_unit_id": [1, 1, None, None, None],
         "registered_on": ["2023-01-01", "2025-03-01", None, None, None],
         "unit_registered_on": ["2023-02-01", None, None, None, None],
         "central_household": [False, False, False, True, True], "org_id": [10, 11, 11, 11, None]},
        index=[51, 52, 53, 54, 55],
    )  # fmt: skip
    households = pd.DataFrame(
        {"building_id": [11] * 12 + [12] * 4 + [13] * 4, "linked_member_id": [51] * 10 + [None] * 2 + [52] * 4
         + [None] * 4}, index=range(1, 21),
    )  # fmt: skip
    assignments = pd.DataFrame(
        {"person_name": ["书记甲", "书记甲", "书记乙", "楼长一", "楼长二", "楼长三", "旧楼长"],
         "phone": ["1", "1", "2", "3", "4", "5", "6"], "member_id": [None, None, None, 51, None, 53, None],
         "role": ["branch_secretary", "owners_committee_chair", "branch_secretary", "building_leader",
                  "building_leader", "building_leader", "building_leader"],
         "target_layer": ["party_orgs", "compounds", "party_orgs", "buildings", "buildings", "buildings", "buildings"],
         "target_id": [10, 1, 11, 11, 12, 13, 14],
         "valid_from": ["2022-01-01"] * 6 + ["2020-01-01"], "valid_to": [None] * 6 + ["2024-01-01"]},
    )  # fmt: skip
    units = _gdf({"name": ["医院", "学校"], "community_id": [1, 2], "registered_on": ["2022-05-01", None]},
                 [_box(10, 10, 11, 11).centroid, _box(1010, 10, 1011, 11).centroid], [1, 2])  # fmt: skip
    sponsorships = pd.DataFrame({"coop_unit_id": [1, 1], "target_layer": ["compounds", "compounds"],
                                 "target_id": [1, 3], "valid_from": ["2021-01-01", "2021-01-01"],
                                 "valid_to": [None, "2023-01-01"]})  # fmt: skip
    needs = pd.DataFrame(
        {"state": ["confirmed", "claimed", "open", "cancelled"], "grid_id": [31, 31, 33, 33],
         "community_id": [1, 1, 2, 2], "filed_on": ["2025-01-01", "2025-06-01", "2025-07-01", "2025-07-01"],
         "claimed_on": ["2025-01-02", "2025-06-03", None, None], "done_on": ["2025-01-05", None, None, None]},
        index=[1, 2, 3, 4],
    )  # fmt: skip
    points = pd.DataFrame({"member_id": [51, 51, 53], "points": [5, 2, -2],
                           "earned_on": ["2025-01-05", "2025-06-03", "2025-06-03"]})  # fmt: skip
    return {"districts": districts, "streets": streets, "communities": communities, "grids": grids,
            "compounds": compounds, "buildings": buildings, "party_orgs": orgs, "members": members,
            "households": households, "assignments": assignments, "coop_units": units, "sponsorships": sponsorships,
            "needs": needs, "points": points}  # fmt: skip


def _area(report) -> dict[str, tuple]:
    area = report.area()
    return {r.figure: (r.count, None if pd.isna(r.total) else int(r.total)) for r in area.itertuples()}


def test_figures_of_the_whole_area(layers):
    got = _area(organisation_report(layers))
    expected = {
        "branches": (3, None),  # two compound branches and the grid branch
        "branches_embedded": (1, None),
        "branches_joint": (2, None),
        "branches_single": (0, None),
        "compounds_with_branch": (3, 4),
        "compounds_in_joint_branch": (2, 4),
        "grids_with_branch": (2, 3),  # 多格一支部: one branch on G1 and G3
        "building_groups": (1, None),
        "central_households": (2, None),
        "buildings_with_leader": (3, 4),  # 14's leader left in 2024
        "member_building_leaders": (2, 3),
        "red_owners_committees": (1, 3),  # of the compounds with an owners' committee
        "red_property_companies": (2, 3),  # of the compounds with a property company
        "one_shoulder": (1, 2),  # 书记甲 also chairs 甲's owners' committee
        "units_registered": (1, 2),
        "compounds_sponsored": (1, 4),  # 丙's sponsorship ended
        "in_service_registered": (2, 3),
        "in_service_registered_unit": (1, 2),  # of those with a unit
        "members_linking_10": (1, 3),
        "households_linked": (14, 20),
        "needs_claimed": (2, 3),  # the cancelled need does not count
        "needs_done": (1, 3),
        "points": (5, None),
    }
    assert {k: got[k] for k in expected} == expected


def test_figures_per_grid_and_per_district(layers):
    report = organisation_report(layers)
    by_grid = figures_by_unit(report, "grid").set_index("code")
    assert by_grid.loc["510104001001001", "compounds_with_branch"] == 1  # 甲 lies in G1
    assert by_grid.loc["510104001001001", "households_linked"] == 10
    assert by_grid.loc["510104001001001", "households_linked_total"] == 12
    assert by_grid.loc["510104001002001", "needs_claimed_total"] == 1  # the open need; the cancelled one not
    assert by_grid.loc["510104001001002", "building_groups"] == 0  # a count with none is 0, not missing
    district = report.figures[report.figures["scope"] == "district"].set_index("figure")
    assert district.loc["compounds_with_branch", "name"] == "锦江区"
    assert district.loc["compounds_with_branch", "count"] == 3
    community = report.figures[
        (report.figures["scope"] == "community") & (report.figures["code"] == "510104001002")
    ]
    assert community.set_index("figure").loc["compounds_with_branch", "missing"] == "4"


def test_figures_as_on_a_day(layers):
    got = _area(organisation_report(layers, ReportOptions(on=dt.date(2024, 1, 1))))
    assert got["branches"] == (2, None)  # the grid branch was founded in June 2024
    assert got["in_service_registered"] == (1, 3)  # 乙 reported in 2025
    assert got["buildings_with_leader"] == (3, 4)  # on 2024-01-01 the old leader's term had just ended
    assert got["compounds_sponsored"] == (1, 4)
    assert "needs_claimed" not in got and "points" not in got  # every need and entry came later
    got = _area(organisation_report(layers, ReportOptions(on=dt.date(2022, 6, 1))))
    assert got["compounds_sponsored"] == (2, 4)  # 丙's sponsorship still ran
    assert got["buildings_with_leader"] == (4, 4)  # the terms of 2022-01-01 had begun; 14's old leader held


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (ReportOptions(base="all"), (3, 4)),
        (ReportOptions(base="property"), (2, 3)),  # 乙 has no property company
        (ReportOptions(base="households", min_households=50), (1, 2)),  # 乙 (60) and 丁 (70)
    ],
)
def test_the_base_of_compound_coverage(layers, options, expected):
    assert _area(organisation_report(layers, options))["compounds_with_branch"] == expected


def test_a_bad_base_is_refused():
    with pytest.raises(ValueError, match="base 'some'"):
        ReportOptions(base="some")


def test_a_party_group_on_a_building_with_no_homes_is_counted(demo_copy):
    """楼宇党建: a party group on an office block, whose building holds no household, once
    stopped the whole report with a TypeError; the group counts like any other."""
    engine = make_engine(demo_copy("spatialite", "office_group"))
    layers = {name: read_layer(engine, name) for name in ORG_LAYERS}
    engine.dispose()
    buildings, orgs = layers["buildings"], layers["party_orgs"].copy()
    office = buildings.index[pd.to_numeric(buildings["households"], errors="coerce").fillna(0) == 0][0]
    group = orgs.index[orgs["building_id"].notna()][0]
    before = _area(organisation_report(layers))["building_groups"]
    orgs.loc[group, "building_id"] = office
    layers["party_orgs"] = orgs
    assert _area(organisation_report(layers))["building_groups"] == before
