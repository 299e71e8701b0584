"""Households that need visits (四必访): care tags with their intervals, what is due on a day,
the figures, and who may read the tags."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gridmap.care import care_figures, load_care_tags, visits_due
from gridmap.errors import InputError
from gridmap.io.importer import import_layer
from gridmap.scope import grid_leader_area, visible_frame
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer
from gridmap_cli import main

TODAY = dt.date(2026, 12, 4)


def _hand_built():
    households = pd.DataFrame(
        {"building_id": [1, 1, 2, 2, 3], "care_tags": ["elderly_alone", "elderly_alone", "disabled,elderly_alone",
                                                       "hardship", None]},
        index=[11, 12, 13, 14, 15],
    )  # fmt: skip
    visits = pd.DataFrame({"household_id": [11, 12, 13, 14, 14],
                           "visited_on": [TODAY - dt.timedelta(days=d) for d in (5, 3, 10, 40, 29)]})  # fmt: skip
    return households, visits


def test_what_is_due_on_a_day_by_hand():
    households, visits = _hand_built()
    due = visits_due(households, visits, TODAY).set_index("household_id")
    # 11: weekly, seen 5 days ago: due in 2 days (shown two days ahead); 12: seen 3 days ago, not yet;
    # 13: the weekly tag wins over the monthly one, seen 10 days ago: 3 days late; 14: seen 29 days ago
    # on a monthly round: due tomorrow; 15: no tag
    assert list(due.index) == [13, 14, 11]  # the late one, then the soonest due
    assert due.loc[13, ["interval_days", "overdue_days"]].tolist() == [7, 3]
    assert due.loc[11, "due_on"] == TODAY + dt.timedelta(days=2) and due.loc[11, "overdue_days"] == 0
    assert due.loc[14, "last_visit"] == TODAY - dt.timedelta(days=29)
    never = visits_due(households, visits.iloc[:0], TODAY)
    assert set(never["household_id"]) == {11, 12, 13, 14} and set(never["due_on"]) == {TODAY}


def test_the_figures_count_and_name_nobody():
    households, visits = _hand_built()
    figures = care_figures(households, visits, TODAY)
    assert (figures["tagged"], figures["visited_in_time"], figures["overdue"], figures["visits"]) == (
        4,
        3,
        1,
        5,
    )
    assert figures["share_in_time"] == 0.75
    assert figures["per_tag"] == {"elderly_alone": 3, "disabled": 1, "hardship": 1}
    assert load_care_tags().parse("elderly_alone、hardship") == ["elderly_alone", "hardship"]
    with pytest.raises(InputError, match="unknown care tag"):
        load_care_tags().parse("ghost")


@pytest.fixture(scope="module")
def demo(demo_copy):
    engine = make_engine(demo_copy("spatialite", "care"))
    yield engine
    engine.dispose()


def test_a_bad_tag_is_refused_by_row(demo, tmp_path):
    one = read_layer(demo, "households").iloc[:2]
    path = tmp_path / "households.csv"
    one[["id", "building_id", "unit", "room"]].assign(care_tags=["elderly_alone", "ghost"]).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match=r"row 3 \(id 2\), field 'care_tags': unknown care tag\(s\) ghost"):
        import_layer(demo, "households", path)


def test_only_admins_and_the_grid_leader_read_the_tags(demo):
    layers = {n: read_layer(demo, n) for n in ("grids", "buildings", "compounds", "party_orgs", "communities",
                                               "households", "members", "coop_units", "assignments", "visits")}  # fmt: skip
    households = layers["households"]
    tagged = households[households["care_tags"].notna()]
    assert len(tagged) > 100  # the demo's
    grid = next(g for g in layers["grids"].index
                if grid_leader_area(layers, (int(g),)).ids["households"] & set(tagged.index))  # fmt: skip
    area = grid_leader_area(layers, (int(grid),))
    leader = visible_frame("households", households, "grid_leader", area)
    assert leader["care_tags"].notna().any() and set(leader.index) <= area.ids["households"]
    assert visible_frame("households", households, "planner")["care_tags"].isna().all()
    assert visible_frame("households", households, "admin")["care_tags"].notna().sum() == len(tagged)
    assert visible_frame("households", households, "public").empty
    mine = visible_frame("visits", layers["visits"], "grid_leader", area)
    assert set(mine["household_id"]) <= area.ids["households"]


def test_visits_are_logged_and_leave_the_due_list(demo, capsys):
    db = ["--db", demo.url.render_as_string(hide_password=False)]
    assert main([*db, "visits", "due", "--on", "2026-12-04"]) == 0
    listed = capsys.readouterr().out
    first = int(listed.splitlines()[2].split()[0])
    assert main([*db, "visits", "log", str(first), "--on", "2026-12-04", "--by", "网格员甲"]) == 0
    assert main([*db, "visits", "due", "--on", "2026-12-04"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[3:]]
    assert str(first) not in rows
    assert main([*db, "visits", "report", "--on", "2026-12-04"]) == 0
    assert "households tagged for care" in capsys.readouterr().out
    # a mistyped year would count as visited for decades and hide the household from the list
    ahead = dt.date.today() + dt.timedelta(days=2)
    assert main([*db, "visits", "log", str(first), "--on", ahead.isoformat()]) == 2
    assert f"{ahead} lies in the future: expected a day that has come" in capsys.readouterr().err
    assert main([*db, "points", "award", "1", "--rule", "volunteer_service", "--on", ahead.isoformat()]) == 2
    assert "field 'earned_on'" in capsys.readouterr().err
