"""Compounds and buildings of the demo district: kinds, generated blocks, household estimates.

Most compounds in the OSM extract are mapped without building footprints. Where a compound
has none, residential slabs are generated inside it (marked ``generated``) in the layout of its
kind: low lanes for old-town compounds, six-storey walk-ups for staff dormitories, mid-rise
for resettlement housing and high-rise towers for commercial housing. Households and residents
are estimated from footprint × levels (marked ``estimated``). All work here is in metres, in
the metric CRS the caller passes frames in.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.households import ESTIMATE, RESIDENTIAL_USES
from gridmap.model import CompoundKind

FLOOR_AREA_PER_HOUSEHOLD_M2 = 90.0  # gross floor area per dwelling
USABLE_SHARE = 0.8  # of gross floor area, the rest is stairs, corridors, shops
RESIDENTS_PER_HOUSEHOLD = 2.6  # Chengdu's average household size is about 2.5–2.7

# kind: (levels low, levels high, slab length m, slab depth m, gap between rows as × height)
_LAYOUT = {
    CompoundKind.OLD_TOWN: (2, 4, 24.0, 12.0, 0.8),
    CompoundKind.STAFF_DORMITORY: (6, 7, 48.0, 12.0, 1.1),
    CompoundKind.RESETTLEMENT: (11, 18, 54.0, 14.0, 0.9),
    CompoundKind.COMMERCIAL: (18, 32, 36.0, 18.0, 0.7),
    CompoundKind.OTHER: (6, 9, 48.0, 13.0, 1.0),
}
_KIND_WORDS = (
    (("宿舍", "职工", "新村", "单位", "局", "厂"), CompoundKind.STAFF_DORMITORY),
    (("安置", "还建", "拆迁"), CompoundKind.RESETTLEMENT),
    (("街", "巷", "院", "里"), CompoundKind.OLD_TOWN),
    (("花园", "苑", "城", "湾", "府", "庭", "豪", "广场", "公寓", "家园", "国际"), CompoundKind.COMMERCIAL),
)
_PROPERTY_COMPANIES = ("锦华物业", "蓉城物业", "天府物业", "万家物业", "和美物业", "安居物业")


def compound_kind(name: str | None, rng: np.random.Generator) -> CompoundKind:
    """The kind a compound's name suggests; unnamed ones are drawn at the demo's mix."""
    for words, kind in _KIND_WORDS:
        if name and any(w in name for w in words):
            return kind
    kinds = list(_LAYOUT)
    return kinds[rng.choice(len(kinds), p=[0.25, 0.25, 0.15, 0.3, 0.05])]


def describe_compounds(compounds: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Add kind, property company, owners' committee and "red" flags to OSM compounds."""
    out = compounds.copy()
    out["kind"] = [compound_kind(n if isinstance(n, str) else None, rng).value for n in out["name"]]
    managed = rng.random(len(out)) < np.where(out["kind"] == CompoundKind.OLD_TOWN, 0.3, 0.9)
    out["property_company"] = [
        _PROPERTY_COMPANIES[i] if m else None
        for i, m in zip(rng.integers(0, len(_PROPERTY_COMPANIES), len(out)), managed, strict=True)
    ]
    out["owners_committee"] = managed & (rng.random(len(out)) < 0.7)
    out["red_property"] = managed & (rng.random(len(out)) < 0.4)
    out["red_owners_committee"] = out["owners_committee"] & (rng.random(len(out)) < 0.5)
    out["name"] = [
        n if isinstance(n, str) and n not in ("住宅区", "小区") else f"无名小区{i + 1}"
        for i, n in enumerate(out["name"])
    ]
    return out


