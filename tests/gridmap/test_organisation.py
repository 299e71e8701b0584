"""Party-building figures hand-checked on a small district: two communities of one street."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gridmap.organisation import organisation_report

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def _box(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


@pytest.fixture
def layers():
    streets = gpd.GeoDataFrame(
        {"code": ["S1"], "name": ["街道"]}, geometry=[_box(0, 0, 2000, 1000)], index=[1], crs=UTM
    )
    communities = gpd.GeoDataFrame(
        {"code": ["C1", "C2"], "name": ["东社区", "西社区"], "street_id": [1, 1]},
        geometry=[_box(0, 0, 1000, 1000), _box(1000, 0, 2000, 1000)], index=[1, 2], crs=UTM,
    )  # fmt: skip
    compounds = gpd.GeoDataFrame(
        {"name": ["甲", "乙", "丙"], "community_id": [1, 1, 2], "branch_id": [10, 10, None]},
        geometry=[_box(100, 100, 400, 400), _box(500, 100, 900, 400), _box(1100, 100, 1400, 400)],
        index=[1, 2, 3], crs=UTM,
    )  # fmt: skip
    buildings = gpd.GeoDataFrame(
        {"households": [40, 60, 30, 70, 0], "residents": [100, 150, 80, 160, 0],
         "party_group_id": [20, None, None, 21, None]},
        geometry=[_box(150, 150, 170, 170), _box(600, 150, 620, 170), _box(1150, 150, 1170, 170),
                  _box(1600, 600, 1620, 620), _box(800, 800, 820, 820)],
        index=[11, 12, 13, 14, 15], crs=UTM,
    )  # fmt: skip
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2"], "community_id": [1, 2], "level": 1},
        geometry=[_box(0, 0, 1000, 1000), _box(1000, 0, 2000, 1000)], index=[31, 32], crs=UTM,
    )  # fmt: skip
    assignments = pd.DataFrame(
        {
            "person_name": ["张网格", "旧网格长", "李网格员", "王网格员", "赵楼长", "钱楼长"],
            "role": [
                "grid_leader",
                "grid_leader",
                "grid_worker",
                "grid_worker",
                "building_leader",
                "building_leader",
            ],
            "target_layer": ["grids", "grids", "grids", "grids", "buildings", "buildings"],
            "target_id": [31, 32, 31, 32, 11, 13],
            "valid_to": [None, "2024-01-01", None, None, None, None],
        }
    )
    members = pd.DataFrame(
        {"kind": ["in_service", "in_service", "resident"], "community_id": [1, 2, 1],
         "registered_on": ["2023-01-01", None, None], "building_id": [11, 13, 12], "skills": ["电工,法律援助", "医生", None]},
        index=[41, 42, 43],
    )  # fmt: skip
    households = pd.DataFrame({"linked_member_id": [41] * 12 + [42] * 3})
    orgs = pd.DataFrame({"name": ["甲乙联合支部"], "joint": [True]}, index=[10])
    return {"streets": streets, "communities": communities, "compounds": compounds, "buildings": buildings,
            "grids": grids, "assignments": assignments, "members": members, "households": households,
            "party_orgs": orgs}  # fmt: skip


def test_area_figures(layers):
    area = organisation_report(layers).area().set_index("figure")
    expected = {
        "compounds_with_branch": (2, 3),
        "compounds_in_joint_branch": (2, 3),
        "buildings_with_party_group": (2, 4),  # the empty building 15 is not counted
        "buildings_with_leader": (2, 4),
        "grids_with_leader": (1, 2),  # G2's leader left
        "grids_with_workers": (2, 2),
        "in_service_registered": (1, 2),
        "members_linking_10": (1, 2),
    }
    assert {f: (area.at[f, "count"], area.at[f, "total"]) for f in expected} == expected


def test_figures_per_community_name_what_is_missing(layers):
    report = organisation_report(layers)
    west = report.figures[(report.figures["scope"] == "community") & (report.figures["name"] == "西社区")]
    by = west.set_index("figure")
    assert by.loc["compounds_with_branch", "missing"] == "3"
    assert by.loc["buildings_with_party_group", "missing"] == "13"
    assert by.loc["grids_with_leader", "missing"] == "32"
    assert by.loc["members_linking_10", "missing"] == "42"
    street = report.figures[report.figures["scope"] == "street"].set_index("figure")
    assert (
        street.loc["compounds_with_branch", "name"] == "街道"
        and street.loc["compounds_with_branch", "total"] == 3
    )
    assert list(report.missing["compounds_with_branch"].index) == [3]
    assert "compounds_in_joint_branch" not in report.missing  # a count, not a requirement


def test_leader_loads_and_skills(layers):
    report = organisation_report(layers)
    load = report.leader_load.set_index("person_name")
    assert load.loc["张网格", "households"] == 100  # buildings 11 and 12 (40 + 60) in G1
    assert load.loc["赵楼长", "households"] == 40 and load.loc["钱楼长", "households"] == 30
    assert load.loc["赵楼长", "ratio_to_mean"] == pytest.approx(40 / 35, abs=0.01)
    skills = report.skills.set_index(["grid_code", "skill"])["members"].to_dict()
    assert skills == {("G1", "电工"): 1, ("G1", "法律援助"): 1, ("G2", "医生"): 1}
