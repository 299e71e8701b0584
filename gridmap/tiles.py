"""Mapbox Vector Tiles on the WebMercatorQuad grid from layers held in memory.

A :class:`TileSource` keeps one layer's features in EPSG:3857 with a spatial index and the
properties to show. :func:`encode_tile` clips the features that touch a tile (with a small
buffer so that lines and outlines join across tiles), moves them onto the tile's 4096-unit
grid, simplifies them to that grid (so that low zooms carry little detail) and encodes
them with ``mapbox-vector-tile``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import numpy as np
import shapely

from gridmap.errors import InputError
from gridmap.values import json_value

WEB_MERCATOR = "EPSG:3857"
EXTENT = 4096  # tile grid units per side
BUFFER = 64  # grid units drawn beyond each edge
MAX_ZOOM = 22
_TMS = morecantile.tms.get("WebMercatorQuad")


def check_tile(z: int, x: int, y: int) -> None:
    """InputError unless z/x/y names a tile of the WebMercatorQuad grid (zoom 0…MAX_ZOOM)."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise InputError(
            f"tile {z}/{x}/{y} is not on the WebMercatorQuad grid (zoom 0…{MAX_ZOOM}, x and y 0…2^zoom-1)"
        )


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's (minx, miny, maxx, maxy) in EPSG:3857 metres; InputError outside the grid."""
    check_tile(z, x, y)
    b = _TMS.xy_bounds(morecantile.Tile(x, y, z))
    return b.left, b.bottom, b.right, b.top


def lonlat_bounds(frame: gpd.GeoDataFrame) -> list[float] | None:
    """[west, south, east, north] in degrees of a frame in EPSG:4326, for TileJSON."""
    if len(frame) == 0:
        return None
    return [round(float(v), 6) for v in frame.total_bounds]


def _plain(value: Any) -> Any:
    value = json_value(value)
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


@dataclass
class TileSource:
    """One layer ready to tile: geometries in EPSG:3857, their ids and display properties."""

    name: str
    geoms: np.ndarray
    ids: np.ndarray
    properties: list[dict[str, Any]]
    tree: shapely.STRtree

    @classmethod
    def from_frame(cls, name: str, frame: gpd.GeoDataFrame, columns: Sequence[str]) -> TileSource:
        """``frame`` indexed by feature id (any CRS); ``columns`` the properties to carry."""
        geoms = np.asarray(frame.geometry.to_crs(WEB_MERCATOR).values) if len(frame) else np.array([])
        present = [c for c in columns if c in frame.columns]
        values = {c: frame[c].tolist() for c in present}
        ids = frame.index.to_numpy(dtype=np.int64) if len(frame) else np.array([], dtype=np.int64)
        props = []
        for i, fid in enumerate(ids.tolist()):
            row = {"id": fid}
            for c in present:
                value = _plain(values[c][i])
                if value is not None:
                    row[c] = value
            props.append(row)
        return cls(name, geoms, ids, props, shapely.STRtree(geoms))

    @property
    def fields(self) -> dict[str, str]:
        """TileJSON's field list: property name → type."""
        kinds: dict[str, str] = {}
        for row in self.properties:
            for key, value in row.items():
                if key not in kinds:
                    kinds[key] = (
                        "Number"
                        if isinstance(value, int | float) and not isinstance(value, bool)
                        else ("Boolean" if isinstance(value, bool) else "String")
                    )
        return kinds

    def features(
        self, bounds: tuple[float, float, float, float], keep: Iterable[int] | None = None
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """The geometries (clipped to ``bounds`` in EPSG:3857) and properties of the features
        touching ``bounds``; with ``keep``, only the features whose id it holds."""
        if len(self.geoms) == 0:
            return np.array([]), []
        hits = np.sort(self.tree.query(shapely.box(*bounds)))
        if keep is not None:
            allowed = np.fromiter(keep, dtype=np.int64)
            hits = hits[np.isin(self.ids[hits], allowed)]
        return shapely.clip_by_rect(self.geoms[hits], *bounds), [self.properties[i] for i in hits]


def _to_grid(geoms: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Geometries in EPSG:3857 moved onto the tile grid (x right, y down), snapped to whole
    units and simplified to them; empty where nothing is left."""
    minx, miny, maxx, maxy = bounds
    sx = EXTENT / (maxx - minx)
    sy = EXTENT / (maxy - miny)

    def affine(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(((coords[:, 0] - minx) * sx, (maxy - coords[:, 1]) * sy))

    moved = shapely.transform(geoms, affine)
    moved = shapely.simplify(moved, 1.0, preserve_topology=True)
    try:
        return np.asarray(shapely.set_precision(moved, 1.0, mode="valid_output"))
    except shapely.errors.GEOSException:  # an outline GEOS cannot snap as it is: one at a time
        return np.array([_snapped(g) for g in moved], dtype=object)


def _snapped(geom: shapely.Geometry) -> shapely.Geometry:
    """One geometry on the tile grid, made valid first where snapping it as it is fails; of a
    polygon only its polygonal parts are kept."""
    try:
        return shapely.set_precision(geom, 1.0, mode="valid_output")
    except shapely.errors.GEOSException:
        fixed = shapely.set_precision(shapely.make_valid(geom), 1.0, mode="pointwise")
        fixed = shapely.make_valid(fixed)
        if shapely.get_type_id(geom) in (3, 6):  # polygons stay polygons
            parts = shapely.get_parts(fixed)
            fixed = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
        return fixed


def encode_tile(layers: Sequence[tuple[TileSource, Iterable[int] | None]], z: int, x: int, y: int) -> bytes:
    """One tile with a layer per source (each with an optional id filter), as MVT bytes.

    Layers with no features in the tile are left out; an empty tile is valid (0 bytes)."""
    bounds = tile_bounds(z, x, y)
    pad = (bounds[2] - bounds[0]) * BUFFER / EXTENT
    clip = (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
    out = []
    for source, keep in layers:
        geoms, props = source.features(clip, keep)
        if len(geoms) == 0:
            continue
        gridded = _to_grid(geoms, bounds)
        features = [
            {"geometry": g, "properties": p}
            for g, p in zip(gridded, props, strict=True)
            if g is not None and not g.is_empty
        ]
        if features:
            out.append({"name": source.name, "features": features})
    if not out:
        return b""
    options = {"extents": EXTENT, "y_coord_down": True, "check_winding_order": True}
    return bytes(mapbox_vector_tile.encode(out, default_options=options))
