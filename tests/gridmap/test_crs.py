"""CRS conversions checked against published reference points."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from gridmap.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    metric_crs_for,
    parse_source_crs,
    project_shapes,
    to_storage_crs,
    wgs84_to_gcj02,
)
from gridmap.errors import InputError

GEOD = Geod(ellps="WGS84")

# (wgs lon, wgs lat, gcj lon, gcj lat): the test table of the eviltransform project
# (Shanghai, Shenzhen, Beijing), and the README example of wandergis/coordtransform.
GCJ_REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]


def _metres(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("lon", "lat", "glon", "glat"), GCJ_REFERENCE)
def test_wgs84_to_gcj02_matches_published_points(lon, lat, glon, glat):
    out = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert _metres(out[0][0], out[1][0], glon, glat) < 0.01


@pytest.mark.parametrize(("lon", "lat", "glon", "glat"), GCJ_REFERENCE)
def test_gcj02_to_wgs84_inverts_to_the_published_points(lon, lat, glon, glat):
    out = gcj02_to_wgs84(np.array([glon]), np.array([glat]))
    assert _metres(out[0][0], out[1][0], lon, lat) < 0.01


def test_bd09_to_gcj02_matches_the_published_example():
    lon, lat = bd09_to_gcj02(np.array([116.404]), np.array([39.915]))
    assert _metres(lon[0], lat[0], 116.39762729119315, 39.90865673957631) < 0.01


def test_bd09_round_trip_stays_within_a_metre():
    lon, lat = np.array([104.0665, 121.5315]), np.array([30.6574, 31.1753])
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    for i in range(2):
        assert _metres(back[0][i], back[1][i], lon[i], lat[i]) < 1.0
    wgs = bd09_to_wgs84(*gcj02_to_bd09(*wgs84_to_gcj02(lon, lat)))
    assert _metres(wgs[0][0], wgs[1][0], lon[0], lat[0]) < 1.0


def test_outside_china_nothing_moves():
    lon, lat = wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert (lon[0], lat[0]) == (2.35, 48.85)


def test_cgcs2000_axis_order_is_lon_lat():
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(104.0665, 30.6574)], crs="EPSG:4490")
    out = to_storage_crs(frame)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].x == pytest.approx(104.0665, abs=1e-6)
    assert out.geometry.iloc[0].y == pytest.approx(30.6574, abs=1e-6)


def test_declared_gcj02_moves_points_back_by_hundreds_of_metres():
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(121.531541859215, 31.17530398364597)])
    out = to_storage_crs(frame, parse_source_crs("gcj02"))
    p = out.geometry.iloc[0]
    assert _metres(p.x, p.y, 121.5272106, 31.1774276) < 0.01


def test_projected_input_is_converted():
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(406_000, 3_393_000)], crs="EPSG:32648")
    p = to_storage_crs(frame).geometry.iloc[0]
    assert 103.9 < p.x < 104.1 and 30.6 < p.y < 30.7


def test_no_crs_is_refused_with_a_hint():
    with pytest.raises(InputError, match="--source-crs"):
        to_storage_crs(gpd.GeoDataFrame(geometry=[shapely.Point(1, 2)]))


def test_unknown_source_crs_names_the_choices():
    with pytest.raises(InputError, match="gcj02"):
        parse_source_crs("mars")


def test_metric_crs_is_the_utm_zone():
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(104.07, 30.67)], crs=4326)
    assert metric_crs_for(frame).to_epsg() == 32648
    projected = frame.to_crs(4547)  # CGCS2000 3-degree Gauss-Kruger, metres in, the same zone out
    assert metric_crs_for(projected).to_epsg() == 32648
    with pytest.raises(InputError, match="empty"):
        metric_crs_for(frame.iloc[:0])


@pytest.mark.parametrize(
    "lon,lat",
    [(104.07, 30.67), (121.47, 31.23), (-0.1, 51.5), (-70.6, -33.4), (5.3, 60.4), (15.6, 78.2),
     (179.9, -16.5), (-179.9, 65.0), (114.0, 0.0), (23.9, 75.0)],
)  # fmt: skip
def test_metric_crs_agrees_with_geopandas(lon, lat):
    frame = gpd.GeoDataFrame(
        geometry=[shapely.Point(lon - 0.01, lat), shapely.Point(lon + 0.01, lat)], crs=4326
    )
    assert metric_crs_for(frame) == frame.estimate_utm_crs()


def test_projected_shapes_equal_geopandas_to_crs():
    shapes = gpd.GeoSeries(
        [
            shapely.Point(104.06, 30.66),
            shapely.LineString([(104.06, 30.66), (104.07, 30.67)]),
            shapely.MultiPolygon(
                [shapely.box(104.0, 30.6, 104.01, 30.61), shapely.box(104.02, 30.6, 104.03, 30.61)]
            ),
            None,
        ],
        crs="EPSG:4326",
    )
    ours = project_shapes(np.asarray(shapes.values), shapes.crs, "EPSG:32648")
    theirs = np.asarray(shapes.to_crs("EPSG:32648").values)
    assert ours[3] is None
    assert shapely.equals_exact(ours[:3], theirs[:3], tolerance=0).all()
    assert shapes.values[0].x == 104.06  # the input is left as it was
