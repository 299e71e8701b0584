"""Map layer builders: GeoDataFrames in (any CRS), folium feature groups out.

Every builder reprojects to EPSG:4326, simplifies shapes for display (about a metre), rounds
coordinates to 6 decimals (about 0.1 m), keeps only the properties its tooltip shows, and
returns a :class:`folium.FeatureGroup` named in Chinese and English for the layer control.
Writing HTML is the caller's job (:mod:`maps.compose`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.organisation import current_assignments
from gridmap.orgcatalogue import org_catalogue
from maps.style import (
    BRANCH_COLOURS,
    CATEGORY_COLOURS,
    CATEGORY_MARKS,
    MINUTE_CLASSES,
    community_colour,
    minute_class,
)

DISPLAY_CRS = "EPSG:4326"
SIMPLIFY_DEG = 1e-5  # about 1 m
DECIMALS = 6


def display_frame(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:4326 with only ``columns``, simplified and rounded for display."""
    out = frame.to_crs(DISPLAY_CRS) if frame.crs is not None else frame.set_crs(DISPLAY_CRS)
    keep = [c for c in columns if c in out.columns]
    geoms = shapely.simplify(out.geometry.values, SIMPLIFY_DEG, preserve_topology=True)
    geoms = shapely.set_precision(geoms, 10**-DECIMALS)
    shown = gpd.GeoDataFrame(out[keep].copy(), geometry=np.asarray(geoms), crs=DISPLAY_CRS)
    shown = shown[~shapely.is_empty(shown.geometry.values)]
    for column in keep:  # JSON-friendly values, text as it may stand in HTML
        values = shown[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            shown[column] = values.astype(str)
        else:
            shown[column] = (
                values.astype(object)
                .where(values.notna(), "")
                .map(lambda v: as_html(v) if isinstance(v, str) else v)
            )
    return shown


def as_html(text: str) -> str:
    """``text`` as it may stand in a map's HTML: a name is never markup or script. Tooltips are
    set as HTML, a marker's inside a JavaScript template string (hence its backquote and
    dollar sign too); a map is a file opened where no content policy guards it."""
    return html.escape(text, quote=True).replace("`", "&#96;").replace("$", "&#36;")


def feature_layer(
    frame: gpd.GeoDataFrame,
    name: str,
    style: Callable[[dict], dict],
    fields: Mapping[str, str],
    show: bool = True,
) -> folium.FeatureGroup:
    """A named layer of ``frame``'s shapes, styled by ``style``, with a tooltip of ``fields``
    (column → label)."""
    group = folium.FeatureGroup(name=name, show=show)
    if len(frame):
        folium.GeoJson(
            frame.to_json(drop_id=True),
            style_function=style,
            tooltip=folium.GeoJsonTooltip(fields=list(fields), aliases=list(fields.values()), sticky=True),
        ).add_to(group)
    return group


def _text(values: pd.Series) -> pd.Series:
    """Values as text, missing ones as ''."""
    return values.map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))


def fill_style(colour: str, opacity: float) -> dict:
    """A polygon style filled and outlined in one colour."""
    return {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": opacity}


def grids_layer(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None = None,
    leaders: pd.DataFrame | None = None,
) -> folium.FeatureGroup:
    """Grids coloured by community, with code, name, community, households and grid leader."""
    g = grids.copy()
    names = communities["name"] if communities is not None and "name" in communities.columns else pd.Series()
    g["community"] = _text(g.get("community_id", pd.Series(index=g.index)).map(names))
    g["leader"] = current_holders(leaders, "grids", g.index)
    g["colour"] = [community_colour(c) for c in g.get("community_id", pd.Series(index=g.index))]
    shown = display_frame(g, ["code", "name", "community", "households", "leader", "colour"])
    return feature_layer(
        shown,
        "网格 grids",
        lambda f: {
            "color": "#333333",
            "weight": 1,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.35,
        },
        {"code": "网格编码", "name": "名称", "community": "社区", "households": "户数", "leader": "网格长"},
    )


def current_holders(
    assignments: pd.DataFrame | None, layer: str, ids: pd.Index, role: str = "grid_leader"
) -> list[str]:
    """Names of the people currently holding ``role`` for each feature ``ids`` of ``layer``."""
    current = current_assignments(assignments, role, layer)
    names = current.groupby("target_id")["person_name"].agg(lambda s: "、".join(s.astype(str)))
    return [names.get(i, "") for i in ids]


def compounds_layer(
    compounds: gpd.GeoDataFrame, party_orgs: pd.DataFrame | None = None
) -> folium.FeatureGroup:
    """Compounds by party branch: a branch of its own, a branch serving several compounds, or
    none; with how the branch was formed (单独, 联合, 兼合式, 临时: the catalogue's forms)."""
    c = compounds.copy()
    branch = c.get("branch_id", pd.Series(index=c.index, dtype="float"))
    shared = branch.map(branch.value_counts()).fillna(0) > 1
    joint = shared
    if party_orgs is not None and "joint" in party_orgs.columns:
        joint = shared | branch.map(party_orgs["joint"]).fillna(False).astype(bool)
    status = np.where(branch.isna(), "none", np.where(joint, "joint", "own"))
    c["branch"] = pd.Series(status, index=c.index).map(
        {"own": "本小区支部", "joint": "多小区共一支部", "none": "无支部"}
    )
    forms = org_catalogue().branch_forms
    if party_orgs is not None and "form" in party_orgs.columns:
        c["branch_form"] = _text(branch.map(party_orgs["form"]).map(forms))
    else:
        c["branch_form"] = ""
    c["status"] = status
    org_names = party_orgs["name"] if party_orgs is not None and "name" in party_orgs.columns else pd.Series()
    c["branch_name"] = _text(branch.map(org_names))
    shown = display_frame(c, ["name", "branch", "branch_name", "branch_form", "status"])
    return feature_layer(
        shown,
        "小区 compounds (支部)",
        lambda f: {"color": BRANCH_COLOURS[f["properties"]["status"]], "weight": 2, "fillOpacity": 0.15},
        {"name": "小区", "branch": "支部情况", "branch_name": "支部", "branch_form": "组建方式"},
    )


def minutes_layer(homes: gpd.GeoDataFrame, column: str, title: str) -> folium.FeatureGroup:
    """Buildings coloured by walking minutes in ``column`` (NaN: no facility reachable)."""
    h = homes.copy()
    minutes = pd.to_numeric(h[column], errors="coerce")
    h["minutes"] = minutes.round(1)
    h["class"] = [minute_class(m) for m in minutes]
    shown = display_frame(h, ["feature_id", "households", "residents", "minutes", "class"])
    colours = {c.key: c.colour for c in MINUTE_CLASSES}
    return feature_layer(
        shown,
        title,
        lambda f: fill_style(colours[f["properties"]["class"]], 0.75),
        {"feature_id": "楼栋", "households": "户数", "residents": "人口", "minutes": "步行分钟"},
    )


def facilities_layer(
    facilities: gpd.GeoDataFrame, categories: Sequence[str] | None = None
) -> folium.FeatureGroup:
    """Facilities as marks per category (a Chinese character in a coloured disc)."""
    f = facilities.copy()
    cats = (
        f["categories"]
        .fillna("")
        .astype(str)
        .str.split(",")
        .map(lambda cs: [c.strip() for c in cs if c.strip()])
    )
    if categories:
        wanted = set(categories)
        cats = cats.map(lambda cs: [c for c in cs if c in wanted])
    f["category"] = cats.map(lambda cs: cs[0] if cs else "")
    f = f[f["category"] != ""]
    f["category_zh"] = cats[f.index].map(lambda cs: "、".join(CATEGORY_NAMES_ZH.get(c, c) for c in cs))
    shown = display_frame(f, ["name", "category", "category_zh"])
    group = folium.FeatureGroup(name="设施 facilities")
    for row in shown.itertuples():
        colour = CATEGORY_COLOURS.get(row.category, "#555555")
        mark = CATEGORY_MARKS.get(row.category, "·")
        html = f'<div class="gm-mark" style="background:{colour}">{mark}</div>'
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            icon=folium.DivIcon(html=html, icon_size=(20, 20), icon_anchor=(10, 10), class_name="gm-icon"),
            tooltip=f"{row.name or ''} ({row.category_zh})",
        ).add_to(group)
    return group


