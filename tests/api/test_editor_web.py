"""Working in the web map in headless Chromium with the network cut off, over one store (the
page is the same over either; the API tests run on both):

- a community admin opens a grid of their community, drags a vertex next to a neighbour's
  vertex and it snaps onto it, checks the edit and sees the findings (or that it reaches a
  neighbouring community); renames a grid with a
  comment, saves, finds the change in its history and undoes it; appoints a grid leader;
  splits the grid along a drawn line and sees the new grids in the tiles; adds a facility;
  draws a new building and moves it whole; appoints a building leader from the members living in a building;
  drags a vertex of one part of a grid of several parts and checks the edit;
  an edit of the neighbouring community's grid is refused in the page, naming what lies
  outside;
- a grid worker on a phone-sized window updates a household (and is told why a wrong value is
  refused) and logs a visit;
- a planner turns on the organisation's layers, clicks a compound and reads the figures of
  its community and grid; the public sees none of those layers."""

from __future__ import annotations

import browser
import geopandas as gpd
import pytest
import shapely
from fresh_db import spatialite_service

from gridmap.accounts import add_user
from gridmap.store.engine import make_engine


@pytest.fixture(scope="module")
def service_db(request, tmp_path_factory) -> str:
    """The page is the same over either store; the API tests run on both."""
    return spatialite_service(request, tmp_path_factory)


@pytest.fixture(scope="module")
def clerk(service_db, layers):
    grids = layers["grids"]
    pieces = grids[shapely.get_num_geometries(grids.geometry.values) > 1]
    counts = grids[grids["community_id"].isin(pieces["community_id"])]["community_id"].value_counts()
    community = int(counts.index[0])  # a community of several grids, one of them of several parts
    code = layers["communities"].at[community, "code"]
    engine = make_engine(service_db)
    add_user(engine, "clerk", "community_admin", "clerk-pass-1", area=code)
    engine.dispose()
    ours = grids[grids["community_id"] == community]
    theirs = grids[grids["community_id"] != community]
    members = layers["members"]
    living = members[(members["community_id"] == community) & members["building_id"].notna()]
    member = {
        "id": int(living.index[0]),
        "name": living["name"].iloc[0],
        "building_id": living["building_id"].iloc[0],
    }
    pieces = ours[shapely.get_num_geometries(ours.geometry.values) > 1]
    assert len(pieces), "the community has no grid of several parts"
    single = ours[shapely.get_num_geometries(ours.geometry.values) == 1]
    return {
        "grid": int(single.index[0]),
        "other": int(theirs.index[0]),
        "member": member,
        "multi": int(pieces.index[0]),
    }


def _empty_spot(grid, buildings, clear_m: float = 40.0):
    """A point inside ``grid`` (EPSG:4326) at least ``clear_m`` from every building."""
    import shapely

    metric = buildings.to_crs(buildings.estimate_utm_crs())
    area = gpd.GeoSeries([grid], crs=4326).to_crs(metric.crs).iloc[0]
    free = area.buffer(-10).difference(shapely.union_all(metric.geometry.buffer(clear_m).to_numpy()))
    assert not free.is_empty, "no empty spot in the grid"
    return gpd.GeoSeries([free.representative_point()], crs=metric.crs).to_crs(4326).iloc[0]


LAYERS = ("org_branches", "org_sponsored", "org_central", "needs")
SHOWN = ("org_branches", "needs")  # the other layers' answers are checked over HTTP
FORMS = "[...new Set(gridmap.map.querySourceFeatures('org_branches').map(f => f.properties.form))].sort()"


