"""Rows of the result tables go in whole and in order, however many there are."""

import pandas as pd
import pytest

from gridmap.store.engine import write_transaction
from gridmap.store.records import SQLITE_ROWS_PER_INSERT, insert_frame, read_rows
from gridmap.store.tables import coverage_results

COLUMNS = ["home_kind", "feature_id", "households", "residents", "category", "level", "distance_m", "facility_id",
           "covered"]  # fmt: skip


def _results(n: int, start: int = 0) -> pd.DataFrame:
    k = range(start, start + n)
    return pd.DataFrame(
        {
            "home_kind": ["building" if i % 3 else "compound" for i in k],
            "feature_id": list(k),
            "households": [i % 7 for i in k],
            "residents": [2 * i for i in k],
            "category": ["clinic" if i % 2 else "elderly_care" for i in k],
            "level": [5 if i % 2 else 15 for i in k],
            "distance_m": [None if i % 5 == 0 else i + 0.25 for i in k],  # walks that reach nothing
            "facility_id": pd.array([None if i % 5 == 0 else i % 11 for i in k], dtype="Int64"),
            "covered": [i % 4 == 0 for i in k],
        }
    )


@pytest.mark.parametrize(
    "n", [1, SQLITE_ROWS_PER_INSERT - 1, SQLITE_ROWS_PER_INSERT, 3 * SQLITE_ROWS_PER_INSERT + 7]
)
def test_every_row_goes_in_once_in_order_with_its_missing_values(engine, n):
    """On SpatiaLite the rows go in many to a statement, and the last statement takes what
    is left over; a second owner's rows stay apart from the first's."""
    first, second = _results(n), _results(n + 3, start=1000)
    with write_transaction(engine) as conn:
        insert_frame(conn, coverage_results, first, COLUMNS, run_id=1)
        insert_frame(conn, coverage_results, second, COLUMNS, run_id=2)
    with engine.connect() as conn:
        for owner, rows in ((1, first), (2, second)):
            back = read_rows(conn, coverage_results, "run_id", owner)[COLUMNS]
            assert (
                back.astype(object).where(back.notna(), None).values.tolist()
                == rows.astype(object).where(rows.notna(), None).values.tolist()
            )