def circles_layer(circles: gpd.GeoDataFrame, show: bool = True) -> folium.FeatureGroup:
    """Service circles: the area each facility serves within the walk."""
    shown = display_frame(circles, ["facility_id", "category_zh", "level", "limit_m"])
    return feature_layer(
        shown,
        "服务圈 service circles",
        lambda f: {"color": "#2b8cbe", "weight": 1, "fillColor": "#a6bddb", "fillOpacity": 0.15},
        {"facility_id": "设施", "category_zh": "类别", "level": "分钟", "limit_m": "步行米数"},
        show=show,
    )


def gaps_layer(gaps: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Service gaps with their homes, households and residents."""
    shown = display_frame(gaps, ["category_zh", "level", "homes", "households", "residents"])
    return feature_layer(
        shown,
        "服务盲区 gaps",
        lambda f: {"color": "#d7301f", "weight": 2, "fillColor": "#fc8d59", "fillOpacity": 0.45},
        {
            "category_zh": "类别",
            "level": "分钟",
            "homes": "楼栋",
            "households": "户数",
            "residents": "未覆盖人口",
        },
    )


def proposals_layer(sites: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Proposed sites, numbered in order of choice, with what each newly brings into the circle."""
    shown = display_frame(
        sites,
        [
            "rank",
            "source",
            "name",
            "buildings_new",
            "households_new",
            "residents_new",
            "nearest_station_name",
            "nearest_station_m",
        ],
    )
    group = folium.FeatureGroup(name="选址建议 proposed sites")
    for row in shown.itertuples():
        tip = (
            f"#{row.rank} {row.name or row.source}: 新覆盖 {row.buildings_new} 栋、{row.households_new} 户、"
            f"{row.residents_new} 人；最近现有站点 {row.nearest_station_name or '—'} {_metres(row.nearest_station_m)}"
        )
        html = f'<div class="gm-site">{row.rank}</div>'
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            icon=folium.DivIcon(html=html, icon_size=(26, 26), icon_anchor=(13, 13), class_name="gm-icon"),
            tooltip=tip,
        ).add_to(group)
    return group


def _metres(value: Any) -> str:
    return f"{float(value):,.0f} 米" if value not in ("", None) and pd.notna(value) else ""


def streets_layer(roads: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Our own streets as a light background (for maps without a tile basemap)."""
    shown = display_frame(roads, ["name"])
    group = folium.FeatureGroup(name="街巷 streets", control=False)
    if len(shown):
        folium.GeoJson(
            shown.to_json(drop_id=True),
            style_function=lambda f: {"color": "#9a9a9a", "weight": 1},
            interactive=False,
        ).add_to(group)
    return group


def buildings_layer(buildings: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Building footprints as a light background."""
    shown = display_frame(buildings, [])
    group = folium.FeatureGroup(name="建筑 buildings", control=False)
    if len(shown):
        folium.GeoJson(
            shown.to_json(drop_id=True),
            style_function=lambda f: {
                "color": "#c8c8c8",
                "weight": 0.5,
                "fillColor": "#e3e3e3",
                "fillOpacity": 0.6,
            },
            interactive=False,
        ).add_to(group)
    return group
