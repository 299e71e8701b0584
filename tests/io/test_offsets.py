"""Offsets nobody declared: stations saved from AMap (GCJ-02) or Baidu (BD-09) and imported
as EPSG:4326 are named as such against the stored roads; stations in WGS 84 are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.crs import gcj02_to_bd09, wgs84_to_gcj02
from gridmap.io.importer import import_layer
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer


@pytest.fixture
def demo(demo_db):
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


def _stations_on_roads(engine, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Points on stored roads (EPSG:4326): where real stations' entrances are."""
    roads = read_layer(engine, "roads").geometry.to_numpy()
    picked = roads[np.linspace(0, len(roads) - 1, n).astype(int)]
    points = shapely.line_interpolate_point(picked, 0.5, normalized=True)
    return shapely.get_x(points), shapely.get_y(points)


def _csv(path, lon, lat):
    pd.DataFrame(
        {"name": [f"站{i}" for i in range(len(lon))], "categories": "clinic", "lon": lon, "lat": lat}
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("offset", ["none", "gcj02", "bd09"])
def test_an_offset_file_declared_as_wgs84_is_named(demo, tmp_path, offset):
    lon, lat = _stations_on_roads(demo)
    if offset != "none":
        lon, lat = wgs84_to_gcj02(lon, lat)
    if offset == "bd09":
        lon, lat = gcj02_to_bd09(lon, lat)
    path = _csv(tmp_path / "stations.csv", lon, lat)
    report = import_layer(demo, "facilities", path, source_crs="EPSG:4326")
    hints = [w.message for w in report.warnings if "looks like" in w.message]
    if offset == "none":
        assert hints == []
    else:
        assert len(hints) == 1 and f"--source-crs {offset}" in hints[0], hints
    if offset == "none":  # nor for stations where the demo has them (off the roads, in WGS 84)
        facilities = read_layer(demo, "facilities")
        where = facilities.geometry.representative_point()
        stored = _csv(tmp_path / "demo_stations.csv", where.x.to_numpy(), where.y.to_numpy())
        report = import_layer(demo, "facilities", stored, source_crs="EPSG:4326")
        assert not any("looks like" in w.message for w in report.warnings)
    if offset != "none":  # declared as it is, it lands on the roads and nothing is said
        again = import_layer(demo, "facilities", path, source_crs=offset)
        assert not any("looks like" in w.message for w in again.warnings)


def _shifted(frame, offset):
    """``frame``'s outlines as a map app would save them: WGS 84 moved into GCJ-02 or BD-09."""

    def move(xy):
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        if offset == "bd09":
            lon, lat = gcj02_to_bd09(lon, lat)
        return np.column_stack([lon, lat])

    if offset == "none":
        return frame
    return frame.set_geometry(shapely.transform(frame.geometry.to_numpy(), move))


@pytest.mark.parametrize("layer", ["grids", "communities"])
@pytest.mark.parametrize("offset", ["none", "gcj02", "bd09"])
def test_outlines_offset_from_the_areas_they_name_are_named(demo, tmp_path, layer, offset):
    """Grids and communities do not follow the roads: they are judged by how much of them
    lies outside their own community (or street)."""
    parent = {"grids": "community_id", "communities": "street_id"}[layer]
    stored = read_layer(demo, layer)[["code", "name", parent, "geometry"]]
    path = tmp_path / f"{layer}.gpkg"
    _shifted(stored, offset).to_file(path)
    report = import_layer(demo, layer, path, dry_run=True, fix=True)  # moved, a few outlines cross themselves
    hints = [w.message for w in report.warnings if "looks like" in w.message]
    if offset == "none":
        assert hints == [] and report.plan.counts["unchanged"] == len(stored)
    else:
        assert len(hints) == 1 and f"--source-crs {offset}" in hints[0], hints
        assert "outside the " + {"grids": "communities", "communities": "streets"}[layer] in hints[0]
        again = import_layer(demo, layer, path, source_crs=offset, dry_run=True, fix=True)
        assert not any("looks like" in w.message for w in again.warnings)
