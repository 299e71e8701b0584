"""Service circles of many facilities, drawn a part at a time, are each facility's own."""

import contextvars

import numpy as np
import pytest
import shapely

from gridmap.coverage import CoverageInputs
from gridmap.geometry import CALLER_BUSY
from gridmap.network.circles import service_circles
from gridmap.network.paths import FacilityGraph, attach
from gridmap.study_area import prepare_area
from gridmap.walking import WalkingParams


@pytest.fixture(scope="module")
def demo_graph(demo_data):
    """The demo's study area and its network with every facility attached."""
    walking = WalkingParams()
    area = prepare_area(CoverageInputs.from_layers(demo_data.layers), walking)
    return area, FacilityGraph(area.network, attach(area.network, area.facility_xy, walking.max_snap_m))


@pytest.mark.parametrize("caller_busy", [False, True])
def test_circles_drawn_part_by_part_are_those_of_each_facility_drawn_alone(demo_graph, caller_busy):
    """The demo's facilities are searched 64 nearby ones at a time, and each part's outlines
    are drawn after all parts are searched or, beside a busy caller, while the next part is
    searched: every circle is still the one its facility gets when it is drawn on its own,
    with its own limit, whichever part it was in."""
    area, graph = demo_graph
    everyone = np.arange(len(area.facility_xy))
    limits = [300.0, 600.0, 900.0]
    beside = contextvars.copy_context()
    beside.run(CALLER_BUSY.set, caller_busy)
    fac, limit, polygons = beside.run(service_circles, graph, everyone, limits)
    assert len(everyone) > 3 * 64  # several parts
    assert np.all(np.diff(fac * 10 + np.searchsorted(limits, limit)) > 0)  # by facility, then limit
    drawn = {(int(f), float(lim)): p for f, lim, p in zip(fac, limit, polygons, strict=True)}
    for one in everyone[:: len(everyone) // 9]:
        alone = service_circles(graph, np.array([one]), limits)
        assert alone[0].tolist() == [one] * len(alone[0])
        for lim, shape in zip(alone[1], alone[2], strict=True):
            assert shapely.equals_exact(drawn[(int(one), float(lim))], shape, tolerance=1e-6), (one, lim)


def test_circles_projected_as_they_are_drawn_are_those_projected_after(demo_graph):
    """Projected to EPSG:4326 part by part, beside the searches, the circles have the
    coordinates ``GeoSeries.to_crs`` gives them once all are drawn."""
    import geopandas as gpd

    from gridmap.crs import STORAGE_CRS, project_shapes

    area, graph = demo_graph
    some = np.arange(0, len(area.facility_xy), 2)
    fac, limit, metric = service_circles(graph, some, [450.0, 900.0])
    fac2, limit2, stored = service_circles(
        graph, some, [450.0, 900.0], project=lambda g: project_shapes(g, area.crs, STORAGE_CRS)
    )
    assert fac2.tolist() == fac.tolist() and limit2.tolist() == limit.tolist()
    after = gpd.GeoSeries(metric, crs=area.crs).to_crs(STORAGE_CRS)
    assert shapely.equals_exact(stored, after.values, tolerance=0).all()
