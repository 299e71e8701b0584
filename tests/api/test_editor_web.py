"""Editing in the web map in headless Chromium with the network cut off: a community admin
opens a grid of their community, drags a vertex next to a neighbour's vertex and it snaps
onto it, checks the edit and sees the findings; renames a grid with a comment, saves, finds
the change in its history and undoes it; an edit of the neighbouring community's grid is
refused in the page, naming what lies outside."""

from __future__ import annotations

import browser
import pytest
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
    counts = grids["community_id"].value_counts()
    community = int(counts.index[0])  # a community of several grids
    code = layers["communities"].at[community, "code"]
    engine = make_engine(service_db)
    add_user(engine, "clerk", "community_admin", "clerk-pass-1", area=code)
    engine.dispose()
    ours = grids[grids["community_id"] == community]
    theirs = grids[grids["community_id"] != community]
    return {"grid": int(ours.index[0]), "other": int(theirs.index[0])}


# the vertex of the open grid nearest (on screen) to a vertex of a neighbour that it does not share
NEAREST = """() => {
  const ed = gridmapEditor.editor, draw = ed.draw;
  const mine = draw.getSnapshotFeature(ed.drawId).geometry.coordinates[0];
  const key = (c) => c[0].toFixed(7) + "," + c[1].toFixed(7);
  const own = new Set(mine.map(key));
  let best = null;
  for (const f of draw.getSnapshot()) {
    if (f.id === ed.drawId || f.geometry.type !== "Polygon") continue;
    for (const c of f.geometry.coordinates[0]) {
      if (own.has(key(c))) continue;
      for (let i = 0; i < mine.length - 1; i++) {
        const a = gridmap.map.project(mine[i]), b = gridmap.map.project(c);
        const d = Math.hypot(a.x - b.x, a.y - b.y);
        if (d > 25 && (!best || d < best.d)) best = { d, i, from: [a.x, a.y], to: [b.x, b.y], target: c };
      }
    }
  }
  return best;
}"""


def test_a_community_admin_edits_a_grid_in_the_browser(live_url, layers, clerk):
    grids = layers["grids"]
    with browser.playwright() as p:
        chromium = browser.launch(p)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        refused, errors = browser.offline(page, lambda url: url.startswith(live_url))
        browser.sign_in(page, live_url, "clerk", "clerk-pass-1")
        assert page.is_visible("#editor")
        page.click("#edit-toggle")
        point = grids.geometry.loc[clerk["grid"]].representative_point()
        page.evaluate(f"gridmap.map.jumpTo({{center: [{point.x}, {point.y}], zoom: 16}})")
        page.evaluate("gridmap.idle()")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(
            "() => gridmapEditor.editor.drawId !== null && gridmapEditor.editor.layer !== null"
        )
        assert page.evaluate("gridmapEditor.editor.layer") == "grids"  # the grid under the click
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
        page.wait_for_function("() => document.querySelector('#edit-message').textContent.includes('检查')")
        page.click("#edit-close")
        page.evaluate(f"gridmapEditor.openFeature('grids', {clerk['grid']})")
        page.wait_for_function("() => document.querySelector('#edit-form [name=name]') !== null")
        page.fill("#edit-form [name=name]", "东一网格（重划）")
        page.fill("#edit-comment", "网格更名")
        page.click("#edit-save")
        page.wait_for_function("() => document.querySelector('#edit-message').textContent.includes('已保存')")
        page.click("#edit-history-button")
        page.wait_for_selector("#edit-history li")
        assert "网格更名" in page.inner_text("#edit-history")
        page.click("#edit-undo")
        page.wait_for_function("() => document.querySelector('#edit-message').textContent.includes('已撤销')")
        assert page.input_value("#edit-form [name=name]") != "东一网格（重划）"
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
