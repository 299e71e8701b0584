"""Text in CSV files that people open in a spreadsheet: a cell that starts like a formula is
written behind an apostrophe, so that it stays the text it is, and read back without it.

A name, an address or an event's description can be typed by anyone who may file or edit it
(an Open311 request comes from the public); opened in Excel or WPS, a CSV cell starting with
"=", "+", "-" or "@" (or a tab or carriage return before one) is taken for a formula and run
in the spreadsheet of whoever opens the file. The apostrophe is OWASP's advice against it.
"""

from __future__ import annotations

import pandas as pd

#: how a cell a spreadsheet takes for a formula may start
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that starts like a formula (more than the sign alone: a
    lone "-" is no formula) behind an apostrophe; numbers and everything else as they are."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        text = values.map(lambda v: isinstance(v, str) and len(v) > 1 and v[0] in FORMULA_STARTS)
        if text.any():
            out.loc[text, column] = "'" + values[text].astype(str)
    return out


def apostrophes_off(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (read from a CSV file or a spreadsheet) with the apostrophe :func:`text_safe`
    puts before a cell starting like a formula taken off again: what was exported comes back
    as it was."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        quoted = values.map(
            lambda v: isinstance(v, str) and len(v) > 2 and v[0] == "'" and v[1] in FORMULA_STARTS
        )
        if quoted.any():
            if out is frame:
                out = frame.copy()
            out.loc[quoted, column] = values[quoted].astype(str).str[1:]
    return out