def _slabs(
    area: shapely.Geometry, kind: CompoundKind, rng: np.random.Generator
) -> list[tuple[shapely.Geometry, int]]:
    """South-facing slabs in rows that fit inside ``area`` (metres); (footprint, levels)."""
    low, high, length, depth, gap_factor = _LAYOUT[kind]
    levels = int(rng.integers(low, high + 1))
    height = levels * 3.0
    row_step = depth + max(8.0, gap_factor * height)
    col_step = length + 8.0
    inner = area.buffer(-6.0)
    if inner.is_empty:
        return []
    minx, miny, maxx, maxy = inner.bounds
    out = []
    y = miny
    while y + depth <= maxy:
        x = minx + (rng.random() * 6.0)
        while x + length <= maxx:
            slab = shapely.box(x, y, x + length, y + depth)
            if inner.contains(slab):
                out.append((slab, levels))
            x += col_step
        y += row_step
    if not out:
        point = area.representative_point()
        side = min(20.0, max(6.0, np.sqrt(area.area) / 3))
        footprint = shapely.box(
            point.x - side / 2, point.y - side / 2, point.x + side / 2, point.y + side / 2
        )
        footprint = footprint.intersection(area)
        if not footprint.is_empty and footprint.area > 20:
            out.append((footprint, levels))
    return out


def generate_buildings(
    compounds_m: gpd.GeoDataFrame, buildings_m: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Generated residential blocks for the compounds with no mapped building.

    ``compounds_m`` carries ``id`` and ``kind``; ``buildings_m`` carries ``compound_id``;
    both in a metric CRS. Returns the new buildings in that CRS.
    """
    has_buildings = set(buildings_m["compound_id"].dropna().astype(int))
    rows = []
    for cid, kind, geom in zip(compounds_m["id"], compounds_m["kind"], compounds_m.geometry, strict=True):
        if int(cid) in has_buildings:
            continue
        for footprint, levels in _slabs(geom, CompoundKind(kind), rng):
            rows.append(
                {
                    "compound_id": int(cid),
                    "use": "residential",
                    "levels": levels,
                    "generated": True,
                    "source": "generated",
                    "geometry": shapely.MultiPolygon([footprint])
                    if footprint.geom_type == "Polygon"
                    else footprint,
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=compounds_m.crs)


def estimate_households(buildings_m: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Fill ``levels``, ``households`` and ``residents`` where unknown; mark them estimated.

    A building is residential when its use says so, or when it stands in a compound and its
    use is unspecific (``yes``). Others get no households.
    """
    out = buildings_m.copy()
    use = out["use"].fillna("yes")
    residential = use.isin(RESIDENTIAL_USES) | ((use == "yes") & out["compound_id"].notna())
    residential |= out.get("generated", pd.Series(False, index=out.index)).fillna(False).astype(bool)
    levels = pd.to_numeric(out["levels"], errors="coerce")
    drawn = pd.Series(rng.integers(5, 8, len(out)), index=out.index)
    levels_from = out.get("levels_from", pd.Series(None, index=out.index, dtype=object))
    levels_from = levels_from.where(levels.notna(), "drawn for the demo (5–7)")
    generated = out.get("generated", pd.Series(False, index=out.index)).fillna(False).astype(bool)
    out["levels_from"] = levels_from.where(~generated, "laid out for the demo")
    levels = levels.fillna(drawn).astype(int)
    floor_area = out.geometry.area * levels * USABLE_SHARE
    households = np.where(residential, np.maximum(1, np.round(floor_area / FLOOR_AREA_PER_HOUSEHOLD_M2)), 0)
    size = rng.normal(RESIDENTS_PER_HOUSEHOLD, 0.15, len(out)).clip(2.0, 3.2)
    out["levels"] = levels
    out["households"] = households.astype(int)
    out["residents"] = np.round(households * size).astype(int)
    out["estimated"] = True  # households and residents are estimates even where levels are mapped
    out["households_from"] = ESTIMATE
    out["floor_area_m2"] = (out.geometry.area * levels).round(1)
    out["use"] = np.where(residential & (use == "yes"), "residential", use)
    out["generated"] = out.get("generated", pd.Series(False, index=out.index)).fillna(False).astype(bool)
    return out
