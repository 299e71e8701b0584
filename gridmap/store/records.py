"""Rows in and out of the result tables (coverage runs, siting scenarios): plain Python
values for inserts, and frames (with geometry where the table has it) for reads."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, select

from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.store.layers import copy_rows, ewkb_hex, layer_wkb, select_frame, with_geometry, wkb_select
from gridmap.store.sqlite_rows import sqlite_insert
from gridmap.store.tables import GEOMETRY_COLUMN
from gridmap.values import plain_cells, plain_column


def insert_frame(conn, table: Table, frame: pd.DataFrame, columns: list[str], geometry_type: str | None = None,
                 **fixed: Any) -> None:  # fmt: skip
    """Insert ``frame``'s ``columns`` into ``table``, each row with the ``fixed`` values (an
    owner id); with ``geometry_type`` its geometry too, as WKB of that type (EPSG:4326). Each
    column is converted at once to plain Python values, and the rows go to the driver whole:
    ``COPY`` on PostGIS (missing values None, the geometry as hex EWKB), prepared INSERTs of
    many rows each on SpatiaLite (:func:`~gridmap.store.sqlite_rows.sqlite_insert`; values as
    :func:`_sqlite_cells` makes them, the geometry through ``ST_GeomFromWKB``)."""
    if len(frame) == 0:
        return
    names = [*fixed, *columns]
    wkb = None
    if geometry_type is not None:
        names.append(GEOMETRY_COLUMN)
        wkb = layer_wkb(frame.geometry.values, geometry_type)
    if conn.dialect.name == "postgresql":
        values = [[v] * len(frame) for v in fixed.values()] + [plain_column(frame[c]) for c in columns]
        if wkb is not None:
            values.append([None if b is None else ewkb_hex(b) for b in wkb])
        copy_rows(conn, table.name, names, zip(*values, strict=True))
        return
    cells = np.empty((len(frame), len(names)), dtype=object)  # a row of cells a row of the table
    for at, value in enumerate(fixed.values()):
        cells[:, at] = value
    for at, column in enumerate(columns, len(fixed)):
        cells[:, at] = _sqlite_cells(frame[column])
    if wkb is not None:
        cells[:, -1] = wkb
    sqlite_insert(conn, table, names, cells, spatial=wkb is not None)


def _sqlite_cells(column: pd.Series) -> np.ndarray:
    """A whole column as SQLite's driver binds quickest: numbers as they are, truth values as
    1 and 0 (as SQLite keeps them) and missing values as NaN, which SQLite binds as NULL. The
    driver binds an int, float or str as it is, but looks up an adapter for each None and
    bool, about a microsecond a cell: two thirds of binding a demo run's 51,180 result rows.
    (Put in an array of objects, each number becomes a Python int or float.)"""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return column.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return column.to_numpy().astype(np.int64)
    if pd.api.types.is_bool_dtype(dtype):
        column = column.astype("Int64")
    return plain_cells(column, missing=math.nan)


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
