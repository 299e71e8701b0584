"""Tiles encoded by PostGIS decode to the features the encoder over layers in memory gives:
the same features with the same properties, geometry within a tile unit or so (each rounds
and simplifies on its own), and the same scope filtering."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest
import shapely
from shapely.geometry import shape

from gridmap.scope import AREA_INPUTS, grid_leader_area
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer
from gridmap.store.mvt import postgis_tile
from gridmap.tiles import TileSource, encode_tile

pytestmark = pytest.mark.postgis

#: the layers and zooms compared, with the display columns the service tiles carry
CASES = {"grids": ((13, 14, 15), ("code", "name", "level", "kind", "community_id", "households")),
         "buildings": ((15, 16), ("name", "use", "levels", "households", "residents", "compound_id")),
         "facilities": ((14, 16), ("name", "kind", "categories", "level", "capacity")),
         "roads": ((14, 15), ("highway", "name"))}  # fmt: skip
#: how far apart (tile units of 4096 to a side) the two drawings of a feature may lie
UNITS = 2.0


@pytest.fixture(scope="module")
def demo(demo_copy):
    engine = make_engine(demo_copy("postgis", "mvt"))
    frames = {name: read_layer(engine, name) for name in {*CASES, *AREA_INPUTS}}
    yield engine, frames
    engine.dispose()


def _decoded(data: bytes, layer: str) -> dict[int, tuple[dict, shapely.Geometry]]:
    if not data:
        return {}
    tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return {f["properties"]["id"]: ({k: v for k, v in f["properties"].items()}, shape(f["geometry"]))
            for f in tile[layer]["features"]}  # fmt: skip


def _tiles(frame, zooms):
    """Tiles over the layer's busiest part: those holding its first features' middles."""
    matrix = morecantile.tms.get("WebMercatorQuad")
    points = frame.geometry.representative_point().iloc[:: max(len(frame) // 4, 1)]
    return sorted({(t.z, t.x, t.y) for z in zooms for p in points for t in [matrix.tile(p.x, p.y, z)]})


def _same(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for fid, (props, geom) in ours.items():
        other_props, other_geom = theirs[fid]
        assert props == other_props, fid
        if geom.area > 4 or geom.length > 4:  # a sliver a unit wide may round away on either side
            assert shapely.hausdorff_distance(geom, other_geom) <= UNITS, fid


@pytest.mark.parametrize("layer", sorted(CASES))
def test_postgis_tiles_hold_the_features_the_memory_encoder_draws(demo, layer):
    engine, frames = demo
    zooms, columns = CASES[layer]
    source = TileSource.from_frame(layer, frames[layer], columns)
    tiles = _tiles(frames[layer], zooms)
    assert tiles
    for z, x, y in tiles:
        ours = _decoded(postgis_tile(engine, layer, columns, z, x, y), layer)
        theirs = _decoded(encode_tile([(source, None)], z, x, y), layer)
        assert ours, (layer, z, x, y)
        _same(ours, theirs)


def test_postgis_tiles_keep_to_the_caller_s_scope(demo):
    engine, frames = demo
    grid = int(frames["grids"].index[0])
    keep = grid_leader_area(frames, (grid,)).ids["buildings"]
    columns = CASES["buildings"][1]
    source = TileSource.from_frame("buildings", frames["buildings"], columns)
    inside = frames["buildings"].loc[sorted(keep)]
    for z, x, y in _tiles(inside, (16,)):
        ours = _decoded(postgis_tile(engine, "buildings", columns, z, x, y, keep), "buildings")
        assert ours and set(ours) <= set(keep)
        _same(ours, _decoded(encode_tile([(source, keep)], z, x, y), "buildings"))
        everyone = _decoded(postgis_tile(engine, "buildings", columns, z, x, y), "buildings")
        assert set(everyone) - set(keep)  # the tile holds others' buildings, left out above
    assert postgis_tile(engine, "buildings", columns, 16, *_tiles(inside, (16,))[0][1:], keep=[]) == b""
