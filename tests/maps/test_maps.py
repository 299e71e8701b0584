"""Composed maps of the demo district, written by ``gridmap map`` and opened offline in a
headless Debian Chromium: no console errors, every drawn feature there, a screenshot kept
in tests/artefacts/."""

import json
import re
from pathlib import Path

import browser
import folium
import pytest

from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer
from gridmap_cli import main

COUNT_DRAWN = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
  let n = 0;
  window[key].eachLayer(l => { if (l.feature || l instanceof L.Marker) n++; });
  return n;
}"""


def _drawn_in(m: folium.Map) -> int:
    """Features the map puts on screen at first: GeoJSON features and markers of shown layers."""
    n = 0
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.show:
            for item in child._children.values():
                if isinstance(item, folium.GeoJson):
                    data = json.loads(item.data) if isinstance(item.data, str) else item.data
                    n += len(data["features"])
                elif isinstance(item, folium.Marker):
                    n += 1
    return n


@pytest.fixture(scope="module")
def grid_code(demo_db) -> str:
    return str(read_layer(make_engine(demo_db), "grids")["code"].iloc[0])


MAPS = {
    "grids": [],
    "coverage": ["--category", "elderly_care"],
    "gaps": ["--category", "clinic"],
    "siting": ["--category", "elderly_care", "--count", "3"],
    "area": ["--grid", None],
}


TITLES = {
    "grids": "网格与小区党组织",
    "coverage": "养老服务 15 分钟生活圈覆盖",
    "gaps": "15分钟生活圈服务盲区",
    "siting": "选址建议 — 3 处新站点",
    "area": "网格 ",
}


@pytest.fixture(scope="module")
def written(demo_db, grid_code, tmp_path_factory) -> dict[str, tuple[Path, int]]:
    """Each map as ``gridmap map`` writes it: its file, and the features the map it built
    puts on screen at first (:func:`_drawn_in`)."""
    import maps.cli

    out = tmp_path_factory.mktemp("maps")
    build = maps.cli.build_map
    built: dict[str, folium.Map] = {}

    def kept(kind: str, *args, **kwargs) -> folium.Map:
        built[kind] = build(kind, *args, **kwargs)
        return built[kind]

    written = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(maps.cli, "build_map", kept)
        for kind, extra in MAPS.items():
            args = [grid_code if a is None else a for a in extra]
            path = out / f"{kind}.html"
            assert main(["--db", demo_db, "map", kind, *args, "--offline", "--out", str(path)]) == 0
            written[kind] = path, _drawn_in(built[kind])
    return written


@pytest.mark.slow
def test_maps_are_small_self_contained_and_labelled(written):
    for kind, (path, _) in written.items():
        page = path.read_text(encoding="utf-8")
        assert path.stat().st_size < 5_000_000, kind
        assert '<script src="http' not in page and 'rel="stylesheet" href="http' not in page, kind
        assert "OpenStreetMap contributors" in page, kind
        assert "L.control.scale({imperial: false" in page, kind
        # the maps of people say what the residents counted hold, as the web map does
        panels = [json.loads(text) for text in re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', page)]
        assert panels, kind
        noted = any('<div class="gm-note">居民 ' in panel for panel in panels)
        assert noted == (kind in ("coverage", "gaps", "siting")), kind


@pytest.mark.slow
def test_map_needs_what_it_maps(demo_db, tmp_path, capsys):
    for args, message in (
        (["coverage"], "needs --category"),
        (["area"], "needs --grid"),
        (["area", "--grid", "nope"], "no grid with code nope"),
        (["grids", "--basemap", "tianditu"], "Tianditu basemap needs a key"),
    ):
        assert main(["--db", demo_db, "map", *args, "--out", str(tmp_path / "x.html")]) == 2
        assert message in capsys.readouterr().err
    assert main(["--db", demo_db, "map", "grids", "--out", str(tmp_path / "x.png")]) == 2
    assert "expected an .html file" in capsys.readouterr().err
    bare = f"sqlite:///{tmp_path / 'bare.sqlite'}"  # a district whose grids are not drawn yet
    assert main(["--db", bare, "db", "init"]) == 0
    assert main(["--db", bare, "map", "grids", "--out", str(tmp_path / "x.html")]) == 2
    assert "no grids to map yet: draw them (`gridmap grids propose" in capsys.readouterr().err


@pytest.mark.slow
def test_each_map_opens_offline_in_chromium(written):
    with browser.playwright() as p:
        chromium = browser.launch(p)
        for kind, (path, features) in written.items():
            page = browser.new_page(chromium, {"width": 1200, "height": 900})
            requested, errors = browser.offline(page, lambda url: url.startswith("file:"))
            page.goto(path.as_uri(), wait_until="load")
            drawn = page.evaluate(COUNT_DRAWN)
            panel = page.inner_text(".gm-panel")
            browser.screenshot(page, f"map_{kind}.png")
            page.close()
            assert TITLES[kind] in panel, (kind, panel)
            assert errors == [], (kind, errors)
            assert requested == [], (kind, requested)
            assert drawn == features > 0, kind  # every feature of the map the command built
        chromium.close()
