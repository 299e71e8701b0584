"""The database tables, built from the layer specs of :mod:`gridmap.model`.

Every layer is one table named after it, with an integer ``id`` and, for spatial layers, a
``geom`` column in EPSG:4326 with a spatial index. Beside the layers: ``audit_log`` (every
edit: who, when, what) and ``layer_versions`` (a counter per layer, bumped on every write).
Migrations in ``gridmap/store/migrations`` create the same schema; a test keeps them equal.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import UserDefinedType

from gridmap.crs import STORAGE_SRID
from gridmap.model import LAYER_SPECS, LayerSpec

GEOMETRY_COLUMN = "geom"


class Geometry(UserDefinedType):
    """A geometry column of one type and SRID, as the migrations make it with GeoAlchemy2.

    Geometry crosses the boundary as WKB, through ``ST_AsBinary`` and ``ST_GeomFromWKB``
    written out where it does (:mod:`gridmap.store.layers`), so this type adds no SQL of its
    own, and every statement using it is compiled once and kept. GeoAlchemy2 (a tenth of a
    second of each start, with the dialects of four databases) is imported only where the
    schema is made or compared: :func:`gridmap.store.schema.alembic_metadata` gives Alembic
    these tables with GeoAlchemy2's type in its place."""

    cache_ok = True

    def __init__(self, geometry_type: str, srid: int, indexed: bool = True) -> None:
        # "indexed", not GeoAlchemy2's "spatial_index": once GeoAlchemy2 is imported it adds a
        # spatial index to every column whose type has an attribute of that name
        self.geometry_type = geometry_type
        self.srid = srid
        self.indexed = indexed

    def get_col_spec(self, **kw: object) -> str:
        return f"geometry({self.geometry_type},{self.srid})"


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
                Geometry(spec.geometry, srid=STORAGE_SRID, indexed=True),
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

# every version of every edited feature, for its timeline and a one-step revert; edits saved
# together (a changeset, with its comment) share the changeset's id
changesets = Table(
    "changesets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("comment", Text),
    Column("count", Integer, nullable=False),
)

#: the service's background jobs (coverage runs, siting scenarios), kept where every process of
#: the service reads them: one process runs a job, any other answers how far it got
background_jobs = Table(
    "background_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(25), nullable=False),  # ISO 8601, UTC, as the answer gives it
    Column("owner", String(300), nullable=False),  # host:pid of the process that runs it
    Column("status", String(10), nullable=False),  # queued, running, done, failed
    Column("stage", String(50), nullable=False),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("result", Text),  # JSON
    Column("error", Text),  # JSON: status, title, detail
    Column("finished_at", String(25)),
    Column("heard_at", String(25), nullable=False),  # its process's last word: a write or a beat
)

feature_history = Table(
    "feature_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("layer", String(50), nullable=False),
    Column("feature_id", Integer, nullable=False),
    Column("action", String(20), nullable=False),  # create, update, delete, revert
    Column("changeset_id", Integer, index=True),
    Column("before", Text),  # JSON: {"values": {...}, "geometry": GeoJSON} (none for a create)
    Column("after", Text),  # the same after the edit (none for a delete)
    Index("ix_feature_history_feature", "layer", "feature_id"),
)

