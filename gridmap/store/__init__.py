"""Storage: SpatiaLite (embedded default) and PostGIS (deployment), through GeoAlchemy2."""

from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer, write_layer

__all__ = ["make_engine", "read_layer", "write_layer"]
