"""Real clients against the running service: GDAL reads the layers (OGC API Features) and a
vector tile; headless Chromium loads the web map offline, sees the layers draw, signs in as
a grid leader and sees only that grid, on a desktop and on a phone-sized screen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request

import browser
import morecantile
import pytest

TMS = morecantile.tms.get("WebMercatorQuad")


def _gdal(*args: str) -> str:
    if shutil.which("ogrinfo") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("GDAL's ogrinfo (gdal-bin) is required in CI")
        pytest.skip("ogrinfo (gdal-bin) is not installed")
    done = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gdal_reads_the_layers_as_ogc_api_features(live_url, layers):
    out = _gdal("-ro", "-so", f"OAPIF:{live_url}", "facilities")
    assert f"Feature Count: {len(layers['facilities'])}" in out
    assert "Geometry: Point" in out
    listed = _gdal("-ro", "-q", f"OAPIF:{live_url}")
    assert "communities" in listed and "members" not in listed  # the public's collections only


def test_gdal_reads_a_vector_tile(live_url, tmp_path, layers):
    point = layers["facilities"].geometry.iloc[0]
    t = TMS.tile(point.x, point.y, 15)
    path = tmp_path / "tile.mvt"
    with urllib.request.urlopen(f"{live_url}/tiles/facilities/15/{t.x}/{t.y}") as r:
        path.write_bytes(r.read())
    out = _gdal("-ro", "-al", "-so", "-oo", f"X={t.x}", "-oo", f"Y={t.y}", "-oo", "Z=15", str(path))
    assert "Layer name: facilities" in out and "Feature Count: 0" not in out


GRID_CODES = "[...new Set(gridmap.map.queryRenderedFeatures().filter(f => f.source === 'grids').map(f => f.properties.code))]"
SOURCES = "[...new Set(gridmap.map.queryRenderedFeatures().map(f => f.source))].sort()"


@pytest.mark.parametrize(
    "screen", [{"width": 1280, "height": 820}, {"width": 390, "height": 780}], ids=["desktop", "phone"]
)
def test_web_map_offline_public_then_grid_leader(live_url, leader_grid, screen, request):
    backend = request.node.callspec.params["service_db"]
    if backend == "postgis":  # GDAL reads both stores above; the page is the same over either
        pytest.skip("the web map is the same over either store")
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = browser.new_page(chromium, screen)
        refused, errors = browser.offline(page, lambda url: url.startswith(live_url))
        page.goto(f"{live_url}/")
        page.wait_for_function("() => window.gridmap !== undefined")
        page.evaluate("gridmap.ready")
        page.evaluate("gridmap.idle()")
        assert page.evaluate(SOURCES) == ["communities", "facilities", "roads"]
        assert page.evaluate(GRID_CODES) == []
        browser.screenshot(page, f"web_public_{screen['width']}_{backend}.png")
        if page.is_hidden("#signin"):  # the phone layout starts with the panel closed
            page.click("#toggle")
        page.fill("#signin input[name=name]", "leader")
        page.fill("#signin input[name=password]", "leader-pass")
        page.click("#signin button")
        page.wait_for_function("() => gridmap.state.area !== undefined")
        page.evaluate("gridmap.idle()")
        assert page.evaluate(GRID_CODES) == [leader_grid["code"]]
        assert {"grids", "buildings"} <= set(page.evaluate(SOURCES))
        west, south, east, north = leader_grid.geometry.bounds
        view = page.evaluate("gridmap.map.getBounds().toArray().flat()")
        assert view[0] <= west and view[1] <= south and view[2] >= east and view[3] >= north
        assert page.evaluate("gridmap.map.getZoom()") >= 15  # zoomed to the grid, not the district
        assert leader_grid["code"] in page.inner_text("#area")
        # the walking minutes shown say which run they are of, and how much of what it counts is estimated
        run = json.loads(urllib.request.urlopen(f"{live_url}/coverage/runs/latest").read())
        if page.is_hidden("#layers input[data-layer=coverage]"):  # the phone closes the panel on the grid
            page.click("#toggle")
        page.check("#layers input[data-layer=coverage]")
        page.wait_for_function("() => document.querySelector('#coverage-run').textContent.includes('人')")
        said = page.inner_text("#coverage-run")
        assert said == f"覆盖分析第 {run['id']} 次（{run['created_at'][:10]}）：{run['homes']['said_zh']}"
        assert run["homes"]["said_zh"].startswith(f"居民 {sum(run['homes']['residents'].values()):,} 人，")
        page.uncheck("#layers input[data-layer=coverage]")
        browser.screenshot(page, f"web_leader_{screen['width']}_{backend}.png")
        chromium.close()
    assert errors == []
    assert refused == []
