"""Grid events (吹哨报到): every move of the state machine, routing on the demo's grids,
escalation with a frozen clock, two moves at once, and the figures on a hand-built set."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.errors import ConflictError, InputError
from gridmap.events import (
    CLOCK,
    REPORTER,
    STAFF,
    STATES,
    TRANSITIONS,
    check_step,
    event_figures,
    load_catalogue,
)
from gridmap.io.edits import create_feature
from gridmap.io.events import escalate_due, event_history_of, file_event, move_event, responsibility
from gridmap.scope import grid_leader_area, visible_frame
from gridmap.store.engine import make_engine
from gridmap.store.layers import layer_version, read_layer
from gridmap_cli import main

T0 = dt.datetime(2026, 3, 2, 8, 0)


# --- the state machine ----------------------------------------------------------------------

ALLOWED = {(a, b) for a, nexts in TRANSITIONS.items() for b in nexts}


@pytest.mark.parametrize("before", STATES)
@pytest.mark.parametrize("after", STATES)
def test_every_move_is_allowed_or_refused_as_the_table_says(before, after):
    step = TRANSITIONS[before].get(after)
    if step is None:
        with pytest.raises(ConflictError, match=f"an event {before} cannot become {after}"):
            check_step(before, after, by=STAFF, note="why")
        return
    for actor in (STAFF, REPORTER, CLOCK):
        if actor not in step.by:
            with pytest.raises(ConflictError, match=f"not by the {actor}"):
                check_step(before, after, by=actor, note="why")
        else:
            check_step(before, after, by=actor, note="why")
            if step.note:
                with pytest.raises(ConflictError, match="needs a note"):
                    check_step(before, after, by=actor, note="  ")


def test_the_table_has_no_skipping_and_no_silent_reopening():
    assert ("reported", "resolved") not in ALLOWED and ("reported", "closed") not in ALLOWED
    assert ("accepted", "resolved") not in ALLOWED  # solved means worked on first
    assert TRANSITIONS["closed"]["in_progress"].note  # reopening needs a reason
    assert TRANSITIONS["duplicate"] == {} and TRANSITIONS["not_ours"] == {}
    assert set(TRANSITIONS) == set(STATES)
    with pytest.raises(InputError, match="not a state"):
        check_step("reported", "lost", by=STAFF)


def test_the_catalogue_names_departments_and_hours():
    catalogue = load_catalogue()
    assert catalogue.version >= 1 and len(catalogue.categories) >= 6
    for c in catalogue.categories.values():
        assert c.department and 0 < c.report_hours <= c.deadline_hours
    assert not catalogue.category("illegal_construction").residents
    with pytest.raises(InputError, match="unknown event category 'lamp'; expected one of: environment"):
        catalogue.category("lamp")


# --- on the demo, both databases ------------------------------------------------------------


def _led_grid(engine):
    """A base grid with a grid leader in office, its leader's name and a point inside it."""
    grids = read_layer(engine, "grids")
    terms = read_layer(engine, "assignments")
    open_ = terms[
        (terms["target_layer"] == "grids") & (terms["role"] == "grid_leader") & terms["valid_to"].isna()
    ]
    led = grids[grids["id"].isin(open_["target_id"])].sort_values("level", ascending=False).iloc[0]
    leader = open_[open_["target_id"] == led["id"]].iloc[0]["person_name"]
    point = led.geometry.representative_point()
    return led, leader, point


def test_an_event_goes_to_the_grid_leader_in_office_there(demo_engine):
    grid, leader, point = _led_grid(demo_engine)
    filed = file_event(demo_engine, lon=point.x, lat=point.y, category="environment", description="垃圾堆放",
                       source="resident", reporter="张三", phone="10012345678", now=T0)  # fmt: skip
    event = read_layer(demo_engine, "events").loc[filed.event_id]
    assert event["grid_id"] == grid["id"] and event["assignee"] == leader
    assert event["community_id"] == grid["community_id"] and event["state"] == "reported"
    assert event["department"] == load_catalogue().category("environment").department
    assert pd.Timestamp(event["due_at"]) == pd.Timestamp(T0 + dt.timedelta(hours=48))
    history = event_history_of(demo_engine, filed.event_id)
    assert history[["from_state", "to_state", "by_role"]].values.tolist() == [[None, "reported", "reporter"]]


