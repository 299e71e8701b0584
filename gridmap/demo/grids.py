"""Work grids of the demo district: each community cut into grids of balanced households.

A piece with H households is bisected while H exceeds the maximum, aiming each cut at a
split into ceil(H / max) balanced grids, mostly across the piece's longer side; each cut is placed in a gap between buildings (so that no
building is split) and, where it can, along a compound's edge rather than through it, at the
position that best balances households. Grids tile their community exactly: no overlaps, no
holes, every grid in one community. Geometry in the caller's metric CRS.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from gridmap.gridcode import grid_code, reading_order

_COMPOUND_PENALTY = 0.25  # imbalance (share of households) worth one compound cut


def _candidates(lo: np.ndarray, hi: np.ndarray, start: float, stop: float) -> np.ndarray:
    """Cut positions in the gaps between the intervals [lo, hi] (building extents)."""
    if len(lo) == 0:
        return np.array([(start + stop) / 2])
    order = np.argsort(lo)
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    gaps = (hi[:-1] + lo[1:]) / 2
    gaps = gaps[lo[1:] > hi[:-1]]
    return gaps[(gaps > start) & (gaps < stop)]


def _best_cut(
    axis: int,
    bounds: tuple[float, float, float, float],
    centres: np.ndarray,
    extents: np.ndarray,
    households: np.ndarray,
    compound_extents: np.ndarray,
    compound_households: np.ndarray,
    share: float,
    max_households: int,
) -> tuple[float, float]:
    """(position, cost) of the best cut along ``axis`` (0: x, 1: y)."""
    start, stop = bounds[axis], bounds[axis + 2]
    cands = _candidates(extents[:, axis], extents[:, axis + 2], start, stop)
    if len(cands) == 0:
        cands = np.quantile(centres[:, axis], [share]) if len(centres) else np.array([(start + stop) / 2])
    total = households.sum()
    order = np.argsort(centres[:, axis])
    cum = np.concatenate([[0], np.cumsum(households[order])])
    below = cum[np.searchsorted(centres[order, axis], cands)]
    imbalance = np.abs(below - share * total) / max(total, 1)
    crossing = np.zeros(len(cands))
    small = compound_households <= max_households
    if len(compound_extents):
        lo, hi = compound_extents[small, axis], compound_extents[small, axis + 2]
        crossing = ((cands[:, None] > lo[None, :]) & (cands[:, None] < hi[None, :])).sum(axis=1)
    cost = imbalance + _COMPOUND_PENALTY * crossing
    best = int(np.argmin(cost))
    return float(cands[best]), float(cost[best])


def _split(area, idx: np.ndarray, ctx: dict, depth: int = 0) -> list[tuple[shapely.Geometry, np.ndarray]]:
    """Bisect ``area`` until each piece holds at most ``ctx["max"]`` households (or cannot be cut)."""
    households = ctx["households"][idx]
    parts = math.ceil(households.sum() / ctx["max"])
    if parts <= 1 or len(idx) < 2 or depth > 12:
        return [(area, idx)]
    share = (parts // 2) / parts
    bounds = area.bounds
    centres, extents = ctx["centres"][idx], ctx["extents"][idx]
    cuts = [
        (
            *_best_cut(
                axis, bounds, centres, extents, households, ctx["c_ext"], ctx["c_hh"], share, ctx["max"]
            ),
            axis,
        )
        for axis in (0, 1)
    ]
    # prefer cutting across the longer side; the other only when clearly better
    longer = 0 if bounds[2] - bounds[0] >= bounds[3] - bounds[1] else 1
    pos, _, axis = min(cuts, key=lambda c: c[1] + (0 if c[2] == longer else 0.05))
    low = centres[:, axis] < pos
    if low.all() or not low.any():
        return [(area, idx)]
    minx, miny, maxx, maxy = bounds
    if axis == 0:
        low_box, high_box = (
            shapely.box(minx - 1, miny - 1, pos, maxy + 1),
            shapely.box(pos, miny - 1, maxx + 1, maxy + 1),
        )
    else:
        low_box, high_box = (
            shapely.box(minx - 1, miny - 1, maxx + 1, pos),
            shapely.box(minx - 1, pos, maxx + 1, maxy + 1),
        )
    return _split(area.intersection(low_box), idx[low], ctx, depth + 1) + _split(
        area.intersection(high_box), idx[~low], ctx, depth + 1
    )


def draw_grids(
    communities_m: gpd.GeoDataFrame,
    buildings_m: gpd.GeoDataFrame,
    compounds_m: gpd.GeoDataFrame,
    *,
    max_households: int,
) -> gpd.GeoDataFrame:
    """Grids for every community; ``communities_m`` has ``id`` and ``code``, ``buildings_m``
    has ``households``, ``compounds_m`` has ``id``. Returns code, community_id, households."""
    rows = []
    b_centres = np.column_stack([buildings_m.geometry.centroid.x, buildings_m.geometry.centroid.y])
    b_ext = np.asarray(buildings_m.geometry.bounds.to_numpy())
    b_hh = buildings_m["households"].to_numpy().astype(float)
    c_hh = (
        buildings_m.groupby("compound_id")["households"].sum().reindex(compounds_m["id"]).fillna(0).to_numpy()
    )
    for cid, code, geom in zip(
        communities_m["id"], communities_m["code"], communities_m.geometry, strict=True
    ):
        inside = np.flatnonzero(shapely.contains_xy(geom, b_centres[:, 0], b_centres[:, 1]))
        near = compounds_m.intersects(geom).to_numpy()
        ctx = {
            "centres": b_centres,
            "extents": b_ext,
            "households": b_hh,
            "c_ext": compounds_m.geometry.bounds.to_numpy()[near],
            "c_hh": c_hh[near],
            "max": max_households,
        }
        pieces = _split(geom, inside, ctx)
        cells = [(g, ix) for g, ix in pieces if not g.is_empty]
        cx = np.array([g.centroid.x for g, _ in cells])
        cy = np.array([g.centroid.y for g, _ in cells])
        row_height = math.sqrt(geom.area / max(len(cells), 1))
        for seq, k in enumerate(reading_order(cx, cy, row_height=row_height), start=1):
            g, ix = cells[k]
            polys = [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"]
            rows.append(
                {
                    "code": grid_code(code, seq),
                    "community_id": int(cid),
                    "households": int(b_hh[ix].sum()),
                    "geometry": shapely.MultiPolygon(polys),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=communities_m.crs)
