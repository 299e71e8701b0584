"""An area computed from the few columns ``AREA_COLUMNS`` names of the layers that belong to it
by reference is the area computed from those layers whole: for every seventh grid, every
community and every street of the demo."""

from __future__ import annotations

import pytest

from gridmap.scope import AREA_COLUMNS, COMMUNITY_AREA_INPUTS, community_area, grid_leader_area
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_columns, read_layer


@pytest.fixture(scope="module")
def frames(demo_db):
    engine = make_engine(demo_db)
    whole = {n: read_layer(engine, n) for n in COMMUNITY_AREA_INPUTS}
    light = {
        n: read_columns(engine, n, AREA_COLUMNS[n]) if n in AREA_COLUMNS else whole[n]
        for n in COMMUNITY_AREA_INPUTS
    }
    engine.dispose()
    return whole, light


def test_a_grid_s_area_from_the_columns_it_needs_is_the_area_from_the_layers_whole(frames):
    whole, light = frames
    for grid in whole["grids"].index[::7]:
        a, b = grid_leader_area(whole, (int(grid),)), grid_leader_area(light, (int(grid),))
        assert a.ids == b.ids and a.label == b.label and a.outline.equals(b.outline), grid
    assert sum(len(v) for v in a.ids.values()) > 0


def test_a_community_s_and_a_street_s_area_likewise(frames):
    whole, light = frames
    for community in whole["communities"].index:
        a, b = community_area(whole, (int(community),)), community_area(light, (int(community),))
        assert a.ids == b.ids and a.label == b.label, community
    communities = whole["communities"]
    for street in whole["streets"].index:
        chosen = tuple(int(c) for c in communities.index[communities["street_id"] == street])
        a, b = community_area(whole, chosen, int(street)), community_area(light, chosen, int(street))
        assert a.ids == b.ids and a.label == b.label and chosen, street
