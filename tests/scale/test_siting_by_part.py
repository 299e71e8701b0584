"""Siting by district: each district's new sites lie inside it and serve its own homes, the
homes across its border counted as served by what they already reach."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridmap.scale.siting import sites_by_part, siting_cut
from gridmap.scale.sources import StoreSource, close_engines
from gridmap.siting.proposal import SitingParams
from gridmap.standards import load_checklist

CHECKLIST = load_checklist()
PARAMS = SitingParams(categories=("elderly_care",), count=2, min_reach_homes=10)


@pytest.fixture(scope="module")
def demo_url(demo_copy):
    yield demo_copy("spatialite", "siting-parts")
    close_engines()


def test_each_district_gets_its_own_sites_inside_it(demo_url):
    source = StoreSource(demo_url)
    cut = siting_cut(source, PARAMS, CHECKLIST)
    parts = sites_by_part(source, cut, PARAMS, checklist=CHECKLIST)
    proposed = [p for p in parts if p.proposal is not None]
    assert len(proposed) >= 3
    for part in proposed:
        area = cut.areas[[q.key for q in cut.parts].index(part.key)]
        sites = part.proposal.sites.to_crs(4326)
        assert len(sites) == 2 and shapely.covers(area, sites.geometry.values).all(), part.key
        assert part.used["buildings"]["features"] > 0
        gained = part.proposal.area_coverage()
        assert (gained["residents_new"] > 0).all()
    # a district too small for a station says why instead of stopping the others
    small = [p for p in parts if p.proposal is None and p.problem]
    assert all("reaches" in p.problem for p in small)
    # every home counted once: the parts' homes are the demo's homes
    buildings = gpd.GeoDataFrame(source.read(None, ("buildings",)).buildings)
    homes = int((buildings["residents"].fillna(0) > 0).sum())
    counted = sum(int(p.proposal.coverage.query("scope == 'area'")["homes"].iloc[0]) for p in proposed)
    counted += sum(p.used["buildings"]["features"] for p in small)
    assert counted <= homes and counted > 0.9 * homes
    assert np.isfinite([p.seconds for p in parts]).all()
