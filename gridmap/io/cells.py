"""Text in CSV files that people open in a spreadsheet: a cell that starts like a formula is
written behind an apostrophe, so that it stays the text it is, and read back without it.

A name, an address or an event's description can be typed by anyone who may file or edit it
(an Open311 request comes from the public); opened in Excel or WPS, a CSV cell starting with
"=", "+", "-" or "@" (or a tab or carriage return before one) is taken for a formula and run
in the spreadsheet of whoever opens the file. The apostrophe is OWASP's advice against it.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

#: how a cell a spreadsheet takes for a formula may start
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: a text that starts like a formula, behind any apostrophes (one of them may be ours, so any
#: text of that shape gets one more: taking one off on the way in gives each back as it was)
_LIKE_A_FORMULA = r"'*[=+\-@\t\r]"


def text_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that starts like a formula (more than the sign alone: a
    lone "-" is no formula) behind an apostrophe; numbers and everything else as they are
    (``frame`` itself where no cell needs one)."""
    return _rewritten(frame, _like_a_formula, lambda text: "'" + text)


def apostrophes_off(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (read from a CSV file or a spreadsheet) with the apostrophe :func:`text_safe`
    puts before a cell starting like a formula taken off again: what was exported comes back
    as it was."""
    return _rewritten(
        frame, lambda text: (text.str[:1] == "'") & _like_a_formula(text.str[1:]), lambda text: text.str[1:]
    )


def _rewritten(
    frame: pd.DataFrame,
    which: Callable[[pd.Series], pd.Series],
    rewrite: Callable[[pd.Series], pd.Series],
) -> pd.DataFrame:
    """``frame`` with the text cells ``which`` picks in each column replaced by ``rewrite`` of
    them; copied only when a cell changes (``frame`` itself otherwise)."""
    out = frame
    for column in frame.columns:
        text = _text(frame[column])
        if text is not None:
            picked = which(text)
            if picked.any():
                if out is frame:
                    out = frame.copy()
                out.loc[picked, column] = rewrite(text[picked])
    return out


def _like_a_formula(text: pd.Series) -> pd.Series:
    return text.str.match(_LIKE_A_FORMULA, na=False) & (text.str.len() > 1)


def _text(values: pd.Series) -> pd.Series | None:
    """The column's text cells (others NaN), or None where it holds no text."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        return None
    return values.where(values.map(lambda v: isinstance(v, str)))