def test_a_point_on_a_shared_edge_goes_to_the_lower_code_and_outside_every_grid_is_refused(demo_engine):
    grids = read_layer(demo_engine, "grids")
    base = grids[grids["level"] == grids["level"].max()] if grids["level"].notna().any() else grids
    geoms = base.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="touches")
    # a vertex in the middle of a shared edge: both outlines hold that very coordinate
    pair, vertex = next(((a, b), xy[len(xy) // 2]) for a, b in zip(left, right, strict=True)
                        if len(xy := shapely.get_coordinates(shapely.intersection(geoms[a], geoms[b]))) >= 3)  # fmt: skip
    point = shapely.Point(vertex)
    placement = file_event(demo_engine, lon=point.x, lat=point.y, category="road_lighting", now=T0).placement
    codes = sorted(base.iloc[list(pair)]["code"])
    assert set(base.iloc[list(pair)]["id"]) <= set(placement.grid_ids)
    assert base.loc[placement.grid_id, "code"] == codes[0]
    version = layer_version(demo_engine, "events")
    w, s, _, n = shapely.union_all(grids.geometry.to_numpy()).bounds
    with pytest.raises(InputError, match="lies outside every grid"):
        file_event(demo_engine, lon=w - 0.002, lat=(s + n) / 2, category="environment", now=T0)
    with pytest.raises(InputError, match="residents do not file 'illegal_construction'"):
        file_event(demo_engine, lon=point.x, lat=point.y, category="illegal_construction", now=T0)
    assert layer_version(demo_engine, "events") == version  # nothing stored


def test_left_alone_it_escalates_grid_community_street_and_the_department_is_called(demo_engine):
    _, _, point = _led_grid(demo_engine)
    lookup = responsibility(demo_engine)
    filed = file_event(demo_engine, lon=point.x, lat=point.y, category="safety_hazard", now=T0, lookup=lookup)
    claimed = file_event(
        demo_engine, lon=point.x, lat=point.y, category="safety_hazard", now=T0, lookup=lookup
    )
    move_event(demo_engine, claimed.event_id, "accepted", now=T0 + dt.timedelta(hours=1))
    assert filed.event_id not in escalate_due(demo_engine, now=T0 + dt.timedelta(hours=23))
    assert filed.event_id in escalate_due(demo_engine, now=T0 + dt.timedelta(hours=25))
    event = read_layer(demo_engine, "events").loc[filed.event_id]
    assert (event["state"], event["level"]) == ("escalated", "community") and pd.isna(event["assignee"])
    assert filed.event_id in escalate_due(demo_engine, now=T0 + dt.timedelta(hours=50))
    event = read_layer(demo_engine, "events").loc[filed.event_id]
    department = load_catalogue().category("safety_hazard")
    assert (event["level"], event["assignee"], event["escalations"]) == ("street", department.department, 2)
    assert pd.Timestamp(event["claim_due_at"]) == pd.Timestamp(
        T0 + dt.timedelta(hours=50 + department.report_hours)
    )
    assert filed.event_id not in escalate_due(
        demo_engine, now=T0 + dt.timedelta(hours=200)
    )  # the street is the top
    late = T0 + dt.timedelta(hours=50 + department.report_hours + 1)  # the department has not reported
    mine = read_layer(demo_engine, "events").loc[[filed.event_id]]
    assert event_figures(mine, now=late).iloc[0]["department_overdue"] == 1
    assert event_figures(mine, now=T0 + dt.timedelta(hours=50)).iloc[0]["department_overdue"] == 0
    assert read_layer(demo_engine, "events").loc[claimed.event_id, "level"] == "grid"  # claimed: stays
    steps = event_history_of(demo_engine, filed.event_id)
    assert steps["level"].tolist() == ["grid", "community", "street"] and set(steps["by_role"][1:]) == {CLOCK}
    # the department reports for duty (报到), solves it and the resident closes it with a rating
    move_event(demo_engine, filed.event_id, "accepted", now=T0 + dt.timedelta(hours=51))
    move_event(demo_engine, filed.event_id, "in_progress", now=T0 + dt.timedelta(hours=52))
    move_event(demo_engine, filed.event_id, "resolved", now=T0 + dt.timedelta(hours=60))
    with pytest.raises(InputError, match="rating"):
        move_event(demo_engine, filed.event_id, "closed", by=REPORTER, rating=9)
    done = move_event(
        demo_engine, filed.event_id, "closed", by=REPORTER, rating=5, now=T0 + dt.timedelta(hours=61)
    )
    assert (done["state"], done["rating"]) == ("closed", 5)
    with pytest.raises(ConflictError, match="needs a note"):
        move_event(demo_engine, filed.event_id, "in_progress")
    reopened = move_event(
        demo_engine, filed.event_id, "in_progress", note="漏水又出现了", now=T0 + dt.timedelta(hours=70)
    )
    assert pd.isna(reopened["resolved_at"]) and pd.isna(reopened["rating"])


def test_of_two_moves_from_one_state_exactly_one_is_made(demo_engine):
    _, _, point = _led_grid(demo_engine)
    filed = file_event(demo_engine, lon=point.x, lat=point.y, category="neighbour_dispute", now=T0)
    results: list = []

    def take(to: str, note: str | None) -> None:
        try:
            results.append(move_event(demo_engine, filed.event_id, to, note=note)["state"])
        except ConflictError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=take, args=a) for a in (("accepted", None), ("duplicate", "同一处"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str).count("ConflictError") == 1 and len(results) == 2
    assert len(event_history_of(demo_engine, filed.event_id)) == 2


def test_events_are_not_edited_or_imported_as_plain_features(demo_engine, tmp_path):
    with pytest.raises(ConflictError, match="changes through its steps"):
        create_feature(demo_engine, "events", {"category": "other"}, shapely.Point(104.08, 30.67), user="x")
    path = tmp_path / "events.csv"
    pd.DataFrame({"category": ["other"], "lon": [104.08], "lat": [30.67]}).to_csv(path, index=False)
    assert main(["--db", demo_engine.url.render_as_string(hide_password=False), "import", "events", str(path),
                 "--source-crs", "EPSG:4326"]) == 2  # fmt: skip


def test_a_grid_leader_reads_the_events_of_their_grids_and_planners_no_reporter(demo_engine):
    grid, _, point = _led_grid(demo_engine)
    file_event(
        demo_engine, lon=point.x, lat=point.y, category="other", reporter="李四", phone="10087654321", now=T0
    )
    layers = {name: read_layer(demo_engine, name) for name in ("grids", "buildings", "compounds", "party_orgs",
              "communities", "households", "members", "coop_units", "assignments", "events")}  # fmt: skip
    events = layers["events"]
    mine = visible_frame("events", events, "grid_leader", grid_leader_area(layers, (int(grid["id"]),)))
    assert len(mine) and set(mine["grid_id"]) == {grid["id"]}
    other = int(next(g for g in layers["grids"]["id"] if g != grid["id"]))
    theirs = visible_frame("events", events, "grid_leader", grid_leader_area(layers, (other,)))
    assert set(theirs["grid_id"]) <= {other} and not theirs.index.isin(mine.index).any()
    planner = visible_frame("events", events, "planner")
    assert "李四" not in set(planner["reporter"]) and "10087654321" not in set(planner["phone"])
    assert visible_frame("events", events, "public").empty


# --- the figures ----------------------------------------------------------------------------


def _hand_built() -> pd.DataFrame:
    """Six events in two grids: filed at T0 + day, claim deadline 24 h, due 48 h."""
    h = dt.timedelta(hours=1)
    rows = [  # grid, state, accepted after, resolved after, rating, escalations
        (1, "closed", 2 * h, 10 * h, 5, 0),
        (1, "closed", 30 * h, 60 * h, 3, 1),  # late response, late closure
        (1, "in_progress", 5 * h, None, None, 0),  # open, overdue at T0 + 100 h
        (2, "resolved", 1 * h, 20 * h, None, 0),
        (2, "reported", None, None, None, 0),
        (2, "duplicate", None, None, None, 0),  # does not count
    ]
    out = []
    for i, (grid, state, accepted, resolved, rating, escalations) in enumerate(rows):
        filed = T0 + dt.timedelta(days=i)
        out.append({
            "grid_id": grid, "state": state, "category": "environment" if i % 2 else "other", "source": "patrol",
            "filed_at": filed, "first_claim_due_at": filed + 24 * h, "due_at": filed + 48 * h,
            "accepted_at": filed + accepted if accepted else None,
            "resolved_at": filed + resolved if resolved else None, "rating": rating, "escalations": escalations,
        })  # fmt: skip
    return pd.DataFrame(out)


def test_figures_on_a_hand_built_set_have_known_answers():
    figures = event_figures(_hand_built(), by="grid_id", now=T0 + dt.timedelta(days=10)).set_index("unit")
    whole, one, two = figures.loc["all"], figures.loc[1], figures.loc[2]
    assert (whole["filed"], whole["responded_in_time"], whole["closed"], whole["closed_in_time"]) == (
        5,
        3,
        3,
        2,
    )
    assert whole["response_rate"] == pytest.approx(0.6) and whole["closure_rate"] == pytest.approx(0.6)
    assert (whole["rated"], whole["satisfied"], whole["satisfaction_rate"]) == (2, 1, 0.5)
    assert whole["median_hours_to_close"] == 20.0  # of 10, 60 and 20 hours
    assert (whole["overdue_now"], whole["escalated"]) == (2, 1)  # the open one and the unclaimed one
    assert (one["filed"], two["filed"]) == (3, 2)
    assert (one["closure_rate"], two["closure_rate"]) == (pytest.approx(2 / 3), 0.5)
    window = event_figures(_hand_built(), start=T0 + dt.timedelta(days=3), end=T0 + dt.timedelta(days=5))
    assert window.iloc[0]["filed"] == 2
    empty = event_figures(_hand_built().iloc[:0], now=T0)
    assert empty.iloc[0]["filed"] == 0 and empty.iloc[0]["response_rate"] is None


def test_the_report_command_prints_and_writes_a_spreadsheet(demo_engine, tmp_path, capsys):
    db = ["--db", demo_engine.url.render_as_string(hide_password=False)]
    out = tmp_path / "events.xlsx"
    assert (
        main([*db, "events", "report", "--by", "community", "--now", "2026-03-20T00:00", "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "响应率" in printed and "办结率" in printed and "满意率" in printed and "(all)" in printed
    sheets = pd.read_excel(out, sheet_name=None)
    assert set(sheets) == {"by community", "by category", "by source"}
    whole = sheets["by community"].iloc[0]
    events = read_layer(demo_engine, "events")
    counted = (~events["state"].isin(["duplicate", "not_ours"])).sum()  # these do not count as filed
    assert (
        whole["name"] == "(all)" and whole["filed 报送事件"] == counted and counted > 900
    )  # the demo's year
    assert np.isfinite(whole["filed 报送事件"])
    code = main([*db, "events", "report", "--from", "2026-03-01", "--to", "2026-01-01"])
    assert (
        code == 2 and "'from' 2026-03-01 00:00 comes after 'to' 2026-01-01 00:00" in capsys.readouterr().err
    )
    # a unit without a name yet (a grid just drawn) shows none, not "nan"
    from sqlalchemy import text

    with demo_engine.begin() as conn:
        named = conn.execute(text("SELECT id, name FROM grids ORDER BY id LIMIT 1")).one()
        conn.execute(text("UPDATE grids SET name = NULL WHERE id = :i"), {"i": named.id})
    try:
        assert main([*db, "events", "report", "--by", "grid"]) == 0
        assert "nan" not in capsys.readouterr().out
    finally:
        with demo_engine.begin() as conn:
            conn.execute(text("UPDATE grids SET name = :n WHERE id = :i"), {"n": named.name, "i": named.id})


def test_repeat_places_by_hand():
    from gridmap.events import repeat_places

    days = [0, 10, 20, 25, 0, 100, 0]
    events = pd.DataFrame({
        "category": ["road_lighting"] * 4 + ["road_lighting", "road_lighting", "environment"],
        "filed_at": [T0 + dt.timedelta(days=d) for d in days],
    }, index=[1, 2, 3, 4, 5, 6, 7])  # fmt: skip
    # the same lamp four times within a month (chained), one lamp 200 m away, the same lamp a
    # season later, and another category at the same spot
    xy = np.array([[0, 0], [10, 0], [20, 5], [60, 5], [200, 0], [5, 5], [0, 1]], dtype=float)
    places = repeat_places(events, xy, radius_m=50, days=30, min_count=3)
    assert len(places) == 1
    place = places.iloc[0]
    assert (place["category"], place["count"], place["event_ids"]) == ("road_lighting", 4, [1, 2, 3, 4])
    assert place["x"] == pytest.approx(22.5) and place["last_filed"] == pd.Timestamp(
        T0 + dt.timedelta(days=25)
    )
    assert repeat_places(events.iloc[:0], xy[:0]).empty


def test_the_report_maps_its_units_in_a_geopackage(demo_engine, tmp_path):
    import geopandas as gpd
    import pyogrio

    out = tmp_path / "events.gpkg"
    assert main(["--db", demo_engine.url.render_as_string(hide_password=False), "events", "report", "--by", "street",
                 "--out", str(out)]) == 0  # fmt: skip
    assert {str(n) for n, _ in pyogrio.list_layers(out)} == {
        "events_by_street",
        "events_by_category",
        "events_by_source",
    }
    streets = gpd.read_file(out, layer="events_by_street")
    assert len(streets) == len(read_layer(demo_engine, "streets")) and streets.geometry.notna().all()
    assert streets["filed"].sum() == event_figures(read_layer(demo_engine, "events")).iloc[0]["filed"]


def test_two_runs_of_the_clock_at_once_escalate_an_event_one_level(demo_engine):
    """A run that read the events before another run escalated one finds, under the event's
    lock, that it waits on a new deadline: it leaves it, rather than sending it up again."""
    _, _, point = _led_grid(demo_engine)
    filed = file_event(demo_engine, lon=point.x, lat=point.y, category="environment", now=T0)
    late = T0 + dt.timedelta(hours=25)
    runs: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda: runs.append(escalate_due(demo_engine, now=late))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(filed.event_id in moved for moved in runs) == 1
    event = read_layer(demo_engine, "events").loc[filed.event_id]
    assert (event["level"], event["escalations"]) == ("community", 1)
    # what the slower run does when it read the event before the other moved it
    with pytest.raises(ConflictError, match="no longer waits unclaimed past its deadline"):
        move_event(demo_engine, filed.event_id, "escalated", by="clock", now=late)
    assert read_layer(demo_engine, "events").loc[filed.event_id, "escalations"] == 1


def test_filing_on_the_command_line_names_the_grid_by_its_code(demo_copy, capsys):
    url = demo_copy("spatialite", "file_cli")
    grid = read_layer(make_engine(url), "grids").iloc[0]
    point = grid.geometry.representative_point()
    assert main(["--db", url, "events", "file", "--lon", str(point.x), "--lat", str(point.y),
                 "--category", "environment", "--description", "楼道堆物"]) == 0  # fmt: skip
    assert f"(environment) in grid {grid['code']} (id {grid.name})" in capsys.readouterr().out
