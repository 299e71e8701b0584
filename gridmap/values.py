"""Cells as plain Python values: for database drivers and for JSON (the ground floor)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def plain_value(value: Any) -> Any:
    """A value the database driver takes: numpy scalars unwrapped, NaN and NA as None."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def plain_cells(column: pd.Series, missing: Any = None) -> np.ndarray:
    """A whole column as an array of objects, each cell as :func:`plain_value` makes it (a
    missing one as ``missing``), converted at once."""
    cells: np.ndarray = column.astype(object).where(column.notna(), missing).to_numpy()
    return cells


def plain_column(column: pd.Series) -> list[Any]:
    """A whole column as :func:`plain_value` makes each cell, converted at once."""
    values: list[Any] = plain_cells(column).tolist()
    return values


def json_value(value: Any) -> Any:
    """A cell as a JSON-ready value: :func:`plain_value`, NaT as None, dates as ISO text."""
    value = plain_value(value)
    if value is pd.NaT:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
