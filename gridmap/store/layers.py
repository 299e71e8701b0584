"""Read and write layers as GeoDataFrames, each write in one transaction.

Geometry crosses the database boundary as WKB in EPSG:4326, with ``ST_AsBinary`` and
``ST_GeomFromWKB``, which SpatiaLite and PostGIS both provide; so both backends behave alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import table as table_clause
from sqlalchemy.exc import DBAPIError

from gridmap.crs import STORAGE_CRS, STORAGE_SRID
from gridmap.errors import DatabaseError, NotFoundError
from gridmap.model import LayerSpec, layer_spec
from gridmap.store.engine import fetch, write_transaction
from gridmap.store.sqlite_rows import sqlite_insert
from gridmap.store.tables import GEOMETRY_COLUMN, LAYER_TABLES, audit_log, layer_versions


def python_value(value: Any, kind: str) -> Any:
    """A pandas/numpy cell as the Python value the database driver expects."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or (not isinstance(value, str | bytes | list) and pd.isna(value)):
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        if isinstance(value, dt.datetime | pd.Timestamp):
            return value.date()
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value
    if kind == "datetime" and isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if kind == "str":
        return str(value)
    return value


_PLAIN = {"int": int, "float": float, "bool": bool, "str": str}


def python_column(column: pd.Series, kind: str) -> list[Any]:
    """:func:`python_value` of every cell of a column, its missing cells found at once."""
    missing = column.isna().to_numpy()
    convert = _PLAIN.get(kind)
    if convert is None:
        return [None if m else python_value(v, kind) for v, m in zip(column.tolist(), missing, strict=True)]
    return [None if m else convert(v) for v, m in zip(column.tolist(), missing, strict=True)]


def select_frame(conn: Connection, query: Select[Any]) -> pd.DataFrame:
    """The rows of ``query`` as a frame, one column per selected column, as SQLAlchemy's
    rows would give them: executed by SQLAlchemy, read from the driver's cursor. SQLAlchemy's
    making of a row object for each row took 40 % of the read of a large layer (the demo's
    41,368 households on SpatiaLite: 163 against 96 ms); the conversions its types make of
    the driver's values (SQLite's dates, times and booleans) are made here column by column,
    by the same functions."""
    dialect = conn.dialect
    result = conn.execute(query)
    error = dialect.loaded_dbapi.Error
    try:
        cursor = result.cursor
        convert = [
            column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            for column, described in zip(query.selected_columns, cursor.description, strict=True)
        ]
        rows = cursor.fetchall()
    except error as exc:
        raise DBAPIError.instance(None, None, exc, error, dialect=dialect) from exc
    finally:
        result.close()
    if rows and any(processor is not None for processor in convert):  # converted by column
        columns = [
            values if processor is None else [processor(v) for v in values]
            for values, processor in zip(zip(*rows, strict=True), convert, strict=True)
        ]
        rows = list(zip(*columns, strict=True))  # back to rows: replacing a frame's columns cost more
    return pd.DataFrame.from_records(rows, columns=list(result.keys()))


