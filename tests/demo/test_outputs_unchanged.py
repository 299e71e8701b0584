"""What gridmap computes from the demo stays what it was: coverage, gaps, circles, a siting
proposal, a grid drawing, the organisation figures and vector tiles, each reduced to a digest
and compared with ``outputs.json``.

A change that means to alter an output rewrites the file with
``GRIDMAP_WRITE_OUTPUTS=1 pytest tests/demo/test_outputs_unchanged.py`` and says why in its
commit; any other change must leave every digest as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from districts import street_grid_district

from gridmap.coverage import CoverageParams, compute_coverage
from gridmap.gridplan import propose_grids
from gridmap.organisation import ORG_LAYERS, organisation_report
from gridmap.siting.proposal import SitingParams, propose_sites
from gridmap.store.engine import make_engine
from gridmap.store.inputs import load_inputs
from gridmap.store.layers import read_layer
from gridmap.tiles import TileSource, encode_tile, tile_bounds

EXPECTED = Path(__file__).with_name("outputs.json")
#: tiles over the demo's centre at three zooms (z, x, y)
TILES = ((13, 6464, 3362), (15, 25857, 13448), (16, 51715, 26896))
TILE_LAYERS = {"buildings": ("households", "compound_id"), "grids": ("code", "name"), "roads": ("highway",)}


def _canonical(frame: pd.DataFrame) -> str:
    """A frame as text: floats to 6 decimals, geometries as WKT to 7 (about 1 cm)."""
    out = pd.DataFrame(frame).copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, gpd.array.GeometryDtype) or name == "geometry":
            out[name] = shapely.to_wkt(np.asarray(column), rounding_precision=7)
        elif pd.api.types.is_float_dtype(column):
            out[name] = column.round(6)
    return out.to_csv()


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def outputs(demo_db) -> dict[str, str]:
    engine = make_engine(demo_db)
    inputs = load_inputs(engine)
    found: dict[str, str] = {}

    coverage = compute_coverage(inputs, CoverageParams())
    distances = [coverage.distances[k].round(3).tobytes() for k in sorted(coverage.distances)]
    found["coverage distances"] = _digest(*distances)
    found["coverage summary"] = _digest(_canonical(coverage.summary))
    found["coverage compounds"] = _digest(_canonical(coverage.compounds))
    found["coverage gaps"] = _digest(_canonical(coverage.gaps))
    found["coverage circles"] = _digest(_canonical(coverage.circles))

    proposal = propose_sites(inputs, SitingParams(categories=("elderly_care",), count=2))
    found["siting sites"] = _digest(_canonical(proposal.sites))
    found["siting coverage"] = _digest(_canonical(proposal.coverage))

    community, buildings, compounds, roads = street_grid_district()
    plan = propose_grids(community, buildings, compounds=compounds, roads=roads, households=(300, 500))
    found["grid drawing"] = _digest(_canonical(plan.grids), _canonical(plan.lineage))

    report = organisation_report({name: read_layer(engine, name) for name in ORG_LAYERS})
    found["organisation figures"] = _digest(_canonical(report.figures))
    found["organisation leader load"] = _digest(_canonical(report.leader_load))

    sources = [
        (TileSource.from_frame(name, read_layer(engine, name), columns), None)
        for name, columns in TILE_LAYERS.items()
    ]
    found["tiles"] = _digest(*(encode_tile(sources, *tile) for tile in TILES))
    engine.dispose()
    return found


def test_demo_outputs_are_unchanged(outputs):
    if os.environ.get("GRIDMAP_WRITE_OUTPUTS") == "1":
        EXPECTED.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    expected = json.loads(EXPECTED.read_text())
    changed = [
        name for name in sorted(expected.keys() | outputs.keys()) if expected.get(name) != outputs.get(name)
    ]
    assert changed == [], f"outputs changed: {', '.join(changed)}"


def test_the_tiles_compared_hold_features(demo_db):
    """The digests would be idle if the tiles were empty."""
    engine = make_engine(demo_db)
    source = TileSource.from_frame("buildings", read_layer(engine, "buildings"), ())
    engine.dispose()
    for tile in TILES:
        geoms, _ = source.features(tile_bounds(*tile))
        assert len(geoms) > 0, tile
