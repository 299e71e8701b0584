"""Cutting a run into parts: by district, or by square tiles where there are no districts.

Every home and facility belongs to exactly one part, decided by its point in the run's
metric CRS: the first part whose area holds it. Where districts leave some of the area
uncovered, square tiles (keyed ``outside …``) take what lies outside every district. Each
part reads its layers within a halo as wide as the longest walk counted plus the snap
distance, so that every walk that can count stays inside.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gridmap.crs import STORAGE_CRS, project_shapes
from gridmap.errors import InputError
from gridmap.geometry import containing

BBox = tuple[float, float, float, float]  # west, south, east, north
OUTSIDE = "outside"  # the key of the tiles that take what lies outside every district
DEFAULT_TILE_M = 5000.0  # the side of a square part (metres) where there are no districts


@dataclass(frozen=True)
class Partition:
    """One part of a run: its ``key`` (a district code, or a tile's column and row), a name
    to show, and the box it reads (EPSG:4326, halo included)."""

    key: str
    name: str
    reads: BBox


@dataclass(frozen=True)
class Partitioning:
    """How a run is cut: the parts' areas (EPSG:4326, in ``parts`` order) and the metric CRS
    every part measures in."""

    parts: tuple[Partition, ...]
    areas: tuple[shapely.Geometry, ...]
    crs: CRS
    halo_m: float

    @cached_property
    def metric_areas(self) -> np.ndarray:
        """The parts' areas in the run's metric CRS, projected once."""
        return project_shapes(np.asarray(self.areas, dtype=object), STORAGE_CRS, self.crs)

    def owners(self, points: np.ndarray) -> np.ndarray:
        """The position in ``parts`` of the part each point (metric CRS) belongs to: the
        first whose area holds it (-1: none)."""
        return containing(np.asarray(points, dtype=object), self.metric_areas)

    def alone(self, index: int, cell_m: float) -> Callable[[np.ndarray], np.ndarray]:
        """For square cells of ``cell_m`` metres, as (column, row) counted from the CRS's
        origin: whether the cell and the eight around it lie inside part ``index``'s area and
        touch no area of the parts before it (which own what they share with it), so that
        no home of another part lies in or beside them."""
        area = self.metric_areas[index]
        shapely.prepare(area)
        tree = shapely.STRtree(self.metric_areas[:index])

        def test(cells: np.ndarray) -> np.ndarray:
            key = (cells[:, 0] << 32) + cells[:, 1]  # one number a cell: columns and rows are far below 2³¹
            _, first, back = np.unique(key, return_index=True, return_inverse=True)
            unique = cells[first]
            low, high = (unique - 1) * cell_m, (unique + 2) * cell_m
            boxes = shapely.box(low[:, 0], low[:, 1], high[:, 0], high[:, 1])
            inside = shapely.contains_properly(area, boxes)
            inside[tree.query(boxes, predicate="intersects")[0]] = False
            result: np.ndarray = inside[back.ravel()]
            return result

        return test

    def digest(self) -> str:
        """A fingerprint of the cut (areas, halo and CRS): parts kept from an earlier run are
        reused only under the same cut. Worked out once per cut, not once per part."""
        return self._digest

    @cached_property
    def _digest(self) -> str:
        h = hashlib.sha256(self.crs.to_string().encode())
        h.update(f"{self.halo_m:.6f}".encode())
        for part, area in zip(self.parts, self.areas, strict=True):
            h.update(part.key.encode())
            h.update(shapely.to_wkb(area))
        return h.hexdigest()[:16]


def by_district(
    districts: gpd.GeoDataFrame, extent: BBox, crs: CRS, halo_m: float, tile_m: float = DEFAULT_TILE_M
) -> Partitioning:
    """One part per district (``code``, ``name``; EPSG:4326), in id order; where the
    districts leave some of ``extent`` (the box of the homes and facilities, EPSG:4326)
    uncovered, square tiles of ``tile_m`` metres over what they leave, after them."""
    if len(districts) == 0:
        raise InputError("there are no districts to cut the run by; cut it by tiles instead")
    districts = districts.sort_index()
    areas = list(districts.geometry.to_numpy())
    parts = [
        Partition(str(code), str(name), reads_of(area, crs, halo_m))
        for code, name, area in zip(districts["code"], districts["name"], areas, strict=True)
    ]
    metric = project_shapes(np.asarray([*areas, shapely.box(*extent)], dtype=object), STORAGE_CRS, crs)
    rest = shapely.difference(metric[-1], shapely.union_all(metric[:-1]))
    if not rest.is_empty:
        tiles = by_tiles(extent, crs, tile_m, halo_m)
        squares = project_shapes(np.asarray(tiles.areas, dtype=object), STORAGE_CRS, crs)
        for part, area, square in zip(tiles.parts, tiles.areas, squares, strict=True):
            if shapely.intersects(square, rest):
                parts.append(
                    Partition(f"{OUTSIDE} {part.key}", f"outside every district, {part.name}", part.reads)
                )
                areas.append(area)
    return Partitioning(tuple(parts), tuple(areas), crs, halo_m)


def by_tiles(extent: BBox, crs: CRS, size_m: float, halo_m: float) -> Partitioning:
    """Square tiles of ``size_m`` metres in ``crs`` over ``extent`` (EPSG:4326), keyed
    ``column-row``; each tile's area is its square's corners taken to EPSG:4326, so that
    neighbouring tiles share their edges exactly."""
    if size_m <= 0:
        raise InputError(f"tile size {size_m} m must be positive")
    box = project_shapes(np.array([shapely.box(*extent)], dtype=object), STORAGE_CRS, crs)[0]
    x0, y0, x1, y1 = box.bounds
    columns, rows = max(1, math.ceil((x1 - x0) / size_m)), max(1, math.ceil((y1 - y0) / size_m))
    squares = [
        shapely.box(x0 + i * size_m, y0 + j * size_m, x0 + (i + 1) * size_m, y0 + (j + 1) * size_m)
        for j in range(rows)
        for i in range(columns)
    ]
    keys = [f"{i}-{j}" for j in range(rows) for i in range(columns)]
    areas = tuple(project_shapes(np.asarray(squares, dtype=object), crs, STORAGE_CRS))
    parts = tuple(
        Partition(key, f"tile {key}", reads_of(area, crs, halo_m))
        for key, area in zip(keys, areas, strict=True)
    )
    return Partitioning(parts, areas, crs, halo_m)


def reads_of(area: shapely.Geometry, crs: CRS, halo_m: float) -> BBox:
    """The box (EPSG:4326) holding everything within ``halo_m`` metres of ``area`` (EPSG:4326)
    as measured in ``crs``: the area's box there, grown, its edges densified and taken back."""
    metric = project_shapes(np.array([area], dtype=object), STORAGE_CRS, crs)[0]
    grown = shapely.segmentize(shapely.box(*metric.bounds).buffer(halo_m, join_style="mitre"), 100.0)
    west, south, east, north = project_shapes(np.array([grown], dtype=object), crs, STORAGE_CRS)[0].bounds
    return (float(west), float(south), float(east), float(north))
