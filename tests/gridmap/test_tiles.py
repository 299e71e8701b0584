"""The encoder over layers in memory cuts a tile holding outlines GEOS cannot snap onto the
tile grid as they are (invalid ones: a hole outside its shell, a bow-tie), instead of failing
the whole tile: they are made valid first and stay polygons."""

from __future__ import annotations

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import shapely
from shapely.geometry import shape

from gridmap.tiles import TileSource, encode_tile

X, Y = 104.06, 30.66


def test_a_tile_with_invalid_outlines_is_cut_and_keeps_them_as_polygons():
    square = [(X, Y), (X + 0.004, Y), (X + 0.004, Y + 0.004), (X, Y + 0.004)]
    hole_outside = [
        (X + 0.005, Y + 0.001),
        (X + 0.006, Y + 0.001),
        (X + 0.006, Y + 0.002),
        (X + 0.005, Y + 0.002),
    ]
    shapes = [shapely.Polygon(square, holes=[hole_outside]),
              shapely.Polygon([(X, Y), (X + 0.004, Y + 0.004), (X + 0.004, Y), (X, Y + 0.004)]),  # a bow-tie
              shapely.box(X + 0.001, Y + 0.001, X + 0.002, Y + 0.002)]  # fmt: skip
    assert not any(shapely.is_valid(shapes[:2]))
    frame = gpd.GeoDataFrame({"name": ["hole outside", "bow-tie", "valid"]}, geometry=shapes, crs=4326,
                             index=[1, 2, 3])  # fmt: skip
    source = TileSource.from_frame("grids", frame, ("name",))
    tile = morecantile.tms.get("WebMercatorQuad").tile(X + 0.002, Y + 0.002, 15)
    data = encode_tile([(source, None)], tile.z, tile.x, tile.y)
    features = mapbox_vector_tile.decode(data)["grids"]["features"]
    assert sorted(f["properties"]["id"] for f in features) == [1, 2, 3]
    for feature in features:
        geometry = shape(feature["geometry"])
        assert geometry.geom_type in ("Polygon", "MultiPolygon") and geometry.area > 0
