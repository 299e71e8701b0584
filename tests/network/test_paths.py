"""The walking network on a small hand-built street plan with known answers (metres, UTM 48N).

A(0,0) ──── B(100,0) ──── C(200,0)         G(1000,1000) ── H(1100,1000)   (an island)
  ╰─(141 m)──╯ │
               D(100,100)                  E(150,-50) │ F(150,50): a bridge over B–C
"""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, MultiLineString

from gridmap.network.graph import build_network
from gridmap.network.paths import FacilityGraph, attach, shortest_per_pair

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def _line(*xy):
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def _xy(*xy):
    return np.array([(X0 + x, Y0 + y) for x, y in xy], dtype=float)


@pytest.fixture(scope="module")
def roads():
    return gpd.GeoDataFrame(
        {"highway": ["residential", "footway", "residential", "service", "primary", "motorway"]},
        geometry=[
            _line((0, 0), (100, 0), (200, 0)),  # must be split at B
            _line((100, 0), (100, 100)),
            _line((0, 0), (50, -50), (100, 0)),  # parallel to A–B, longer
            _line((1000, 1000), (1100, 1000)),
            _line((150, -50), (150, 50)),  # crosses B–C with no shared vertex
            _line((0, 0), (0, -300)),  # not walkable
        ],
        index=[11, 12, 13, 14, 15, 16],
        crs=UTM,
    )


@pytest.fixture(scope="module")
def network(roads):
    return build_network(roads)


def test_lines_split_at_shared_vertices_only(network):
    assert network.crs.to_epsg() == 32648
    assert network.node_count == 8  # A B C D E F G H; the bridge crossing makes no node
    assert network.edge_count == 6
    assert sorted(network.edge_road_id.tolist()) == [11, 11, 12, 13, 14, 15]
    assert sorted(np.round(network.edge_length, 3).tolist()) == [100, 100, 100, 100, 100, 141.421]


def test_multi_lines_keep_their_parts_and_road(roads):
    """A road drawn as a multi-line gives the same network as its parts drawn one by one,
    and the same again when the roads come in degrees."""
    multi = roads.copy()
    multi.loc[11, "geometry"] = MultiLineString(
        [[(X0, Y0), (X0 + 100, Y0)], [(X0 + 100, Y0), (X0 + 200, Y0)]]
    )
    for frame in (multi, multi.to_crs("EPSG:4326")):
        net = build_network(frame, crs=roads.crs)
        assert net.node_count == 8 and net.edge_count == 6
        assert net.edge_road_id.tolist() == [11, 11, 12, 13, 14, 15]
        assert sorted(np.round(net.edge_length, 3).tolist()) == [100, 100, 100, 100, 100, 141.421]


def test_highway_types_are_a_choice(roads):
    assert build_network(roads, highways=None).edge_count == 7
    assert build_network(roads, highways=["footway"]).edge_count == 1


def test_islands_are_reported(network):
    islands = network.islands()
    assert len(islands) == 3
    assert islands.loc[0, "main"] and islands.loc[0, "nodes"] == 4
    assert islands.loc[0, "length_m"] == pytest.approx(441.421, abs=1e-3)
    assert sorted(islands.loc[1:, "nodes"].tolist()) == [2, 2]


def test_parallel_edges_keep_the_shortest(network):
    matrix = network.adjacency()
    a = int(np.argmin(np.hypot(*(network.node_xy - _xy((0, 0))[0]).T)))
    b = int(np.argmin(np.hypot(*(network.node_xy - _xy((100, 0))[0]).T)))
    assert matrix[a, b] == pytest.approx(100.0)
    assert matrix[b, a] == pytest.approx(100.0)


def test_access_legs_and_snap_limit(network):
    att = attach(network, _xy((0, 5), (40, -4), (500, 500)), max_snap_m=50)
    assert att.attached.tolist() == [True, True, False]
    assert att.access[:2] == pytest.approx([5.0, 4.0])
    assert np.isnan(att.access[2])


def _distances(network, facilities, homes, max_snap_m=50.0):
    fac = attach(network, _xy(*facilities), max_snap_m)
    graph = FacilityGraph(network, fac)
    located = graph.locate(attach(network, _xy(*homes), max_snap_m))
    return graph.nearest(np.arange(len(facilities)), located)


def test_known_walking_distances(network):
    facilities = [(100, 110), (60, 2)]
    homes = [(0, 5), (200, -3), (40, -4), (500, 500), (1050, 1003), (100, 60)]
    dist, which = _distances(network, [facilities[0]], homes)
    # home → A (5) → B (100) → D (100) → facility (10)
    assert dist[0] == pytest.approx(215.0)
    assert dist[1] == pytest.approx(3 + 100 + 100 + 10)
    assert dist[5] == pytest.approx(0 + 40 + 10)  # on B–D itself, 60 m from B
    assert np.isinf(dist[3]) and which[3] == -1  # too far from any street
    assert np.isinf(dist[4]) and which[4] == -1  # on an island
    assert which[0] == 0


def test_same_edge_walks_along_the_street(network):
    dist, which = _distances(network, [(100, 110), (60, 2)], [(40, -4), (0, 5)])
    assert dist[0] == pytest.approx(4 + 20 + 2)  # not round by A or B
    assert which[0] == 1
    assert dist[1] == pytest.approx(5 + 60 + 2)


def test_two_facilities_on_one_edge(network):
    dist, which = _distances(network, [(20, 1), (80, 1)], [(45, 0), (55, 0), (150, 0)])
    assert dist.tolist() == pytest.approx([26.0, 26.0, 71.0])
    assert which.tolist() == [0, 1, 1]


def test_facility_at_a_node(network):
    dist, _ = _distances(network, [(100, 0)], [(0, 0), (200, 0), (100, 100)])
    assert dist.tolist() == pytest.approx([100.0, 100.0, 100.0])


def test_searches_are_bounded(network):
    fac = attach(network, _xy((100, 0), (1050, 1000)), 50)
    graph = FacilityGraph(network, fac)
    (part, local, dist), *more = list(graph.searches(np.array([0, 1]), 100.0))
    assert not more and part.tolist() == [0, 1]
    reached = np.isfinite(dist[0])
    assert reached.sum() == 5  # the facility itself, then B, A, C and D
    assert dist[0, reached].max() == pytest.approx(100.0)
    assert (dist[dist < np.inf] <= 100.0).all()
    assert np.isfinite(dist[1]).sum() == 4  # the other facility, where it meets the lone E–F, E and F
    assert dist[0, np.searchsorted(local, graph.facility_node[1])] == np.inf  # not connected


def test_shortest_per_pair_keeps_the_least_of_each_pair_in_pair_order():
    first = np.array([2, 0, 2, 1, 0, 2])
    second = np.array([5, 3, 5, 4, 3, 1])
    metres = np.array([9.0, 7.0, 4.0, 1.0, 8.0, 6.0])
    f, s, m = shortest_per_pair(first, second, metres)
    assert list(zip(f.tolist(), s.tolist(), m.tolist(), strict=True)) == [
        (0, 3, 7.0),
        (1, 4, 1.0),
        (2, 1, 6.0),
        (2, 5, 4.0),
    ]
    # already one row per pair, in order: given back as is
    assert shortest_per_pair(f, s, m)[2] is m
