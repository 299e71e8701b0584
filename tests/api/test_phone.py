"""A grid leader's phone view in headless Chromium: their open events soonest due first, one
tap per step until one is solved — and the count of open events goes down — and a visit due
logged with one tap; another grid's event is not there."""

from __future__ import annotations

import browser
import pytest
from fresh_db import spatialite_service

from gridmap.io.events import file_event
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer

PHONE = {"width": 390, "height": 780}


@pytest.fixture(scope="module")
def service_db(request, tmp_path_factory) -> str:
    """The page is the same over either store; the API tests run on both."""
    return spatialite_service(request, tmp_path_factory)


@pytest.fixture(scope="module")
def two_events(service_db, layers, leader_grid):
    grids = layers["grids"]
    other = grids[grids["community_id"] != leader_grid["community_id"]].iloc[0]
    engine = make_engine(service_db)
    ids = []
    for grid in (leader_grid, other):
        point = grid.geometry.representative_point()
        ids.append(file_event(engine, lon=point.x, lat=point.y, category="road_lighting",
                              description="路灯不亮", source="patrol").event_id)  # fmt: skip
    engine.dispose()
    return ids


def _open_events(page) -> int:
    row = page.locator("#area-body tr", has_text="待办事件").inner_text()
    return int(row.split("待办事件")[1].strip().split("（")[0])


def test_a_grid_leader_works_their_events_and_visits_on_a_phone(live_url, two_events, service_db, request):
    backend = "spatialite"
    mine, theirs = two_events
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = browser.new_page(chromium, PHONE)
        refused, errors = browser.offline(page, lambda url: url.startswith(live_url))
        browser.sign_in(page, live_url, "leader", "leader-pass")
        if page.is_hidden("#area"):
            page.click("#toggle")
        listed = page.eval_on_selector_all(
            "#events-list li", "items => items.map(li => Number(li.dataset.event))"
        )
        assert mine in listed and theirs not in listed
        assert "道路与照明" in page.inner_text(f"#events-list li[data-event='{mine}']")  # the category's name
        before = _open_events(page)
        for label, state in (("受理", "accepted"), ("开始处理", "in_progress"), ("办结", None)):
            button = page.locator(f"#events-list li[data-event='{mine}'] button")
            assert button.inner_text() == label
            button.click()
            done = f"!gridmap.state.area.events.some(e => e.id === {mine})"  # solved: off the to-do list
            moved = f"gridmap.state.area.events.some(e => e.id === {mine} && e.state === '{state}')"
            page.wait_for_function(f"() => {moved if state else done}")
        assert _open_events(page) == before - 1  # it now waits for the resident, not the leader
        visits = page.eval_on_selector_all(
            "#visits-list li", "items => items.map(li => Number(li.dataset.household))"
        )
        if visits:
            page.click(f"#visits-list li[data-household='{visits[0]}'] button")
            page.wait_for_function(
                f"() => !gridmap.state.area.visits_due.some(v => v.household_id === {visits[0]})"
            )
        browser.screenshot(page, f"phone_leader_{backend}.png")
        chromium.close()
    assert errors == [] and refused == []
    engine = make_engine(service_db)
    event = read_layer(engine, "events").loc[mine]
    logged = read_layer(engine, "visits")
    engine.dispose()
    assert event["state"] == "resolved" and event["assignee"] is not None
    if visits:
        assert (logged["household_id"] == visits[0]).any() and "leader" in set(logged["visitor"])
