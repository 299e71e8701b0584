"""Walking distances on the real demo network equal a networkx Dijkstra oracle to 0.1 m.

The oracle knows nothing of our graph: it joins every pair of consecutive road vertices,
snaps points to the nearest segment by brute force, and searches from both ends of each
sampled home's segment.
"""

import numpy as np
import pytest
import shapely
from walk_oracle import WalkOracle

from gridmap.coverage import CoverageInputs, CoverageParams, compute_coverage

CATEGORIES = ("clinic", "elderly_care", "food")
SAMPLE = 40


@pytest.fixture(scope="module")
def result(demo_data):
    inputs = CoverageInputs.from_layers(demo_data.layers)
    params = CoverageParams(categories=CATEGORIES, levels=(15,), circles=False, gaps=False)
    return inputs, compute_coverage(inputs, params)


@pytest.mark.slow
def test_distances_equal_networkx(result, demo_data):
    inputs, res = result
    crs = res.report["crs"]
    oracle = WalkOracle(inputs.roads, crs)
    homes = res.homes.to_crs(crs)
    points = shapely.get_coordinates(homes.geometry.representative_point().values)
    sample = np.random.default_rng(3).choice(len(homes), SAMPLE, replace=False)
    facilities = inputs.facilities.to_crs(crs)
    checked = 0
    for category in CATEGORIES:
        mine = facilities[facilities["categories"].str.split(",").map(lambda c, cat=category: cat in c)]
        targets = [oracle.snap(p) for p in shapely.get_coordinates(mine.geometry.values)]
        for h in sample:
            expected = oracle.nearest(points[h], targets)
            got = res.distances[(category, 15)][h]
            if np.isinf(expected):
                assert np.isinf(got)
            else:
                assert got == pytest.approx(expected, abs=0.1)
                checked += 1
    assert checked >= len(CATEGORIES) * SAMPLE * 0.9
