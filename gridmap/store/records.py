"""Rows in and out of the result tables (coverage runs, siting scenarios): plain Python
values for inserts, and frames (with geometry where the table has it) for reads."""

from __future__ import annotations

import math
from itertools import chain
from typing import Any

import pandas as pd
from sqlalchemy import Table, select

from gridmap.crs import STORAGE_SRID
from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.store.layers import copy_rows, ewkb_hex, layer_wkb, select_frame, with_geometry, wkb_select
from gridmap.store.tables import GEOMETRY_COLUMN
from gridmap.values import plain_column


def insert_frame(conn, table: Table, frame: pd.DataFrame, columns: list[str], geometry_type: str | None = None,
                 **fixed: Any) -> None:  # fmt: skip
    """Insert ``frame``'s ``columns`` into ``table``, each row with the ``fixed`` values (an
    owner id); with ``geometry_type`` its geometry too, as WKB of that type (EPSG:4326). Each
    column is converted at once to plain Python values, and the rows go to the driver whole:
    ``COPY`` on PostGIS (missing values None, the geometry as hex EWKB), prepared INSERTs of
    many rows each on SpatiaLite (values as :func:`_sqlite_column` makes them, the geometry
    through ``ST_GeomFromWKB``)."""
    if len(frame) == 0:
        return
    postgres = conn.dialect.name == "postgresql"
    names = [*fixed, *columns]
    cells = plain_column if postgres else _sqlite_column
    values = [[v] * len(frame) for v in fixed.values()] + [cells(frame[c]) for c in columns]
    if geometry_type is not None:
        names.append(GEOMETRY_COLUMN)
        wkb = layer_wkb(frame.geometry.values, geometry_type)
        values.append([None if b is None else ewkb_hex(b) for b in wkb] if postgres else list(wkb))
    rows = list(zip(*values, strict=True))
    if postgres:
        copy_rows(conn, table.name, names, rows)
        return
    _sqlite_insert(conn, table, names, rows, spatial=geometry_type is not None)


#: rows one INSERT statement takes on SpatiaLite: each run of a statement has its own cost
#: beside binding the values, so the demo's 51,180 result rows go in a fifth quicker 50 at a time
SQLITE_ROWS_PER_INSERT = 50
#: the values one statement may bind in the SQLite builds that allow fewest (before 3.32)
SQLITE_MAX_VARIABLES = 999


def _sqlite_column(column: pd.Series) -> list[Any]:
    """A whole column as SQLite's driver binds quickest: truth values as 1 and 0 (as SQLite
    keeps them) and missing values as NaN, which SQLite binds as NULL. The driver binds an
    int, float or str as it is, but looks up an adapter for each None and bool, about a
    microsecond a cell: two thirds of binding a demo run's 51,180 result rows."""
    if pd.api.types.is_bool_dtype(column.dtype):
        column = column.astype("Int64")
    values: list[Any] = column.astype(object).where(column.notna(), math.nan).tolist()
    return values


def _sqlite_insert(conn, table: Table, names: list[str], rows: list[tuple], spatial: bool) -> None:
    """``rows`` (plain values in the order of ``names``, WKB last where ``spatial``) into
    ``table`` on SpatiaLite, many to a statement."""
    quote = conn.dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
    values = ["?"] * len(names)
    if spatial:
        values[-1] = f"ST_GeomFromWKB(?, {STORAGE_SRID})"
    row = f"({', '.join(values)})"
    per = max(1, min(SQLITE_ROWS_PER_INSERT, SQLITE_MAX_VARIABLES // len(names)))
    whole = len(rows) - len(rows) % per
    if whole:
        conn.exec_driver_sql(
            f"INSERT INTO {target} VALUES {', '.join([row] * per)}",
            [tuple(chain.from_iterable(rows[at : at + per])) for at in range(0, whole, per)],
        )
    if whole < len(rows):
        rest = rows[whole:]
        conn.exec_driver_sql(
            f"INSERT INTO {target} VALUES {', '.join([row] * len(rest))}", tuple(chain.from_iterable(rest))
        )


def read_rows(conn, table: Table, owner_column: str, owner_id: int) -> pd.DataFrame:
    """The rows of ``table`` belonging to one owner (run or scenario), in insert order, with
    Chinese category names beside ``category`` and geometry where the table has it."""
    cols = [c for c in table.c if c.name not in ("id", owner_column, GEOMETRY_COLUMN)]
    spatial = GEOMETRY_COLUMN in table.c
    if spatial:
        cols.append(wkb_select(table))
    frame = select_frame(conn, select(*cols).where(table.c[owner_column] == owner_id).order_by(table.c.id))
    if spatial:
        frame = with_geometry(frame)
    if "category" in frame.columns:
        frame.insert(
            frame.columns.get_loc("category") + 1, "category_zh", frame["category"].map(CATEGORY_NAMES_ZH)
        )
    return frame
