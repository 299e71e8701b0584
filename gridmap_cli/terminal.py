"""Terminal output for the command line: tables that line up Chinese text, and progress bars.

Rich measures CJK characters as two columns, so tables stay aligned with Chinese names.
Progress bars go to stderr and only when it is a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

_out = Console(highlight=False, soft_wrap=False, width=200, emoji=False)  # names are printed as written
_err = Console(stderr=True, highlight=False, emoji=False)


def print_table(
    rows: Sequence[Sequence[object]],
    headers: Sequence[str],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
) -> None:
    """Print rows under headers; columns listed in ``right`` are right-aligned (numbers).
    Where the rows are wider than the terminal, the widest text columns are cut short with
    "…", never below their header's width; numbers never are, and a line they make longer
    than the terminal is left for the terminal to fold."""
    if title:
        _out.print(title, markup=False)
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = _fitted([max([cell_len(h), *(cell_len(row[i]) for row in cells)]) for i, h in enumerate(headers)],
                     [cell_len(h) if i not in right else 10**6 for i, h in enumerate(headers)])  # fmt: skip
    _out.print(Text(_line(headers, widths, right), style="bold"), soft_wrap=True)
    if cells:  # lines past the terminal's width (of numbers that may not be cut) are not folded
        body = "\n".join(
            _line([_cut(cell, widths[i]) for i, cell in enumerate(row)], widths, right) for row in cells
        )
        _out.print(body, markup=False, soft_wrap=True)  # as written: "[b]" stays


def _line(cells: Sequence[str], widths: Sequence[int], right: Sequence[int]) -> str:
    """One row of a table: each cell padded to its column's width (terminal columns: a
    Chinese character counts two), right-aligned where ``right`` says, columns two apart."""
    padded = (
        " " * (width - cell_len(cell)) + cell if i in right else cell + " " * (width - cell_len(cell))
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    )
    return "  ".join(padded)


def _fitted(widths: list[int], floors: list[int]) -> list[int]:
    """Column widths that fit the terminal (columns two apart): the widest column that may
    shrink, above its floor, gives a column at a time."""
    widths = list(widths)
    over = sum(widths) + 2 * (len(widths) - 1) - _out.width
    while over > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        over -= 1
    return widths


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending in "…" when cut."""
    return text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"


def percent(share: float) -> str:
    """A share (0–1) as a percentage with one decimal; "—" when it is unknown (NaN)."""
    return "—" if pd.isna(share) else f"{100 * share:.1f}%"


def whole(count: object) -> str:
    """A count with its thousands separated; "—" when it is unknown (NA)."""
    return "—" if pd.isna(count) else f"{int(count):,}"  # type: ignore[call-overload]


def say(text: str = "") -> None:
    _out.print(text, markup=False)


@contextmanager
def progress_bar() -> Iterator:
    """A callback ``(stage, done, total)`` drawing one bar per stage on a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )  # bars only here

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
