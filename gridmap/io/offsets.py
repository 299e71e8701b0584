"""Offsets nobody declared: a layer that sits a few hundred metres off the stored roads in the
way China's GCJ-02 (or BD-09) offset moves things is named, with the option that fixes it.

Points and lines are tested against the stored roads: the imported layer's vertices (a
sample) are measured to the nearest road as they are, and as they would be if the file were
GCJ-02 or BD-09. Outlines (grids, communities, streets, compounds), whose vertices need not
follow roads, are tested against the areas they name: the share of their area outside their
own community (or street, district) as declared and as read either way. When one reading
brings them well onto the roads or into their areas and the file as declared leaves them off,
the reading is suggested. Nothing is changed: the planner decides.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridmap.crs import STORAGE_CRS, bd09_to_wgs84, gcj02_to_wgs84, metric_crs_for

SAMPLE = 500  # vertices measured, at most
MIN_POINTS = 5  # and at least
OFF_M = 10.0  # the file as declared is this far off the roads (median), at least
CLOSER = 0.4  # and the offset reading brings it to this share of that distance, or less
# (in a dense city an offset of 500 m still leaves points some 40 m from another road: the
# test is how much closer a reading brings them, not how far off they are)


def _median_to_roads(xy: np.ndarray, roads: shapely.STRtree, crs: object) -> float:
    """Median metres from lon/lat points ``xy`` to the nearest of ``roads`` (metric ``crs``)."""
    points = gpd.GeoSeries(shapely.points(xy), crs=STORAGE_CRS).to_crs(crs).to_numpy()
    return float(np.median(roads.query_nearest(points, return_distance=True, all_matches=False)[1]))


def offset_suspicion(layer: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> str | None:
    """A sentence naming the offset ``layer`` (EPSG:4326, as imported) looks like it carries
    against ``roads`` (EPSG:4326), or None when it sits where the roads are (or cannot say)."""
    if len(layer) == 0 or len(roads) == 0:
        return None
    xy = shapely.get_coordinates(layer.geometry.to_numpy())
    if len(xy) < MIN_POINTS:  # a point or two say nothing
        return None
    if len(xy) > SAMPLE:
        xy = xy[np.linspace(0, len(xy) - 1, SAMPLE).astype(int)]
    crs = metric_crs_for(roads)
    road_lines = shapely.STRtree(roads.to_crs(crs).geometry.to_numpy())
    as_is = _median_to_roads(xy, road_lines, crs)
    if as_is < OFF_M:
        return None
    distances = {name: _median_to_roads(_moved_xy(xy, name), road_lines, crs) for name in READINGS}
    best = _closer_reading(as_is, distances)
    if best is None:
        return None
    return (
        f"looks like {READINGS[best]}: its points lie a median {as_is:.0f} m from the nearest road as "
        f"declared, {distances[best]:.0f} m if read as {best}; if so, import it again with "
        f"--source-crs {best}"
    )


#: the offset systems a file may carry undeclared, by their --source-crs name
READINGS = {"gcj02": "GCJ-02 (AMap, Tencent)", "bd09": "BD-09 (Baidu)"}


def _moved_xy(xy: np.ndarray, reading: str) -> np.ndarray:
    """Lon/lat points ``xy`` as they are if the file was in ``reading`` (gcj02, bd09)."""
    convert = gcj02_to_wgs84 if reading == "gcj02" else bd09_to_wgs84
    return np.column_stack(convert(xy[:, 0], xy[:, 1]))


def _closer_reading(as_is: float, measures: dict[str, float]) -> str | None:
    """The reading that brings a measure of how far off a layer is (``as_is`` as declared)
    down to ``CLOSER`` of it or less, or None."""
    best = min(measures, key=measures.__getitem__)
    return best if measures[best] <= CLOSER * as_is else None


OUTSIDE_SHARE = 0.2  # of the outlines' area outside the areas they name, at least, to suspect them


def _outside_share(shapes: np.ndarray, parents: np.ndarray, crs: object) -> float:
    """The share of the area of ``shapes`` (lon/lat) outside ``parents`` (lon/lat), row by row."""
    # moved vertices may cross where the outline was nearly degenerate: repaired before measuring
    mine = gpd.GeoSeries(shapely.make_valid(shapes), crs=STORAGE_CRS).to_crs(crs)
    theirs = gpd.GeoSeries(shapely.make_valid(parents), crs=STORAGE_CRS).to_crs(crs)
    total = float(mine.area.sum())
    return 1.0 - float(mine.intersection(theirs, align=False).area.sum()) / total if total > 0 else 0.0


def _moved(shapes: np.ndarray, reading: str) -> np.ndarray:
    return shapely.transform(shapes, lambda xy: _moved_xy(xy, reading))


def outline_suspicion(shapes: gpd.GeoSeries, parents: gpd.GeoSeries, parent_layer: str) -> str | None:
    """A sentence naming the offset outlines ``shapes`` (EPSG:4326, as imported) look like they
    carry, judged by how much of them lies outside the areas each names (``parents``, aligned
    row by row, EPSG:4326; a grid's community, a community's street): an outline drawn in
    GCJ-02 and declared as WGS 84 sticks out of its community by a few hundred metres."""
    named = parents.notna().to_numpy() & shapes.notna().to_numpy()
    if not named.any():
        return None
    mine, theirs = shapes.to_numpy()[named], parents.to_numpy()[named]
    crs = metric_crs_for(gpd.GeoDataFrame(geometry=list(theirs), crs=STORAGE_CRS))
    as_is = _outside_share(mine, theirs, crs)
    if as_is < OUTSIDE_SHARE:
        return None
    shares = {name: _outside_share(_moved(mine, name), theirs, crs) for name in READINGS}
    best = _closer_reading(as_is, shares)
    if best is None:
        return None
    return (
        f"looks like {READINGS[best]}: {as_is:.0%} of its outlines' area lies outside the {parent_layer} they "
        f"name as declared, {shares[best]:.0%} if read as {best}; if so, import it again with "
        f"--source-crs {best}"
    )
