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


def plain_column(column: pd.Series) -> list[Any]:
    """A whole column as :func:`plain_value` makes each cell, converted at once."""
    values: list[Any] = column.astype(object).where(column.notna(), None).tolist()
    return values


def json_value(value: Any) -> Any:
    """A cell as a JSON-ready value: :func:`plain_value`, NaT as None, dates as ISO text."""
    value = plain_value(value)
    if value is pd.NaT:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
