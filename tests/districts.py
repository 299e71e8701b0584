"""A small synthetic district for grid drawing: an 800 × 600 m community in UTM 48N cut by a
4 × 2 street grid, four buildings per block and one compound across a street. Stored
(EPSG:4326) frames out; metric views follow the stored outlines edge for edge."""

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, box

from gridmap.crs import densified_to

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0
CODE = "510104001001"
BLOCK_W, BLOCK_H = 200.0, 300.0  # a 4 × 2 street grid over an 800 × 600 m community


def _box(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _to_storage(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_crs(UTM).to_crs(4326)


def street_grid_district(households: int = 50):
    """Community, streets, and in each block four buildings of ``households``; compound 1
    has two buildings on each side of the street at x = 200 m in the northern row."""
    community = _to_storage(gpd.GeoDataFrame({"id": [1], "code": [CODE], "name": ["东社区"]},
                                             geometry=[_box(0, 0, 800, 600)]))  # fmt: skip
    streets = [LineString([(X0 + x, Y0 - 50), (X0 + x, Y0 + 650)]) for x in (200, 400, 600)]
    streets += [LineString([(X0 - 50, Y0 + 300), (X0 + 850, Y0 + 300)])]
    roads = _to_storage(gpd.GeoDataFrame({"highway": ["residential"] * 4}, geometry=streets))
    rows = []
    for bx in range(4):
        for by in range(2):
            for dx, dy in ((40, 60), (140, 60), (40, 200), (140, 200)):
                x, y = bx * BLOCK_W + dx, by * BLOCK_H + dy
                compound = 1 if by == 1 and ((bx == 0 and dx == 140) or (bx == 1 and dx == 40)) else None
                rows.append({"id": len(rows) + 1, "households": households, "compound_id": compound,
                             "geometry": _box(x - 10, y - 10, x + 10, y + 10)})  # fmt: skip
    buildings = _to_storage(gpd.GeoDataFrame(rows, geometry="geometry"))
    compounds = _to_storage(gpd.GeoDataFrame({"id": [1]}, geometry=[_box(110, 330, 270, 540)]))
    return community, buildings, compounds, roads


def metric(frame):
    """In metres, the stored (EPSG:4326) outlines followed edge for edge."""
    return densified_to(frame, UTM)


def grid_of_buildings(plan, buildings) -> np.ndarray:
    """The index of the grid holding each building's point."""
    points = metric(buildings).geometry.representative_point().to_numpy()
    grids = metric(plan.grids).geometry.to_numpy()
    inside = shapely.contains(grids[:, None], points[None, :])
    assert (inside.sum(axis=0) == 1).all(), "every building in exactly one grid"
    return inside.argmax(axis=0)