# the vertex of the open grid nearest (on screen) to a vertex of a neighbour that it does not
# share, both where the map shows (not under a panel)
NEAREST = """() => {
  const ed = gridmapEditor.editor, draw = ed.draw;
  const mine = draw.getSnapshotFeature(ed.drawId).geometry.coordinates[0];
  const key = (c) => c[0].toFixed(7) + "," + c[1].toFixed(7);
  const own = new Set(mine.map(key));
  const r = gridmap.map.getContainer().getBoundingClientRect();  // on the map, not under a panel
  const shown = (p) => { const el = document.elementFromPoint(r.left + p.x, r.top + p.y); return el && el.closest("#map"); };
  let best = null;
  for (const f of draw.getSnapshot()) {
    if (f.id === ed.drawId || f.geometry.type !== "Polygon") continue;
    for (const c of f.geometry.coordinates[0]) {
      if (own.has(key(c))) continue;
      for (let i = 0; i < mine.length - 1; i++) {
        const a = gridmap.map.project(mine[i]), b = gridmap.map.project(c);
        const d = Math.hypot(a.x - b.x, a.y - b.y);
        if (d > 25 && (!best || d < best.d) && shown(a) && shown(b)) best = { d, i, from: [a.x, a.y], to: [b.x, b.y], target: c };
      }
    }
  }
  return best;
}"""


# the answer of the check before saving: its findings, or the refusal of an outline that
# reaches a neighbouring community (the hint shown while editing also says 检查)
CHECKED = "() => /检查(通过|发现)|reaches .* into community/.test(document.querySelector('#edit-message').textContent)"


def test_a_grid_worker_logs_a_visit_on_a_phone(live_url, service_db, leader_grid):
    engine = make_engine(service_db)
    add_user(engine, "worker", "grid_worker", "worker-pass-1", [leader_grid["code"]])
    engine.dispose()
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = browser.new_page(chromium, {"width": 390, "height": 780})
        refused, errors = browser.offline(page, lambda url: url.startswith(live_url))
        browser.sign_in(page, live_url, "worker", "worker-pass-1")
        if page.is_hidden("#area"):
            page.click("#toggle")
        assert page.is_hidden("#editor")  # a grid worker keeps households, not outlines
        home = page.locator("#households-list li").first
        home.locator("input[name=residents]").fill("4")
        home.locator("input[name=phone]").fill("100 1234 5678")
        home.locator("button").click()
        page.wait_for_function(
            "() => document.querySelector('#households-list li span').textContent.includes('已保存')"
        )
        home.locator("input[name=residents]").fill("99")  # more than a household holds: refused, named
        home.locator("button").click()
        page.wait_for_function(
            "() => document.querySelector('#households-list li span').className === 'error'"
        )
        assert "residents" in home.locator("span").inner_text() or "50" in home.locator("span").inner_text()
        first = page.locator("#visits-list li").first
        household = int(first.get_attribute("data-household"))
        first.locator("button").click()
        page.wait_for_function(
            f"() => !gridmap.state.area.visits_due.some(v => v.household_id === {household})"
        )
        chromium.close()
    assert [e for e in errors if "status of 422" not in e] == []  # the browser logs the refused save
    assert refused == []


def _save(page, fields: dict[str, str], comment: str) -> None:
    """Fill the open feature's ``fields`` and the change's comment, save, and wait for 已保存."""
    for name, value in fields.items():
        page.fill(f"#edit-form [name={name}]", value)
    page.fill("#edit-comment", comment)
    page.click("#edit-save")
    page.wait_for_function("() => document.querySelector('#edit-message').textContent.includes('已保存')")


