"""Walking distances on the real demo network equal a networkx Dijkstra oracle to 0.1 m.

The oracle knows nothing of our graph: it joins every pair of consecutive road vertices,
snaps points to the nearest segment by brute force, and searches from both ends of each
sampled home's segment.
"""

import pytest
from walk_oracle import assert_walks_equal

from gridmap.coverage import CoverageInputs, CoverageParams, compute_coverage

CATEGORIES = ("clinic", "elderly_care", "food")
SAMPLE = 40


@pytest.fixture(scope="module")
def result(demo_data):
    inputs = CoverageInputs.from_layers(demo_data.layers)
    params = CoverageParams(categories=CATEGORIES, levels=(15,), circles=False, gaps=False)
    return inputs, compute_coverage(inputs, params)


@pytest.mark.slow
def test_distances_equal_networkx(result):
    inputs, res = result
    assert assert_walks_equal(inputs, res, CATEGORIES, sample=SAMPLE) >= len(CATEGORIES) * SAMPLE * 0.9