def _records(frame: pd.DataFrame, spec: LayerSpec) -> list[dict[str, Any]]:
    columns = [c for c in spec.columns if c.name in frame.columns]
    names = [c.name for c in columns]
    values = [python_column(frame[c.name], c.kind) for c in columns]
    rows: list[dict[str, Any]] = (
        [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
        if values
        else [{} for _ in range(len(frame))]
    )
    if "id" in frame.columns:
        for row, ident in zip(rows, frame["id"].tolist(), strict=True):
            if not pd.isna(ident):  # None, NaN or NA: the database numbers it
                row["id"] = int(ident)
    if spec.geometry:
        add_wkb(rows, frame.geometry.values, spec.geometry)
    return rows


WKB_KEY = "geom_wkb"


def layer_wkb(geoms: np.ndarray, geometry_type: str) -> np.ndarray:
    """Each geometry as little-endian WKB of the table's type (None stays None)."""
    return shapely.to_wkb(as_layer_type(np.asarray(geoms), geometry_type), hex=False, byte_order=1)


def add_wkb(rows: list[dict[str, Any]], geoms: np.ndarray, geometry_type: str) -> None:
    """Put each geometry, as little-endian WKB of the table's type, into its row under ``WKB_KEY``."""
    for row, blob in zip(rows, layer_wkb(geoms, geometry_type), strict=True):
        row[WKB_KEY] = blob


def insert_values(names: list[str], spatial: bool) -> dict[str, Any]:
    """Bound values for an INSERT of ``names``, the geometry built from ``WKB_KEY`` in EPSG:4326."""
    values: dict[str, Any] = {k: bindparam(k) for k in names if k != WKB_KEY}
    if spatial:
        values[GEOMETRY_COLUMN] = func.ST_GeomFromWKB(bindparam(WKB_KEY), STORAGE_SRID)
    return values


def wkb_select(table) -> Any:
    """The table's geometry as WKB, labelled ``WKB_KEY``, for a SELECT."""
    return func.ST_AsBinary(table.c[GEOMETRY_COLUMN]).label(WKB_KEY)


def with_geometry(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Turn the ``WKB_KEY`` column of selected rows into the geometry (EPSG:4326)."""
    geoms = shapely.from_wkb(frame.pop(WKB_KEY).to_numpy()) if len(frame) else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=STORAGE_CRS)


def as_layer_type(geoms: np.ndarray, geometry_type: str) -> np.ndarray:
    """Promote single polygons to MultiPolygons for MULTIPOLYGON layers; others unchanged."""
    if geometry_type != "MULTIPOLYGON":
        return geoms
    single = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    out = geoms.copy()
    out[single] = shapely.multipolygons(geoms[single][:, np.newaxis])  # each of one part
    return out


def _insert_new(dialect: str, table) -> Any:
    """An INSERT into ``table`` that leaves a row whose primary key exists as it is (``ON
    CONFLICT DO NOTHING``), in the dialect's own words: each dialect is imported when first
    needed (PostgreSQL's is a fiftieth of a second of a command's start on SpatiaLite)."""
    keys = [c.name for c in table.primary_key.columns]
    dialect_insert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=keys)


def insert_if_missing(conn: Connection, table, **values: Any) -> None:
    """INSERT one row unless a row with its primary key exists (``ON CONFLICT DO NOTHING``)."""
    conn.execute(_insert_new(conn.dialect.name, table).values(**values))


@functools.cache
def _new_version(dialect: str) -> Any:
    """The statement that starts a layer's version counter, in ``dialect``'s words, built once
    (each write only binds its values)."""
    return _insert_new(dialect, layer_versions)


_NEXT_VERSION = (
    update(layer_versions)
    .where(layer_versions.c.layer == bindparam("layer_name"))
    .values(version=layer_versions.c.version + 1, updated_at=bindparam("now"))
    .returning(layer_versions.c.version)
)
_AUDIT = insert(audit_log)


def bump_version(conn: Connection, layer: str) -> int:
    """Increment the layer's version counter (for tile caches) and return the new value.

    One atomic ``UPDATE … SET version = version + 1``: concurrent writers each move it once,
    and the row lock it takes holds until the writer's transaction commits."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    conn.execute(_new_version(conn.dialect.name), {"layer": layer, "version": 0, "updated_at": now})
    return int(conn.execute(_NEXT_VERSION, {"layer_name": layer, "now": now}).scalar_one())


def record_audit(
    conn: Connection,
    *,
    user: str,
    action: str,
    layer: str,
    feature_id: int | None = None,
    count: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit record: who did what to which layer (and feature), and when (UTC)."""
    conn.execute(
        _AUDIT,
        {
            "at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "user_name": user,
            "action": action,
            "layer": layer,
            "feature_id": feature_id,
            "count": count,
            "detail": json.dumps(dict(detail), ensure_ascii=False, default=str) if detail else None,
        },
    )


def insert_rows(conn: Connection, layer: str, frame: pd.DataFrame) -> int:
    """Insert the rows of ``frame`` into ``layer`` on an open connection; returns the count.

    ``frame`` must already be valid and, for a spatial layer, in EPSG:4326 with the layer's
    geometry type. Rows with an ``id`` keep it; others get the next id.
    """
    spec = layer_spec(layer)
    table = LAYER_TABLES[layer]
    if conn.dialect.name != "postgresql":
        return _sqlite_insert_rows(conn, table, frame, spec)
    rows = _records(frame, spec)
    if not rows:
        return 0
    with_id = [r for r in rows if "id" in r]
    without_id = [r for r in rows if "id" not in r]
    for group in (with_id, without_id):
        if not group:
            continue
        _copy_records(conn, table.name, group)
    if with_id:
        # keep the serial ahead of explicitly given ids
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{layer}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {layer}), false)"
        )
    return len(rows)


def _sqlite_insert_rows(conn: Connection, table: Table, frame: pd.DataFrame, spec: LayerSpec) -> int:
    """:func:`insert_rows` on SpatiaLite: each column's values as :func:`python_column` makes
    them and SQLAlchemy's type for the column would bind them (dates and times as text,
    truth values as 1 and 0), missing values as NaN, which SQLite binds as NULL; the rows
    with an id and those without in a statement of their own
    (:func:`~gridmap.store.sqlite_rows.sqlite_insert`)."""
    if len(frame) == 0:
        return 0
    dialect = conn.dialect
    columns = [c for c in spec.columns if c.name in frame.columns and c.name != "id"]
    names = [c.name for c in columns]
    id_at = len(columns)  # the cells of a row: its columns', its id, its geometry's WKB
    cells = np.empty((len(frame), id_at + 1 + bool(spec.geometry)), dtype=object)
    for at, column in enumerate(columns):
        bind = table.c[column.name].type.dialect_impl(dialect).bind_processor(dialect)
        values = python_column(frame[column.name], column.kind)
        cells[:, at] = [math.nan if v is None else v if bind is None else bind(v) for v in values]
    given = np.zeros(len(frame), dtype=bool)
    if "id" in frame.columns:
        ids = frame["id"]
        given = ids.notna().to_numpy()  # None, NaN or NA: the database numbers it
        cells[given, id_at] = [int(v) for v in ids[given].tolist()]
    if spec.geometry:
        cells[:, -1] = [math.nan if b is None else b for b in layer_wkb(frame.geometry.values, spec.geometry)]
    wkb_at = [id_at + 1] if spec.geometry else []
    geometry = [GEOMETRY_COLUMN] if spec.geometry else []
    for rows, taken, named in (
        (given, [*range(id_at + 1), *wkb_at], [*names, "id", *geometry]),
        (~given, [*range(id_at), *wkb_at], [*names, *geometry]),  # numbered by the database
    ):
        if rows.any():
            sqlite_insert(conn, table, named, cells[np.ix_(rows, taken)], spatial=bool(spec.geometry))
    return len(frame)


def copy_rows(conn: Connection, name: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows of plain values into the ``columns`` of table ``name`` by PostgreSQL's ``COPY``:
    many times faster than an INSERT a row."""
    quote = conn.dialect.identifier_preparer.quote
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {quote(name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _copy_records(conn: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """Records (each with the same keys) into table ``name`` by :func:`copy_rows`, the
    geometry as hex EWKB (EPSG:4326), which PostGIS reads as text."""
    names = list(rows[0])
    at = names.index(WKB_KEY) if WKB_KEY in names else -1

    def values(row: dict[str, Any]) -> list[Any]:
        out = list(row.values())
        if at >= 0 and out[at] is not None:
            out[at] = ewkb_hex(out[at])
        return out

    copy_rows(conn, name, [GEOMETRY_COLUMN if n == WKB_KEY else n for n in names], map(values, rows))


_SRID_FLAG = 0x20000000


def ewkb_hex(wkb: bytes) -> str:
    """Little-endian WKB as hex EWKB with the storage SRID in its header."""
    kind = int.from_bytes(wkb[1:5], "little") | _SRID_FLAG
    return (wkb[:1] + kind.to_bytes(4, "little") + STORAGE_SRID.to_bytes(4, "little") + wkb[5:]).hex()


def insert_one(conn: Connection, layer: str, frame: pd.DataFrame) -> int:
    """Insert the single row of ``frame`` (validated, EPSG:4326) and return its new id."""
    spec = layer_spec(layer)
    table = LAYER_TABLES[layer]
    (row,) = _records(frame, spec)
    row.pop("id", None)
    statement = insert(table).values(insert_values(list(row), bool(spec.geometry))).returning(table.c.id)
    return int(conn.execute(statement, row).scalar_one())


def write_layer(
    engine: Engine,
    layer: str,
    frame: pd.DataFrame,
    *,
    mode: str = "append",
    user: str = "system",
    action: str = "import",
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Write ``frame`` to ``layer`` in one transaction; returns the number of rows written.

    ``mode`` is ``append`` or ``replace`` (delete what the layer holds first). The write,
    the audit record and the version bump commit together or not at all.
    """
    if mode not in ("append", "replace"):
        raise ValueError(f"mode was '{mode}' but is expected to be 'append' or 'replace'")
    table = LAYER_TABLES[layer_spec(layer).name]
    with write_transaction(engine) as conn:
        if mode == "replace":
            conn.execute(delete(table))
        count = insert_rows(conn, layer, frame)
        record_audit(conn, user=user, action=action, layer=layer, count=count, detail=detail)
        bump_version(conn, layer)
    return count


def _select_columns(layer: str, columns: Iterable[str] | None, geometry: bool = True):
    spec = layer_spec(layer)
    table = LAYER_TABLES[layer]
    names = ["id", *(columns if columns is not None else spec.column_names)]
    unknown = [n for n in names if n not in table.c]
    if unknown:
        raise NotFoundError(
            f"layer '{layer}' has no column(s) {', '.join(unknown)}; "
            f"it has: {', '.join(c.name for c in table.c)}"
        )
    cols = [table.c[n] for n in names]
    if spec.geometry and geometry:
        cols.append(wkb_select(table))
    return spec, table, cols


def read_layer(
    source: Engine | Connection,
    layer: str,
    *,
    columns: Iterable[str] | None = None,
    where: Mapping[str, Any] | None = None,
    ids: Iterable[int] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    geometry: bool = True,
) -> pd.DataFrame:
    """Read ``layer`` as a GeoDataFrame in EPSG:4326 (a DataFrame for a non-spatial layer, or
    without ``geometry``: the attributes alone, as a province's are read whole).

    ``where`` filters on column equality; ``ids`` on feature ids; ``bbox`` (west, south,
    east, north, EPSG:4326) to the features whose bounding box meets it, through the layer's
    spatial index. The index is the feature id.
    """
    spec, table, cols = _select_columns(layer, columns, geometry)
    query = select(*cols).order_by(table.c.id)
    for name, value in (where or {}).items():
        query = query.where(table.c[name] == value)
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    if bbox is not None:
        query = query.where(_meets_box(source.dialect.name, table, bbox))
    try:
        if isinstance(source, Engine):
            with source.connect() as conn:
                frame = select_frame(conn, query)
        else:
            frame = select_frame(source, query)
    except Exception as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise DatabaseError(f"the database has no table '{layer}'; run 'gridmap db init' first") from exc
        raise
    frame = frame.set_index("id", drop=False)
    frame.index.name = None
    for col in spec.columns:
        if col.name in frame.columns and col.kind == "date":
            frame[col.name] = frame[col.name].map(
                lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v
            )
    return with_geometry(frame) if spec.geometry and geometry else frame


def read_columns(engine: Engine, layer: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """The ``id`` and ``columns`` (whole numbers or text) of every feature of ``layer``,
    indexed by feature id, as :func:`read_layer` gives them, from the driver's rows as they
    are: SQLAlchemy's work on each row took two thirds of the time on the demo's 41,368
    households. For the columns that tie features to one another, read again at each edit."""
    kinds = {c.name: c.kind for c in layer_spec(layer).columns}
    other = [c for c in columns if kinds.get(c) not in ("int", "str")]
    if other:
        raise ValueError(f"read_columns reads whole numbers and text, not {', '.join(other)} of '{layer}'")
    rows = fetch(engine, _columns_select(layer, tuple(columns)), plain=True)
    frame = pd.DataFrame.from_records(rows, columns=["id", *columns])
    frame = frame.set_index("id", drop=False)
    frame.index.name = None
    return frame


@functools.cache
def _columns_select(layer: str, columns: tuple[str, ...]) -> Select[Any]:
    """One statement per layer and columns, for :func:`fetch` to compile once."""
    table = LAYER_TABLES[layer]
    return select(table.c.id, *(table.c[c] for c in columns)).order_by(table.c.id)


def _meets_box(dialect: str, table, bbox: tuple[float, float, float, float]):
    """Features whose bounding box meets ``bbox`` (EPSG:4326), found through the spatial index."""
    west, south, east, north = (float(v) for v in bbox)
    geom = table.c[GEOMETRY_COLUMN]
    if dialect == "postgresql":
        return geom.op("&&")(func.ST_MakeEnvelope(west, south, east, north, STORAGE_SRID))
    index: Select[Any] = (
        select(literal_column("ROWID"))
        .select_from(table_clause("SpatialIndex"))
        .where(literal_column("f_table_name") == table.name)
        .where(literal_column("search_frame") == func.BuildMbr(west, south, east, north, STORAGE_SRID))
    )
    return table.c.id.in_(index)


def layer_keys(
    source: Engine | Connection,
    layer: str,
    *,
    ids: Iterable[int] | None = None,
    codes: Iterable[str] | None = None,
) -> list[tuple[int, str | None]]:
    """(id, code) of ``layer``'s features by id (code None where the layer has no code
    column): every feature, or with ``ids`` or ``codes`` only those whose id or code is
    among them, as a check of one edited feature needs."""
    spec, table = layer_spec(layer), LAYER_TABLES[layer]
    code = table.c[spec.code] if spec.code else literal_column("NULL")
    query = select(table.c.id, code).order_by(table.c.id)
    if ids is not None or codes is not None:
        named = [table.c.id.in_(sorted(set(ids or ())))]
        if spec.code:
            named.append(code.in_(sorted(set(codes or ()))))
        query = query.where(or_(*named))
    if isinstance(source, Engine):
        with source.connect() as conn:
            rows = conn.execute(query).all()
    else:
        rows = source.execute(query).all()
    return [(int(i), c) for i, c in rows]


def layer_bounds(source: Engine | Connection, layer: str) -> tuple[float, float, float, float] | None:
    """The extent of ``layer``'s features (west, south, east, north, EPSG:4326); None when it
    has none."""
    geom = LAYER_TABLES[layer].c[GEOMETRY_COLUMN]
    if source.dialect.name == "postgresql":
        parts = [func.ST_XMin(geom), func.ST_YMin(geom), func.ST_XMax(geom), func.ST_YMax(geom)]
    else:
        parts = [func.MbrMinX(geom), func.MbrMinY(geom), func.MbrMaxX(geom), func.MbrMaxY(geom)]
    query = select(func.min(parts[0]), func.min(parts[1]), func.max(parts[2]), func.max(parts[3]))
    if isinstance(source, Engine):
        with source.connect() as conn:
            row = conn.execute(query).one()
    else:
        row = source.execute(query).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def layer_counts(engine: Engine) -> dict[str, int]:
    """Number of features in every layer."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for name, table in LAYER_TABLES.items():
            out[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return out


#: every layer's version counter (the service reads it on every request)
ALL_VERSIONS = select(layer_versions.c.layer, layer_versions.c.version)


def layer_versions_now(engine: Engine) -> dict[str, int]:
    """Every layer's version counter, as committed now."""
    return versions_of(fetch(engine, ALL_VERSIONS))


def versions_of(rows: Iterable[Any]) -> dict[str, int]:
    """Layer → version counter of rows with ``layer`` and ``version`` (rows without a layer,
    as an outer join gives them, left out)."""
    return {row.layer: int(row.version) for row in rows if row.layer is not None}


def layer_version(engine: Engine, layer: str) -> int:
    """The layer's version counter (0 before its first write)."""
    with engine.connect() as conn:
        value = conn.execute(
            select(layer_versions.c.version).where(layer_versions.c.layer == layer)
        ).scalar_one_or_none()
    return int(value or 0)


def lock_layer(conn: Connection, layer: str) -> None:
    """Keep other writers out of ``layer`` until the transaction ends: on PostGIS a table lock
    that reads still pass; on SQLite the immediate transaction holds the file's write lock."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"LOCK TABLE {LAYER_TABLES[layer_spec(layer).name].name} IN SHARE ROW EXCLUSIVE MODE"
        )


def update_rows(conn: Connection, layer: str, frame: pd.DataFrame, columns: Iterable[str]) -> int:
    """Set ``columns`` (and the geometry, where ``frame`` has one) of the stored features whose
    ids are ``frame["id"]`` to the frame's values (checked, EPSG:4326); returns the count."""
    spec = layer_spec(layer)
    table = LAYER_TABLES[layer]
    names = [c for c in columns if c in spec.column_names]
    known = {c.name: c for c in spec.columns}
    if not len(frame):
        return 0
    rows: list[dict[str, Any]] = [
        {
            "_id": int(ident),
            **{f"v_{n}": python_value(v, known[n].kind) for n, v in zip(names, values, strict=True)},
        }
        for ident, *values in zip(frame["id"].tolist(), *(frame[n].tolist() for n in names), strict=True)
    ]
    # bound names differ from the columns' own: SQLAlchemy keeps those for the SET clause
    values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in names}
    if spec.geometry and "geometry" in frame.columns:
        add_wkb(rows, frame.geometry.values, spec.geometry)
        values[GEOMETRY_COLUMN] = func.ST_GeomFromWKB(bindparam(WKB_KEY), STORAGE_SRID)
    conn.execute(update(table).where(table.c.id == bindparam("_id")).values(values), rows)
    return len(rows)


def delete_rows(conn: Connection, layer: str, ids: Iterable[int]) -> int:
    """Delete the features ``ids`` of ``layer``; returns the count."""
    wanted = [int(i) for i in ids]
    table = LAYER_TABLES[layer_spec(layer).name]
    for start in range(0, len(wanted), 500):
        conn.execute(delete(table).where(table.c.id.in_(wanted[start : start + 500])))
    return len(wanted)