def test_a_community_admin_edits_a_grid_in_the_browser(live_url, layers, clerk):
    grids = layers["grids"]
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = browser.new_page(chromium, {"width": 1280, "height": 900})
        refused, errors = browser.offline(page, lambda url: url.startswith(live_url))
        browser.sign_in(page, live_url, "clerk", "clerk-pass-1")
        assert page.is_visible("#editor")
        for layer in (
            "events",
            "compounds",
            "facilities",
        ):  # as a clerk would, to see the grids: less to draw
            page.uncheck(f"#layers input[data-layer={layer}]")
        page.click("#edit-toggle")
        point = grids.geometry.loc[clerk["grid"]].representative_point()
        page.evaluate(f"void gridmap.map.jumpTo({{center: [{point.x}, {point.y}], zoom: 16}})")
        page.evaluate("gridmap.idle()")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(
            "() => gridmapEditor.editor.drawId !== null && gridmapEditor.editor.layer !== null"
        )
        assert page.evaluate("gridmapEditor.editor.layer") == "grids"  # the grid under the click
        panel = page.locator("#panel").bounding_box()  # the grid in view beside the panel
        gx0, gy0, gx1, gy1 = grids.geometry.loc[clerk["grid"]].bounds
        page.evaluate(f"void gridmap.map.fitBounds([[{gx0}, {gy0}], [{gx1}, {gy1}]], {{duration: 0, padding: "
                      f"{{top: 60, bottom: 60, left: 60, right: {int(panel['width']) + 60}}}}})")  # fmt: skip
        pair = page.evaluate(NEAREST)
        assert pair is not None
        x0, y0 = box["x"] + pair["from"][0], box["y"] + pair["from"][1]
        x1, y1 = (
            box["x"] + pair["to"][0] + 4,
            box["y"] + pair["to"][1] + 3,
        )  # a few pixels off the neighbour's
        page.mouse.move(x0, y0)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10)
        page.mouse.up()
        moved = page.evaluate(f"gridmapEditor.editor.draw.getSnapshotFeature(gridmapEditor.editor.drawId)"
                              f".geometry.coordinates[0][{pair['i']}]")  # fmt: skip
        assert moved == pytest.approx(pair["target"], abs=1e-7)  # snapped onto the neighbour's vertex
        page.click("#edit-check")
        page.wait_for_function(CHECKED)
        page.click("#edit-close")
        page.evaluate(f"gridmapEditor.openFeature('grids', {clerk['grid']})")
        page.wait_for_function("() => document.querySelector('#edit-form [name=name]') !== null")
        _save(page, {"name": "东一网格（重划）"}, "网格更名")
        page.click("#edit-history-button")
        page.wait_for_selector("#edit-history li")
        assert "网格更名" in page.inner_text("#edit-history")
        page.click("#edit-undo")
        page.wait_for_function("() => document.querySelector('#edit-message').textContent.includes('已撤销')")
        assert page.input_value("#edit-form [name=name]") != "东一网格（重划）"
        # a grid leader appointed on the grid, then the grid split along a drawn line
        page.fill("#term-name", "新任网格长")
        page.click("#edit-appoint")
        page.wait_for_function(
            "() => document.querySelector('#edit-terms').textContent.includes('新任网格长')"
        )
        grid = grids.geometry.loc[clerk["grid"]]
        minx, miny, maxx, maxy = grid.bounds
        middle = (minx + maxx) / 2
        page.evaluate(
            f"void gridmap.map.fitBounds([[{minx}, {miny}], [{maxx}, {maxy}]], {{padding: 80, duration: 0}})"
        )
        page.evaluate("gridmap.idle()")
        ends = page.evaluate(
            f"[gridmap.map.project([{middle}, {maxy + 0.0003}]), gridmap.map.project([{middle}, {miny - 0.0003}])]"
        )
        page.click("#edit-split")
        for end in ends:
            page.mouse.click(box["x"] + end["x"], box["y"] + end["y"])
            page.wait_for_timeout(300)
        page.keyboard.press("Enter")
        page.wait_for_selector("#edit-apply-plan")
        assert "split" in page.inner_text("#edit-plan")
        page.check("#edit-end-terms")  # the new leader's term ends with the grid
        page.click("#edit-apply-plan")
        page.wait_for_function("() => document.querySelector('#edit-message').textContent.includes('已应用')")
        added = page.inner_text("#edit-message").split("新增 ")[1].split("，")[0].split("、")
        page.evaluate("gridmap.idle()")
        shown = page.evaluate("[...new Set(gridmap.map.queryRenderedFeatures().filter(f => f.source === 'grids')"
                              ".map(f => f.properties.code))]")  # fmt: skip
        assert set(added) <= set(shown)  # the new grids in the next tiles
        # a new facility drawn as a point in the community
        page.click("#edit-add")
        inside = grids.geometry.loc[clerk["grid"]].representative_point()
        spot = page.evaluate(f"gridmap.map.project([{inside.x}, {inside.y}])")
        page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
        page.wait_for_function("() => document.querySelector('#edit-form [name=categories]') !== null")
        _save(page, {"name": "新建党群服务站", "categories": "party_service_centre"}, "新增站点")
        page.click("#edit-close")
        # a new building drawn corner by corner on an empty spot of the grid
        spot = _empty_spot(grids.geometry.loc[clerk["grid"]], layers["buildings"])
        page.evaluate(f"void gridmap.map.jumpTo({{center: [{spot.x}, {spot.y}], zoom: 18}})")
        page.click("#edit-add-building")
        d = 0.00007  # about 7 m
        corners = [
            (spot.x - d, spot.y - d),
            (spot.x + d, spot.y - d),
            (spot.x + d, spot.y + d),
            (spot.x - d, spot.y + d),
        ]
        for lon, lat in [*corners, corners[0]]:  # the first corner again closes the outline
            at = page.evaluate(f"gridmap.map.project([{lon}, {lat}])")
            page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
            page.wait_for_timeout(150)
        page.wait_for_function("() => document.querySelector('#edit-form [name=levels]') !== null")
        _save(page, {"name": "新建3号楼", "levels": "6"}, "新建楼栋")
        built = page.evaluate("gridmapEditor.editor.original")
        assert built["properties"]["name"] == "新建3号楼" and built["geometry"]["type"] == "MultiPolygon"
        # drawn without its households, they are estimated, and the form says so beside them
        assert built["properties"]["households_from"] == "estimate"
        assert "户数（估算）" in page.inner_text("#edit-form")
        ring = built["geometry"]["coordinates"][0][0]
        assert all(
            min(abs(x - cx) + abs(y - cy) for x, y in ring) < 1e-6 for cx, cy in corners
        )  # where drawn
        # the building moved whole: dragged by its inside, every corner goes along, and saved
        centre = page.evaluate(f"gridmap.map.project([{spot.x}, {spot.y}])")
        page.mouse.move(box["x"] + centre["x"] - 2, box["y"] + centre["y"])
        page.mouse.move(box["x"] + centre["x"], box["y"] + centre["y"])
        page.wait_for_timeout(100)
        page.mouse.down()
        page.wait_for_timeout(100)
        for step in range(1, 6):
            page.mouse.move(box["x"] + centre["x"] + 4 * step, box["y"] + centre["y"] + 2 * step)
            page.wait_for_timeout(30)
        page.mouse.up()
        page.wait_for_timeout(100)
        shifted = page.evaluate("gridmapEditor.editedGeometry()")
        assert shifted is not None and shifted["type"] == "MultiPolygon"
        before, after = shapely.Polygon(ring), shapely.Polygon(shifted["coordinates"][0][0])
        assert after.centroid.x > before.centroid.x and after.area == pytest.approx(before.area, rel=1e-3)
        page.fill("#edit-comment", "楼栋位置更正")
        saved = page.inner_text("#edit-message")  # the building's first save, 已保存（变更集 N）
        page.click("#edit-save")
        page.wait_for_function(
            "(before) => { const t = document.querySelector('#edit-message').textContent;"
            " return t.includes('已保存') && t !== before; }",
            arg=saved,
        )
        stored = shapely.Polygon(
            page.evaluate("gridmapEditor.editor.original")["geometry"]["coordinates"][0][0]
        )
        assert stored.centroid.distance(after.centroid) < 1e-6
        # a building leader appointed from the members who live in a building of the community
        member = clerk["member"]
        page.evaluate(f"gridmapEditor.openFeature('buildings', {int(member['building_id'])})")
        page.wait_for_function(
            "() => document.querySelector('#term-role option[value=building_leader]') !== null"
        )
        page.wait_for_function("() => document.querySelectorAll('#term-members option').length > 0")
        page.select_option("#term-role", "building_leader")
        page.fill("#term-name", f"{member['name']} · 党员 #{member['id']}")
        page.click("#edit-appoint")
        page.wait_for_function(
            f"() => document.querySelector('#edit-terms').textContent.includes('楼栋长：{member['name']}（党员）')"
        )
        page.click("#edit-close")
        # a grid of several parts: each part drawn, the second selected and a vertex of it dragged
        multi = grids.geometry.loc[clerk["multi"]]
        second = multi.geoms[1]
        minx, miny, maxx, maxy = second.bounds
        page.evaluate(f"void gridmap.map.fitBounds([[{minx}, {miny}], [{maxx}, {maxy}]], {{duration: 0, padding: "
                      f"{{top: 120, bottom: 120, left: 120, right: {int(panel['width']) + 120}}}}})")  # fmt: skip
        page.evaluate(f"gridmapEditor.openFeature('grids', {clerk['multi']})")
        page.wait_for_function(f"() => gridmapEditor.editor.parts.length === {len(multi.geoms)}")
        inside = second.representative_point()
        page.evaluate("gridmapEditor.editor.draw.selectFeature(gridmapEditor.editor.parts[1])")
        vx, vy = page.evaluate("gridmapEditor.editor.draw.getSnapshotFeature(gridmapEditor.editor.parts[1])"
                               ".geometry.coordinates[0][0]")  # fmt: skip
        v = page.evaluate(f"gridmap.map.project([{vx}, {vy}])")
        c = page.evaluate(f"gridmap.map.project([{inside.x}, {inside.y}])")
        dx, dy = (c["x"] - v["x"]) * 0.15, (c["y"] - v["y"]) * 0.15  # a little way inwards
        page.mouse.move(box["x"] + v["x"], box["y"] + v["y"])
        page.mouse.down()
        for step in range(1, 6):
            page.mouse.move(box["x"] + v["x"] + dx * step / 5, box["y"] + v["y"] + dy * step / 5)
        page.mouse.up()
        edited = page.evaluate("gridmapEditor.editedGeometry()")
        assert edited["type"] == "MultiPolygon" and len(edited["coordinates"]) == len(multi.geoms)
        first = shapely.Polygon(edited["coordinates"][0][0])
        assert shapely.hausdorff_distance(first, shapely.Polygon(multi.geoms[0].exterior)) < 1e-6  # untouched
        moved = shapely.Polygon(edited["coordinates"][1][0])
        assert shapely.hausdorff_distance(moved, shapely.Polygon(second.exterior)) > 1e-6  # dragged
        page.click("#edit-check")
        page.wait_for_function(CHECKED)
        page.click("#edit-close")
        page.evaluate(f"gridmapEditor.openFeature('grids', {clerk['other']})")
        page.wait_for_function("() => document.querySelector('#edit-form [name=name]') !== null")
        page.fill("#edit-form [name=name]", "别人的网格")
        page.fill("#edit-comment", "越界")
        page.click("#edit-save")
        page.wait_for_function("() => document.querySelector('#edit-message').className === 'error'")
        assert "lies outside community" in page.inner_text("#edit-message")
        browser.screenshot(page, "web_editor_community_admin.png")
        chromium.close()
    assert [e for e in errors if "status of 403" not in e] == []  # the browser logs the refused save
    assert refused == []


def test_a_planner_maps_the_organisation_and_reads_an_area_s_figures(live_url, layers, request):
    backend = "spatialite"
    compounds = layers["compounds"]
    compound = compounds[compounds["branch_id"].notna()].iloc[0]
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = browser.new_page(chromium, {"width": 1280, "height": 900})
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
        page.evaluate(f"void gridmap.map.jumpTo({{center: [{point.x}, {point.y}], zoom: 16}})")
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
