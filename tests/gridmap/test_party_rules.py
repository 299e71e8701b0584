"""The rules the party work runs by, each on a hand-built case: points with caps, deductions
and the year cap; the steps of a need; the organisation catalogue and a district's additions;
grid kinds judged by their own rules."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gridmap.errors import ConflictError, InputError
from gridmap.needs import NEED_STEPS, check_need_step
from gridmap.orgcatalogue import org_catalogue
from gridmap.points import PointsTally, load_points_rules, parse_rules, points_earned, rankings
from gridmap.topology import check_grid_map

RULES = parse_rules({
    "version": 3, "year_cap": 12,
    "rules": {
        "visit": {"name_zh": "走访", "points": 2, "cap": 5, "period": "month"},
        "help": {"name_zh": "帮办", "points": 4, "cap": 8, "period": "quarter"},
        "absent": {"name_zh": "缺席", "points": -2, "cap": -3, "period": "month"},
    },
})  # fmt: skip


def _ledger(*entries: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame([{"member_id": 1, "earned_on": d, "rule": r, "points": p} for d, r, p in entries],
                        columns=["member_id", "earned_on", "rule", "points"])  # fmt: skip


def test_an_addition_stops_at_its_cap_within_the_period():
    ledger = _ledger(("2026-03-02", "visit", 2), ("2026-03-09", "visit", 2))
    assert points_earned(RULES, ledger, 1, "visit", dt.date(2026, 3, 20)) == (1, 2)  # 5 − 4 left
    assert points_earned(RULES, ledger, 1, "visit", dt.date(2026, 4, 1)) == (2, 2)  # a new month
    assert points_earned(RULES, ledger, 2, "visit", dt.date(2026, 3, 20)) == (2, 2)  # another member
    assert points_earned(RULES, ledger, 1, "visit", dt.date(2026, 3, 5)) == (2, 2)  # entries after the day
    assert points_earned(RULES, ledger, 1, "visit", dt.date(2026, 3, 20), times=3) == (1, 6)


def test_a_deduction_stops_at_its_cap_and_the_year_cap_holds_additions():
    ledger = _ledger(("2026-05-02", "absent", -2))
    assert points_earned(RULES, ledger, 1, "absent", dt.date(2026, 5, 20)) == (-1, -2)
    assert points_earned(RULES, ledger, 1, "absent", dt.date(2026, 6, 1)) == (-2, -2)
    full = _ledger(("2026-01-05", "help", 4), ("2026-02-05", "help", 4), ("2026-04-05", "help", 3))
    assert points_earned(RULES, full, 1, "help", dt.date(2026, 7, 1)) == (1, 4)  # 12 − 11 left this year
    assert points_earned(RULES, full, 1, "help", dt.date(2027, 1, 2)) == (4, 4)
    assert points_earned(RULES, full, 1, "absent", dt.date(2026, 7, 1)) == (
        -2,
        -2,
    )  # deductions pass the year cap


def test_the_tally_earns_in_order_as_the_ledger_would():
    tally = PointsTally(RULES)
    earned = [tally.earn(1, "visit", dt.date(2026, 3, d))[0] for d in (1, 2, 3, 4)]
    assert earned == [2, 2, 1, 0]


def test_bad_rules_and_times_are_refused():
    with pytest.raises(InputError, match="same sign"):
        parse_rules(
            {"version": 1, "rules": {"x": {"name_zh": "x", "points": 2, "cap": -2, "period": "month"}}}
        )
    with pytest.raises(InputError, match="period"):
        parse_rules({"version": 1, "rules": {"x": {"name_zh": "x", "points": 2, "cap": 4, "period": "week"}}})
    with pytest.raises(InputError, match="'nope' is not a points rule"):
        points_earned(RULES, _ledger(), 1, "nope", dt.date(2026, 1, 1))
    with pytest.raises(InputError, match="times 0"):
        points_earned(RULES, _ledger(), 1, "visit", dt.date(2026, 1, 1), times=0)


def test_the_packaged_rules_have_ten_additions_and_two_deductions():
    rules = load_points_rules().rules.values()
    assert (
        sum(r.points > 0 for r in rules) == 10 and sum(r.points < 0 for r in rules) == 2
    )  # "10个加分项和2个扣分项"


def test_rankings_per_branch_community_and_street():
    members = pd.DataFrame({"name": ["甲", "乙", "丙", "丁"], "org_id": [1, 1, 2, None],
                            "community_id": [10, 10, 11, 11]}, index=[1, 2, 3, 4])  # fmt: skip
    communities = pd.DataFrame({"street_id": [100, 100]}, index=[10, 11])
    points = pd.DataFrame({"member_id": [1, 2, 2, 3, 4], "points": [5, 3, 2, 9, 1]})
    branch = rankings(points, members, communities, "branch")
    assert branch[["unit_id", "member_id", "points", "rank"]].values.tolist() == [
        [1, 1, 5, 1], [1, 2, 5, 1], [2, 3, 9, 1]]  # a tie shares a rank; 丁 has no branch  # fmt: skip
    street = rankings(points, members, communities, "street")
    assert street["member_id"].tolist() == [3, 1, 2, 4] and street["rank"].tolist() == [1, 2, 2, 4]


@pytest.mark.parametrize("state", list(NEED_STEPS))
def test_every_step_of_a_need(state):
    for to in NEED_STEPS:
        if to in NEED_STEPS[state]:
            check_need_step(state, to)
        else:
            with pytest.raises(ConflictError, match=f"a need {state} cannot become {to}"):
                check_need_step(state, to)
    with pytest.raises(InputError, match="not a state of a need"):
        check_need_step(state, "lost")


def test_the_catalogue_holds_what_the_code_names():
    from gridmap.model import BranchForm, GridKind, OrgKind, Role

    catalogue = org_catalogue()
    assert {k.value for k in OrgKind} <= set(catalogue.org_kinds)
    assert {k.value for k in BranchForm} <= set(catalogue.branch_forms)
    assert {k.value for k in Role} <= set(catalogue.roles)
    assert {k.value for k in GridKind} <= set(catalogue.grid_kinds)
    assert (
        catalogue.branch_forms["embedded"] == "兼合式党支部"
        and catalogue.branch_forms["joint"] == "联合党支部"
    )


def test_a_district_adds_kinds_and_renames_without_code(tmp_path):
    extra = tmp_path / "district.yaml"
    extra.write_text(
        "version: 2\n"
        "grid_kinds:\n  special: {name_zh: 专属网格, spans_communities: false, code: cjt349}\n"
        "org_kinds:\n  property_branch: {name_zh: 物业党支部, parents: [property_committee], built_on: compounds,"
        " counts_as: branch}\n"
        "roles:\n  grid_leader: {name_zh: 网格长(专职)}\n",
        encoding="utf-8",
    )
    catalogue = org_catalogue(extra)
    assert catalogue.grid_kinds["special"].code.id == "cjt349"
    assert "property_branch" in catalogue.kinds_counted_as("branch")
    assert catalogue.roles["grid_leader"].name_zh == "网格长(专职)" and catalogue.roles["grid_leader"].single
    assert catalogue.version == "1+2"
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid_kinds:\n  x: {name_zh: x, spans_communities: true, code: gb999}\n", encoding="utf-8")
    with pytest.raises(InputError, match="code standard 'gb999'"):
        org_catalogue(bad)
    bad.write_text("colours: {}\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown section"):
        org_catalogue(bad)
    bad.write_text("roles: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML at line"):
        org_catalogue(bad)


UTM = "EPSG:32648"


def _two_communities_and_a_grid(kind: str, code: str) -> dict[str, gpd.GeoDataFrame]:
    def b(x1, x2):
        return box(400_000 + x1, 3_390_000, 400_000 + x2, 3_391_000)

    communities = gpd.GeoDataFrame({"code": ["510104001001", "510104001002"]}, geometry=[b(0, 1000), b(1000, 2000)],
                                   index=[1, 2], crs=UTM)  # fmt: skip
    grids = gpd.GeoDataFrame({"code": [code], "kind": [kind], "level": [1], "community_id": [1]},
                             geometry=[b(0, 2000)], index=[7], crs=UTM)  # fmt: skip
    return {"communities": communities, "grids": grids}


def test_a_large_grid_may_span_communities_and_a_party_grid_may_not():
    large = check_grid_map(_two_communities_and_a_grid("large", "DJ-01"))
    assert "grid_crosses_community" not in set(large["kind"]) and "grid_code_malformed" not in set(
        large["kind"]
    )
    party = check_grid_map(_two_communities_and_a_grid("party", "510104001001001"))
    assert "grid_crosses_community" in set(party["kind"])
    wrong = check_grid_map(_two_communities_and_a_grid("party", "DJ-01"))
    message = wrong.loc[wrong["kind"] == "grid_code_malformed", "message"].iloc[0]
    assert "not 15 digits" in message and "(party grid)" in message


def test_a_cjt349_code_carries_its_community():
    from gridmap.orgcatalogue import CodeStandard

    standard = org_catalogue().code_standards["cjt349"]
    assert isinstance(standard, CodeStandard)
    assert standard.problem("10000151010400100101", "510104001001") is None
    assert "characters 7–18" in str(standard.problem("10000151010400100201", "510104001001"))
    assert "20 digits" in str(standard.problem("510104001001001", "510104001001"))
