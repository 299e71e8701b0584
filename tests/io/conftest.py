"""Fixtures of the import tests: a database on each backend holding one district."""

import geopandas as gpd
import pytest
import shapely

DISTRICT = shapely.MultiPolygon([shapely.box(104.04, 30.64, 104.12, 30.70)])


@pytest.fixture
def district(engine):
    """``engine`` with district 510104 锦江区 stored, so that imports have an extent to keep to."""
    from gridmap.store.layers import write_layer

    write_layer(
        engine,
        "districts",
        gpd.GeoDataFrame({"code": ["510104"], "name": ["锦江区"]}, geometry=[DISTRICT], crs=4326),
    )
    return engine