layer_versions = Table(
    "layer_versions",
    metadata,
    Column("layer", String(50), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# --- coverage runs: parameters, inputs and results of each run, kept for comparison -------

coverage_runs = Table(
    "coverage_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("label", Text),
    Column("method", Text, nullable=False),
    Column("checklist_version", Integer, nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("inputs", Text, nullable=False),  # JSON: layer versions and feature counts
    Column("report", Text, nullable=False),  # JSON: network, islands, unattached, timings
)

coverage_results = Table(
    "coverage_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("home_kind", String(20), nullable=False),
    Column("feature_id", Integer, nullable=False),
    Column("households", Integer, nullable=False),
    Column("residents", Integer, nullable=False),
    Column("category", String(50), nullable=False),
    Column("level", Integer, nullable=False),
    Column("distance_m", Float),
    Column("facility_id", Integer),
    Column("covered", Boolean, nullable=False),
)

coverage_summary = Table(
    "coverage_summary",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("scope", String(20), nullable=False),
    Column("unit_id", Integer),
    Column("code", Text),
    Column("name", Text),
    Column("category", String(50), nullable=False),
    Column("level", Integer, nullable=False),
    Column("homes", Integer, nullable=False),
    Column("homes_uncovered", Integer, nullable=False),
    Column("households", Integer, nullable=False),
    Column("households_covered", Integer, nullable=False),
    Column("residents", Integer, nullable=False),
    Column("residents_covered", Integer, nullable=False),
    Column("share_households", Float),
    Column("share_residents", Float),
)

coverage_compounds = Table(
    "coverage_compounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("compound_id", Integer, nullable=False),
    Column("check", String(50), nullable=False),
    Column("level", Integer, nullable=False),
    Column("passes", Boolean, nullable=False),
    Column("missing", Text),
)


def _shape_table(name: str, *columns: Column) -> Table:
    """A run's outlines (gaps, circles): read whole by run, never by place, so without a
    spatial index, which would cost each saved run a write per outline."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, nullable=False, index=True),
        Column("category", String(50), nullable=False),
        Column("level", Integer, nullable=False),
        *columns,
        Column(GEOMETRY_COLUMN, Geometry("MULTIPOLYGON", srid=STORAGE_SRID, indexed=False), nullable=False),
    )


coverage_gaps = _shape_table(
    "coverage_gaps",
    Column("homes", Integer, nullable=False),
    Column("households", Integer, nullable=False),
    Column("residents", Integer, nullable=False),
)

coverage_circles = _shape_table(
    "coverage_circles",
    Column("facility_id", Integer, nullable=False),
    Column("limit_m", Float, nullable=False),
)

# --- siting scenarios: a proposal's parameters, sites, the homes they reach, and coverage ---

siting_scenarios = Table(
    "siting_scenarios",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("label", Text),
    Column("model", String(20), nullable=False),
    Column("categories", Text, nullable=False),  # comma-separated category ids
    Column("levels", Text, nullable=False),  # comma-separated
    Column("method", Text, nullable=False),
    Column("status", String(50), nullable=False),
    Column("solver", String(20), nullable=False),
    Column("objective", Float, nullable=False),
    Column("bound", Float, nullable=False),
    Column("gap", Float, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("note", Text),
    Column("params", Text, nullable=False),  # JSON
    Column("inputs", Text, nullable=False),  # JSON: layer versions and feature counts
    Column("report", Text, nullable=False),  # JSON: candidates, exclusions, timings
)

siting_sites = Table(
    "siting_sites",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scenario_id", Integer, nullable=False, index=True),
    Column("rank", Integer, nullable=False),
    Column("source", String(30), nullable=False),
    Column("source_id", Text),
    Column("name", Text),
    Column("gain", Float),
    Column("buildings_new", Integer, nullable=False),
    Column("households_new", Integer, nullable=False),
    Column("residents_new", Integer, nullable=False),
    Column("residents_doubtful", Integer),  # of them, in buildings whose homes are a doubtful estimate
    Column("nearest_station_id", Integer),
    Column("nearest_station_name", Text),
    Column("nearest_station_m", Float),
    Column(GEOMETRY_COLUMN, Geometry("POINT", srid=STORAGE_SRID, indexed=True), nullable=False),
)

siting_site_homes = Table(
    "siting_site_homes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scenario_id", Integer, nullable=False, index=True),
    Column("rank", Integer, nullable=False),
    Column("category", String(50), nullable=False),
    Column("level", Integer, nullable=False),
    Column("home_kind", String(20), nullable=False),
    Column("feature_id", Integer, nullable=False),
    Column("households", Integer, nullable=False),
    Column("residents", Integer, nullable=False),
    Column("walk_m", Float, nullable=False),
)

siting_coverage = Table(
    "siting_coverage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scenario_id", Integer, nullable=False, index=True),
    Column("scope", String(20), nullable=False),
    Column("unit_id", Integer),
    Column("code", Text),
    Column("name", Text),
    Column("category", String(50), nullable=False),
    Column("level", Integer, nullable=False),
    Column("homes", Integer, nullable=False),
    Column("households", Integer, nullable=False),
    Column("residents", Integer, nullable=False),
    Column("households_covered_before", Integer, nullable=False),
    Column("households_covered_after", Integer, nullable=False),
    Column("residents_covered_before", Integer, nullable=False),
    Column("residents_covered_after", Integer, nullable=False),
    Column("share_residents_before", Float),
    Column("share_residents_after", Float),
)

# --- accounts of the service: users with a role (and grids), and their sign-in tokens ------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("grids", Text),  # comma-separated grid codes (grid leaders and workers)
    Column("area", String(20)),  # a street's or a community's code (street and community admins)
    # the person whose terms in office give the account its area (ended terms end the rights)
    Column("member_id", Integer),
    Column("person_name", String(100)),
    Column("person_phone", String(30)),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the token, hex
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# --- grid lineage: where redrawn grids came from (split, merged, redrawn, new) -------------

grid_lineage = Table(
    "grid_lineage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("changed_at", DateTime, nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("community_id", Integer, nullable=False, index=True),
    Column("kind", String(30)),
    Column("level", Integer),
    Column("old_grid_id", Integer),  # the retired grid's id; assignments' history refers to it
    Column("old_code", Text, index=True),
    Column("new_code", Text, index=True),
    Column("relation", String(20), nullable=False),  # split | merged | redrawn | new
    Column("area_m2", Float, nullable=False),  # of the old grid taken into the new one
    Column("households", Integer, nullable=False),  # of the old grid taken into the new one
    # the retired grid's outline (EPSG:4326), none for a grid drawn on unassigned land
    Column(GEOMETRY_COLUMN, Geometry("MULTIPOLYGON", srid=STORAGE_SRID, indexed=True)),
)

# --- trust: the service's own secret, and failed sign-ins per account and per address -------

event_history = Table(
    "event_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("level", String(20), nullable=False),
    Column("by_user", String(200), nullable=False),
    Column("by_role", String(30), nullable=False),
    Column("assignee", Text),
    Column("note", Text),
)

event_photos = Table(
    "event_photos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("by_user", String(200), nullable=False),
    Column("content_type", String(50), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

service_secrets = Table(
    "service_secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(128), nullable=False),  # hex; shared by every process of the service
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", String(300), primary_key=True),  # "account:NAME" or "address:IP"
    Column("failures", Integer, nullable=False),  # wrong passwords in a row (within the window)
    Column("first_at", DateTime, nullable=False),  # the first of them (UTC)
    Column("locked_until", DateTime),  # refused until then, even with the right password (UTC)
)
