"""The party organisation on the web map in headless Chromium: a planner turns on branches by
form and needs, clicks a compound and reads the figures of its community and grid; the
public sees none of the organisation's layers."""

from __future__ import annotations

import browser
import pytest
from fresh_db import spatialite_service

LAYERS = ("org_branches", "org_sponsored", "org_central", "needs")
SHOWN = ("org_branches", "needs")  # the other layers' answers are checked over HTTP
FORMS = "[...new Set(gridmap.map.querySourceFeatures('org_branches').map(f => f.properties.form))].sort()"


@pytest.fixture(scope="module")
def service_db(request, tmp_path_factory) -> str:
    """The page is the same over either store; the API tests run on both."""
    return spatialite_service(request, tmp_path_factory)


def test_a_planner_maps_the_organisation_and_reads_an_area_s_figures(live_url, layers, request):
    backend = "spatialite"
    compounds = layers["compounds"]
    compound = compounds[compounds["branch_id"].notna()].iloc[0]
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        refused, errors = browser.offline(page, lambda url: url.startswith(live_url))
        page.goto(f"{live_url}/")
        page.wait_for_function("() => window.gridmap !== undefined")
        page.evaluate("gridmap.ready")
        switches = page.eval_on_selector_all("#layers input", "xs => xs.map(x => x.dataset.layer)")
        assert not set(LAYERS) & set(switches)  # the public has none of them
        browser.sign_in(page, live_url, "planner", "planner-pass")
        for layer in SHOWN:
            page.check(f"#layers input[data-layer={layer}]")
        point = compound.geometry.representative_point()
        page.evaluate(f"gridmap.map.jumpTo({{center: [{point.x}, {point.y}], zoom: 16}})")
        page.evaluate("gridmap.idle()")
        page.wait_for_function("() => gridmap.map.querySourceFeatures('org_branches').length > 0")
        assert {"single", "joint"} <= set(page.evaluate(FORMS))
        assert "兼合式党支部" in page.inner_text("#legend")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector("#figures-table")
        text = page.inner_text("#figures")
        assert "有党支部的小区" in text and "到居住地报到的在职党员" in text and "%" in text
        page.select_option("#figure-scope", "grid")
        page.wait_for_function("() => document.querySelector('#figures h3').textContent.includes('网格')")
        browser.screenshot(page, f"web_org_planner_{backend}.png")
        chromium.close()
    assert errors == []
    assert refused == []
