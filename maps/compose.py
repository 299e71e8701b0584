"""Composed maps — grids, coverage, gaps, siting, a grid leader's area — and writing them.

Each map has a layer control, a legend, Chinese labels from the data, a scale bar and the
attribution (© OpenStreetMap contributors). Basemaps: ``none`` (our own streets and
buildings drawn as the background; the default, and the only one that works offline),
``osm``, or ``tianditu`` with a key. Tianditu is on the CGCS2000 datum, which agrees with
WGS 84 to within decimetres, so our EPSG:4326 layers sit on it without the offset that
GCJ-02 basemaps need.

:func:`write_html` writes a map; with ``offline=True`` Leaflet (from the npm package in
``node_modules``) is inlined and no other asset is needed, so the file opens with no
internet. Folium's other default assets (jQuery, Bootstrap, Font Awesome) are not used by
these maps and are left out offline.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element, MacroElement, Template

from gridmap.errors import InputError
from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.organisation import current_assignments
from maps import layers as ml
from maps.style import BRANCH_COLOURS, MAP_CSS, MINUTE_CLASSES

BASEMAPS = ("none", "osm", "tianditu")
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
LEAFLET_DIR = Path(__file__).resolve().parents[1] / "node_modules" / "leaflet" / "dist"
TIANDITU_URL = "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk="


class Panel(MacroElement):
    """A box of HTML (legend, table) in a corner of the map."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function () {
    var div = L.DomUtil.create('div', 'gm-panel');
    div.innerHTML = {{ this.html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self, html_text: str, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "Panel"
        self.html = html_text
        self.position = position


class MetricScale(MacroElement):
    """A scale bar in metres only."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class Attribution(MacroElement):
    """Text added to the map's attribution control."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
{% endmacro %}
"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


def _bounds(frames: list[gpd.GeoDataFrame]) -> list[list[float]]:
    boxes = [f.to_crs(ml.DISPLAY_CRS).total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        raise InputError("nothing to map: every layer is empty")
    minx = min(b[0] for b in boxes)
    miny = min(b[1] for b in boxes)
    maxx = max(b[2] for b in boxes)
    maxy = max(b[3] for b in boxes)
    return [[miny, minx], [maxy, maxx]]


def new_map(
    extent: list[gpd.GeoDataFrame],
    *,
    basemap: str = "none",
    tianditu_key: str | None = None,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """An empty map fitted to the ``extent`` frames, with its basemap or our own background."""
    if basemap not in BASEMAPS:
        raise InputError(f"basemap '{basemap}' is not one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_key:
        raise InputError("the Tianditu basemap needs a key (--tianditu-key or GRIDMAP_TIANDITU_KEY)")
    m = folium.Map(tiles=None, prefer_canvas=True, max_zoom=20)
    m.add_child(MetricScale())
    m.fit_bounds(_bounds(extent))
    m.get_root().header.add_child(Element(f"<style>{MAP_CSS}</style>"))
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=20).add_to(m)
    elif basemap == "tianditu":
        folium.TileLayer(
            TIANDITU_URL + tianditu_key,
            attr="天地图 (CGCS2000)",
            name="天地图",
            subdomains="01234567",
            max_zoom=18,
        ).add_to(m)
    else:
        if buildings is not None and len(buildings):
            ml.buildings_layer(buildings).add_to(m)
        if roads is not None and len(roads):
            ml.streets_layer(roads).add_to(m)
    m.add_child(Attribution(f"gridmap · {OSM_ATTRIBUTION}"))
    return m


def _finish(m: folium.Map, title: str, legend: str, counted: str | None = None) -> folium.Map:
    """The map with its title, legend and, under them, what its count of residents holds
    (:meth:`~gridmap.households.HomeOrigins.said_zh`), and the layer switcher."""
    note = f'<div class="gm-note">{ml.as_html(counted)}</div>' if counted else ""
    m.add_child(Panel(f"<h4>{ml.as_html(title)}</h4>{legend}{note}", position="bottomleft"))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _swatches(items: list[tuple[str, str]]) -> str:
    return "<br>".join(
        f'<span class="gm-swatch" style="background:{colour}"></span>{ml.as_html(label)}'
        for label, colour in items
    )


def grid_map(layers: Mapping[str, pd.DataFrame], **options) -> folium.Map:
    """The governance layers: grids by community (code, leader), compounds by party branch,
    party-mass service centres."""
    grids = layers["grids"]
    if not len(grids):
        raise InputError(
            "no grids to map yet: draw them (`gridmap grids propose --community NAME --apply`) or "
            "import them (`gridmap import grids FILE`)"
        )
    m = new_map([grids], roads=layers.get("roads"), buildings=layers.get("buildings"), **options)
    ml.grids_layer(grids, layers.get("communities"), layers.get("assignments")).add_to(m)
    if layers.get("compounds") is not None:
        ml.compounds_layer(layers["compounds"], layers.get("party_orgs")).add_to(m)
    if layers.get("facilities") is not None:
        ml.facilities_layer(layers["facilities"], ["party_service_centre"]).add_to(m)
    legend = _swatches([("有支部", BRANCH_COLOURS["own"]), ("联合支部", BRANCH_COLOURS["joint"]),
                        ("无支部", BRANCH_COLOURS["none"])])  # fmt: skip
    return _finish(m, f"网格与小区党组织 — {len(grids)} 个网格", legend)


def _share_table(summary: pd.DataFrame, category: str, level: int) -> str:
    part = summary[(summary["category"] == category) & (summary["level"] == level)]
    rows = []
    for scope in ("area", "community"):
        for r in part[part["scope"] == scope].itertuples():
            share = "—" if pd.isna(r.share_residents) else f"{100 * r.share_residents:.1f}%"
            rows.append(
                f"<tr><td>{ml.as_html(str(r.name))}</td><td>{share}</td><td>{r.residents - r.residents_covered:,}</td></tr>"
            )
    return "<table><tr><th>范围</th><th>覆盖</th><th>未覆盖人口</th></tr>" + "".join(rows) + "</table>"


def coverage_map(
    homes: gpd.GeoDataFrame,
    summary: pd.DataFrame,
    category: str,
    level: int,
    *,
    facilities: gpd.GeoDataFrame | None = None,
    circles: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    counted: str | None = None,
    **options,
) -> folium.Map:
    """Homes by walking minutes to the nearest ``category`` facility counted at ``level``, with
    the facilities, their circles (off at first), a legend of minute classes and the shares;
    ``counted`` says what the residents counted hold (here and in the other maps of people)."""
    column = f"{category}_{level}"
    if column not in homes.columns:
        raise InputError(f"the coverage results have no {category} at level {level}")
    m = new_map([homes], roads=roads, **options)
    name = CATEGORY_NAMES_ZH.get(category, category)
    ml.minutes_layer(homes, column, f"步行分钟 minutes to {name}").add_to(m)
    if circles is not None and len(circles):
        mine = circles[(circles["category"] == category) & (circles["level"] == level)]
        ml.circles_layer(mine, show=False).add_to(m)
    if facilities is not None:
        ml.facilities_layer(facilities, [category]).add_to(m)
    legend = _swatches([(c.label, c.colour) for c in MINUTE_CLASSES]) + _share_table(summary, category, level)
    return _finish(m, f"{name} {level} 分钟生活圈覆盖 ({category})", legend, counted)


def gap_map(
    gaps: gpd.GeoDataFrame,
    *,
    facilities: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    counted: str | None = None,
    **options,
) -> folium.Map:
    """Service gaps with the residents in each, over the facilities of their categories."""
    m = new_map([gaps if len(gaps) else buildings], roads=roads, buildings=buildings, **options)
    ml.gaps_layer(gaps).add_to(m)
    if facilities is not None and len(gaps):
        ml.facilities_layer(facilities, sorted(set(gaps["category"]))).add_to(m)
    total = int(gaps["residents"].sum()) if len(gaps) else 0
    legend = _swatches([("服务盲区 (未覆盖的住宅)", "#fc8d59")]) + f"<br>{len(gaps)} 处，涉及 {total:,} 人"
    return _finish(m, "15分钟生活圈服务盲区", legend, counted)


def siting_map(
    sites: gpd.GeoDataFrame,
    homes: gpd.GeoDataFrame,
    newly: pd.DataFrame,
    coverage: pd.DataFrame,
    *,
    covered_before: pd.Series,
    facilities: gpd.GeoDataFrame | None = None,
    categories: list[str] | None = None,
    roads: gpd.GeoDataFrame | None = None,
    counted: str | None = None,
    **options,
) -> folium.Map:
    """Before and after: homes already within the circle, newly brought in by the proposed
    sites, and still outside; the sites in order of choice; the existing stations."""
    m = new_map([homes], roads=roads, **options)
    new_ids = set(newly["feature_id"])
    state = pd.Series("outside", index=homes.index)
    state[covered_before.to_numpy()] = "before"
    state[homes["feature_id"].isin(new_ids).to_numpy() & ~covered_before.to_numpy()] = "new"
    colours = {"before": "#1a9850", "new": "#2c7fb8", "outside": "#d73027"}
    labels = {
        "before": "已覆盖 covered before",
        "new": "新覆盖 newly covered",
        "outside": "仍未覆盖 still outside",
    }
    for key in ("before", "new", "outside"):
        part = homes[state == key]
        shown = ml.display_frame(part, ["feature_id", "households", "residents"])
        ml.feature_layer(
            shown,
            labels[key],
            lambda f, c=colours[key]: ml.fill_style(c, 0.7),
            {"feature_id": "楼栋", "households": "户数", "residents": "人口"},
        ).add_to(m)
    if facilities is not None:
        ml.facilities_layer(facilities, categories).add_to(m)
    ml.proposals_layer(sites).add_to(m)
    rows = "".join(
        f"<tr><td>{ml.as_html(str(r.category_zh))} {r.level}分钟</td>"
        f"<td>{100 * r.share_residents_before:.1f}%</td><td>{100 * r.share_residents_after:.1f}%</td></tr>"
        for r in coverage[coverage["scope"] == "area"].itertuples()
    )
    table = f"<table><tr><th></th><th>现状</th><th>建议后</th></tr>{rows}</table>"
    legend = _swatches([(labels[k], colours[k]) for k in labels]) + table
    return _finish(m, f"选址建议 — {len(sites)} 处新站点", legend, counted)


def area_map(layers: Mapping[str, pd.DataFrame], grid_code: str, **options) -> folium.Map:
    """A grid leader's area: the grid, its buildings with households and building leaders,
    its compounds and facilities, and who is responsible."""
    grids = layers["grids"]
    chosen = grids[grids["code"].astype(str) == grid_code]
    if chosen.empty:
        raise InputError(f"there is no grid with code {grid_code}")
    grid_id = chosen.index[0]
    shape = chosen.to_crs(ml.DISPLAY_CRS).geometry.iloc[0]
    m = new_map([chosen], roads=layers.get("roads"), **options)
    ml.grids_layer(chosen, layers.get("communities"), layers.get("assignments")).add_to(m)
    buildings = layers["buildings"]
    inside = buildings[
        buildings.to_crs(ml.DISPLAY_CRS).representative_point().within(shape).to_numpy()
    ].copy()
    inside["building_leader"] = ml.current_holders(
        layers.get("assignments"), "buildings", inside.index, "building_leader"
    )
    shown = ml.display_frame(inside, ["name", "households", "residents", "building_leader"])
    ml.feature_layer(
        shown,
        "楼栋 buildings",
        lambda f: {"color": "#08519c", "weight": 1, "fillColor": "#6baed6", "fillOpacity": 0.6},
        {"name": "楼栋", "households": "户数", "residents": "人口", "building_leader": "楼栋长"},
    ).add_to(m)
    facilities = layers.get("facilities")
    if facilities is not None and len(facilities):
        near = facilities[facilities.to_crs(ml.DISPLAY_CRS).within(shape.buffer(0.005)).to_numpy()]
        ml.facilities_layer(near).add_to(m)
    people = _responsible(layers.get("assignments"), grid_id)
    members = layers.get("members")
    n_members = (
        int(members["building_id"].isin(inside.index).sum()) if members is not None and len(members) else 0
    )
    households = int(pd.to_numeric(inside["households"], errors="coerce").fillna(0).sum())
    legend = f"{people}<br>楼栋 {len(inside)} 栋 · {households:,} 户 · 党员 {n_members} 名"
    return _finish(m, f"网格 {grid_code} {chosen['name'].iloc[0] or ''}", legend)


def _responsible(assignments: pd.DataFrame | None, grid_id: int) -> str:
    """Who answers for the grid now: its grid leader and workers."""
    parts = []
    for role, title in (("grid_leader", "网格长"), ("grid_worker", "网格员")):
        held = current_assignments(assignments, role, "grids")
        names = held.loc[held["target_id"] == grid_id, "person_name"].astype(str)
        if len(names):
            parts.append(f"{title}: {'、'.join(names)}")
    return ml.as_html("；".join(parts))


# --- writing --------------------------------------------------------------------------------

_REMOTE_SCRIPT = re.compile(r'<script src="https?://[^"]+"></script>\s*')
_REMOTE_STYLE = re.compile(r'<link rel="stylesheet" href="https?://[^"]+"\s*/>\s*')


def _leaflet_assets() -> tuple[str, str]:
    js, css = LEAFLET_DIR / "leaflet.js", LEAFLET_DIR / "leaflet.css"
    if not js.exists():
        raise InputError(
            f"offline maps need Leaflet from npm: run 'npm ci' in the project folder ({js} is missing)"
        )
    text = css.read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        data = base64.b64encode((LEAFLET_DIR / "images" / match.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    return js.read_text(encoding="utf-8"), re.sub(r"url\(images/([\w-]+\.png)\)", inline, text)


def render_html(m: folium.Map, *, offline: bool = False) -> str:
    """The map as one HTML page; ``offline`` inlines Leaflet and drops every remote asset."""
    page = m.get_root().render()
    if not offline:
        return page
    js, css = _leaflet_assets()
    page = _REMOTE_SCRIPT.sub("", page)
    page = _REMOTE_STYLE.sub("", page)
    return page.replace("<head>", f"<head>\n<style>{css}</style>\n<script>{js}</script>", 1)


def write_html(m: folium.Map, path: str | Path, *, offline: bool = False) -> Path:
    """Write the map to ``path`` (.html)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out '{path}': expected an .html file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(m, offline=offline), encoding="utf-8")
    return path
