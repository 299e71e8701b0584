"""Create and upgrade the database schema with Alembic (``gridmap db init | db upgrade``).

GeoAlchemy2, which knows how Alembic should treat geometry columns, is imported by the
functions that compare or write the schema, not by the service's check of its revision.
"""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, text

from gridmap.store.engine import is_sqlite
from gridmap.store.revision import MIGRATIONS_DIR, head_revision
from gridmap.store.tables import Geometry, metadata


def include_object(obj, name, obj_type, reflected, compare_to) -> bool:
    """Only our own tables: SpatiaLite and PostGIS keep internal tables beside them."""
    from geoalchemy2 import alembic_helpers

    if obj_type == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def alembic_metadata() -> MetaData:
    """The tables as Alembic compares and writes them: each geometry column of GeoAlchemy2's
    type (which adds its spatial index and writes its migration operations), where the tables
    the service and the command line use have a type of their own (:class:`Geometry`)."""
    from geoalchemy2 import Geometry as GeoAlchemyGeometry  # also reads geometry columns back

    copy = MetaData()
    for table in (original.to_metadata(copy) for original in metadata.sorted_tables):
        for column in list(table.c):
            kind = column.type
            if isinstance(kind, Geometry):
                spatial = GeoAlchemyGeometry(kind.geometry_type, srid=kind.srid, spatial_index=kind.indexed,
                                             nullable=bool(column.nullable))  # fmt: skip
                table.append_column(
                    Column(column.name, spatial, nullable=column.nullable), replace_existing=True
                )
    return copy


def schema_differences(engine: Engine) -> list:
    """What differs between the database's schema and the tables (empty when in step)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        return list(compare_metadata(context, alembic_metadata()))


def _config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _prepare(engine: Engine) -> None:
    if not is_sqlite(engine):
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))


def upgrade_db(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    _prepare(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def init_db(engine: Engine) -> str:
    """Create the schema in an empty database (or upgrade an existing one); returns the revision."""
    upgrade_db(engine)
    return head_revision()


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new migration for the difference between the tables and the database."""
    _prepare(engine)
    with engine.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
