"""Walking distances on the real demo network equal a networkx Dijkstra oracle to 0.1 m.

The oracle knows nothing of our graph: it joins every pair of consecutive road vertices,
snaps points to the nearest segment by brute force, and searches from both ends of each
sampled home's segment.
"""

import networkx as nx
import numpy as np
import pytest
import shapely

from gridmap.coverage import CoverageInputs, CoverageParams, compute_coverage

CATEGORIES = ("clinic", "elderly_care", "food")
SAMPLE = 40


@pytest.fixture(scope="module")
def result(demo_data):
    inputs = CoverageInputs.from_layers(demo_data.layers)
    params = CoverageParams(categories=CATEGORIES, levels=(15,), circles=False, gaps=False)
    return inputs, compute_coverage(inputs, params)


def _segments(roads, crs):
    coords, index = shapely.get_coordinates(roads.to_crs(crs).geometry.values, return_index=True)
    same = index[1:] == index[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    keep = np.any(a != b, axis=1)
    return a[keep], b[keep]


def _key(xy):
    return (round(xy[0] / 0.01), round(xy[1] / 0.01))


def _snap(a, b, p):
    """Nearest point of the segments to p: (segment, offset from a, access)."""
    ab = b - a
    length = np.hypot(ab[:, 0], ab[:, 1])
    t = np.clip(((p - a) * ab).sum(axis=1) / length**2, 0.0, 1.0)
    near = a + ab * t[:, None]
    d = np.hypot(*(near - p).T)
    i = int(np.argmin(d))
    return i, t[i] * length[i], d[i], length[i]


@pytest.mark.slow
def test_distances_equal_networkx(result, demo_data):
    inputs, res = result
    crs = res.report["crs"]
    a, b = _segments(inputs.roads, crs)
    graph = nx.Graph()
    for p, q in zip(a, b, strict=True):
        w = float(np.hypot(*(q - p)))
        ku, kv = _key(p), _key(q)
        if ku != kv and (not graph.has_edge(ku, kv) or graph[ku][kv]["weight"] > w):
            graph.add_edge(ku, kv, weight=w)

    homes = res.homes.to_crs(crs)
    points = shapely.get_coordinates(homes.geometry.representative_point().values)
    sample = np.random.default_rng(3).choice(len(homes), SAMPLE, replace=False)
    facilities = inputs.facilities.to_crs(crs)
    checked = 0
    for category in CATEGORIES:
        mine = facilities[facilities["categories"].str.split(",").map(lambda c, cat=category: cat in c)]
        fac_snaps = [_snap(a, b, p) for p in shapely.get_coordinates(mine.geometry.values)]
        for h in sample:
            seg, off, access, length = _snap(a, b, points[h])
            from_a = nx.single_source_dijkstra_path_length(graph, _key(a[seg]))
            from_b = nx.single_source_dijkstra_path_length(graph, _key(b[seg]))
            best = np.inf
            for fseg, foff, faccess, flen in fac_snaps:
                ends = ((_key(a[fseg]), foff), (_key(b[fseg]), flen - foff))
                for table, lead in ((from_a, off), (from_b, length - off)):
                    for node, tail in ends:
                        if node in table:
                            best = min(best, lead + table[node] + tail + faccess)
                if fseg == seg:
                    best = min(best, abs(off - foff) + faccess)
            expected = best + access
            got = res.distances[(category, 15)][h]
            if np.isinf(expected):
                assert np.isinf(got)
            else:
                assert got == pytest.approx(expected, abs=0.1)
                checked += 1
    assert checked >= len(CATEGORIES) * SAMPLE * 0.9
