"""Databases for tests: an initialised, emptied one at a URL (SpatiaLite or PostGIS)."""

from sqlalchemy import Engine, delete

from gridmap.store.engine import make_engine
from gridmap.store.schema import init_db
from gridmap.store.tables import metadata


def emptied(url: str) -> Engine:
    """An engine on the database at ``url``, its schema current and every table empty."""
    engine = make_engine(url)
    init_db(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    return engine
