"""Offsets nobody declared: a layer that sits a few hundred metres off the stored roads in the
way China's GCJ-02 (or BD-09) offset moves things is named, with the option that fixes it.

The test is the stored roads themselves: the imported layer's vertices (a sample) are
measured to the nearest road as they are, and as they would be if the file were GCJ-02 or
BD-09. When one reading brings them well onto the roads and the file as declared leaves them
off, the reading is suggested. Nothing is changed: the planner decides.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridmap.crs import STORAGE_CRS, bd09_to_wgs84, gcj02_to_wgs84, metric_crs_for

SAMPLE = 500  # vertices measured, at most
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
    if len(xy) == 0:
        return None
    if len(xy) > SAMPLE:
        xy = xy[np.linspace(0, len(xy) - 1, SAMPLE).astype(int)]
    crs = metric_crs_for(roads)
    road_lines = shapely.STRtree(roads.to_crs(crs).geometry.to_numpy())
    as_is = _median_to_roads(xy, road_lines, crs)
    if as_is < OFF_M:
        return None
    readings = {
        "gcj02": np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])),
        "bd09": np.column_stack(bd09_to_wgs84(xy[:, 0], xy[:, 1])),
    }
    distances = {name: _median_to_roads(moved, road_lines, crs) for name, moved in readings.items()}
    best = min(distances, key=distances.__getitem__)
    if distances[best] > CLOSER * as_is:
        return None
    label = {"gcj02": "GCJ-02 (AMap, Tencent)", "bd09": "BD-09 (Baidu)"}[best]
    return (
        f"looks like {label}: its points lie a median {as_is:.0f} m from the nearest road as "
        f"declared, {distances[best]:.0f} m if read as {best}; if so, import it again with "
        f"--source-crs {best}"
    )
