"""Coordinate reference systems: storage CRS, metric CRS per area, and China's offset systems.

Geometry is stored in EPSG:4326 (WGS 84, lon/lat). Metric work happens in the UTM zone of the
area's centroid (e.g. EPSG:32648 for Chengdu, EPSG:32650 for Xiamen).

Inputs may come in:

* any EPSG CRS, CGCS2000 (EPSG:4490) included. PROJ treats CGCS2000 → WGS 84 as a null
  transformation (the datums agree to a few centimetres); axis order is handled by always
  reading and writing lon/lat (``always_xy``).
* GCJ-02 (AMap, Tencent, Google's China tiles). GCJ-02 is WGS 84 plus a deliberate, smooth
  offset of up to several hundred metres. The offset formula is public; WGS 84 → GCJ-02 follows
  it exactly, and GCJ-02 → WGS 84 inverts it by fixed-point iteration to better than 1e-9
  degrees (< 1 mm) against that formula. The public formula itself is reported to agree with
  the official offsets to within about a metre.
* BD-09 (Baidu): GCJ-02 plus a second published rotation and shift. The published BD-09
  formulas are approximate: BD-09 → GCJ-02 leaves residuals of up to 15–30 m against Baidu's
  own conversion, so BD-09 input is good for planning-scale work, not for surveying.

Outside mainland China (lon 72.004–137.8347, lat 0.8293–55.8271) the offsets are not applied,
as the official algorithm does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gridmap.errors import InputError

CRSLike = CRS | str | int  # what pyproj.CRS.from_user_input reads: a CRS, "EPSG:4490", 4490

STORAGE_CRS = CRS.from_epsg(4326)
STORAGE_SRID = 4326

OFFSET_SYSTEMS = ("gcj02", "bd09")
_ALIASES = {
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "tencent": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
    "wgs84": "EPSG:4326",
    "cgcs2000": "EPSG:4490",
}

# Krasovsky 1940 ellipsoid, as the public GCJ-02 formula uses it.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0


def parse_source_crs(value: str) -> CRS | str:
    """Parse a declared source CRS: an EPSG code, ``gcj02``/``bd09``, or any pyproj input.

    Returns a pyproj ``CRS``, or the string ``"gcj02"`` / ``"bd09"`` for an offset system.
    """
    key = value.strip().lower()
    alias = _ALIASES.get(key, value.strip())
    if alias in OFFSET_SYSTEMS:
        return alias
    if alias.isdigit():
        alias = f"EPSG:{alias}"
    try:
        return CRS.from_user_input(alias)
    except CRSError:
        msg = (
            f"unknown source CRS '{value}'; expected an EPSG code such as EPSG:4490 "
            "(CGCS2000) or EPSG:4326, or one of gcj02 (AMap/Tencent), bd09 (Baidu)"
        )
        raise InputError(msg) from None


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return ~((lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271))


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (degrees) at WGS 84 lon/lat."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 lon/lat (degrees) → GCJ-02 lon/lat (degrees)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, *, tolerance_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat → WGS 84 lon/lat (degrees), inverting the public formula iteratively."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < tolerance_deg) and np.all(np.abs(elat) < tolerance_deg):
            break
    return wlon, wlat


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat → BD-09 lon/lat (degrees), the published Baidu formula."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 lon/lat → GCJ-02 lon/lat (degrees), the published approximate inverse."""
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 lon/lat → WGS 84 lon/lat (degrees)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def _apply_lonlat(
    geoms: np.ndarray, func: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    def _tx(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(geoms, _tx))


def to_storage_crs(gdf: gpd.GeoDataFrame, source: CRS | str | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326, converting from ``source`` or from the frame's own CRS.

    ``source`` overrides the file's CRS; ``"gcj02"`` and ``"bd09"`` treat the coordinates as
    offset lon/lat. A frame with neither a CRS nor a declared source is refused.
    """
    if isinstance(source, str) and source in _TO_WGS84:
        out = gdf.copy()
        out.geometry.values[:] = _apply_lonlat(out.geometry.values, _TO_WGS84[source])
        return out.set_crs(STORAGE_CRS, allow_override=True)
    crs = source if source is not None else gdf.crs
    if crs is None:
        msg = (
            "the file has no coordinate reference system; declare one with --source-crs "
            "(e.g. EPSG:4326, EPSG:4490, gcj02, bd09)"
        )
        raise InputError(msg)
    out = gdf.set_crs(crs, allow_override=True)
    if CRS.from_user_input(crs).equals(STORAGE_CRS):
        return out
    return out.to_crs(STORAGE_CRS)


def metric_crs_for(gdf: gpd.GeoDataFrame) -> CRS:
    """The WGS 84 UTM CRS (metres) of the centre of ``gdf``'s extent; ``gdf`` may be in any
    CRS. The same zone as ``GeoDataFrame.estimate_utm_crs`` picks, computed from the zone
    rules rather than looked up in the PROJ database, which takes a noticeable 60 ms."""
    if gdf.crs is None:
        raise InputError("cannot choose a metric CRS for data without a CRS")
    if len(gdf) == 0 or gdf.geometry.isna().all():
        raise InputError("cannot choose a metric CRS for an empty layer")
    crs = CRS.from_user_input(gdf.crs)
    minx, miny, maxx, maxy = gdf.total_bounds
    if not crs.equals(STORAGE_CRS):
        minx, miny, maxx, maxy = Transformer.from_crs(crs, STORAGE_CRS, always_xy=True).transform_bounds(
            minx, miny, maxx, maxy
        )
    return utm_crs_at((minx + maxx) / 2.0, (miny + maxy) / 2.0)


@cache
def utm_crs_at(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM CRS of a point (EPSG:4326 degrees): the plain 6° zones, a point on a
    zone border in the western one, as PROJ's areas of use give them."""
    zone = min(max(math.ceil((lon + 180.0) / 6.0), 1), 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@cache
def transformer(source: CRS, target: CRS) -> Transformer:
    """The transformer from ``source`` to ``target`` in x/y (lon/lat) order, made once."""
    return Transformer.from_crs(source, target, always_xy=True)


def project_shapes(geoms: np.ndarray, source: CRSLike, target: CRSLike) -> np.ndarray:
    """2-D geometries from CRS ``source`` to ``target`` as new objects: the coordinates
    ``GeoSeries.to_crs`` gives, without a frame around them."""
    to = transformer(CRS.from_user_input(source), CRS.from_user_input(target))
    return _apply_lonlat(geoms, to.transform)


#: vertex spacing (degrees, about 2 m) that keeps an edge of EPSG:4326 the same line in metres
DENSIFY_DEG = 2e-5


def densified_to(gdf: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """``gdf`` (EPSG:4326) projected to ``crs`` after adding vertices every ~2 m, so that a
    straight edge in degrees stays that edge in metres. Without this, a long shared edge and
    the same edge cut by extra vertices project to lines a few centimetres apart, which shows
    as overlaps and holes of square metres between polygons that tile exactly in storage."""
    if not CRS.from_user_input(gdf.crs).equals(STORAGE_CRS):
        return gdf.to_crs(crs)
    return gdf.set_geometry(gdf.geometry.segmentize(DENSIFY_DEG)).to_crs(crs)
