"""The database tables, built from the layer specs of :mod:`gridmap.model`.

Every layer is one table named after it, with an integer ``id`` and, for spatial layers, a
``geom`` column in EPSG:4326 with a spatial index. Beside the layers: ``audit_log`` (every
edit: who, when, what) and ``layer_versions`` (a counter per layer, bumped on every write).
Migrations in ``gridmap/store/migrations`` create the same schema; a test keeps them equal.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from gridmap.crs import STORAGE_SRID
from gridmap.model import LAYER_SPECS, LayerSpec

GEOMETRY_COLUMN = "geom"

_SQL_TYPES = {
    "str": Text,
    "int": Integer,
    "float": Float,
    "bool": Boolean,
    "date": Date,
    "datetime": DateTime,
}

metadata = MetaData()


def _layer_table(spec: LayerSpec) -> Table:
    referenced = {r.column for r in spec.references}
    columns: list[Column] = [Column("id", Integer, primary_key=True, autoincrement=True)]
    for col in spec.columns:
        sql_type = BigInteger if col.name in ("osm_id", "osm_way_id", "u", "v") else _SQL_TYPES[col.kind]
        columns.append(
            Column(
                col.name,
                sql_type,
                nullable=not col.required,
                unique=col.name == spec.code,
                index=col.name in referenced,
            )
        )
    if spec.geometry:
        columns.append(
            Column(
                GEOMETRY_COLUMN,
                Geometry(spec.geometry, srid=STORAGE_SRID, spatial_index=True),
                nullable=False,
            )
        )
    return Table(spec.name, metadata, *columns)


LAYER_TABLES: dict[str, Table] = {name: _layer_table(spec) for name, spec in LAYER_SPECS.items()}

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("layer", String(50), nullable=False),
    Column("feature_id", Integer),
    Column("count", Integer),
    Column("detail", Text),
)

layer_versions = Table(
    "layer_versions",
    metadata,
    Column("layer", String(50), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
