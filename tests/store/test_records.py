"""Rows of the result tables go in whole and in order, however many there are."""

import pandas as pd
import pytest
from sqlalchemy.exc import IntegrityError

from gridmap.store.engine import write_transaction
from gridmap.store.records import insert_frame, read_rows
from gridmap.store.sqlite_rows import SQLITE_ROWS_PER_INSERT
from gridmap.store.tables import coverage_gaps, coverage_results

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


def test_missing_values_are_nulls_and_truth_values_read_back_as_such(engine):
    """On SpatiaLite a missing value goes to the driver as NaN and a truth value as 1 or 0
    (quicker to bind than None and bool): in the database they are NULL and 1 or 0, whatever
    the column's type, and a missing value in a column that must have one is refused."""
    rows = _results(2 * SQLITE_ROWS_PER_INSERT + 3)
    with write_transaction(engine) as conn:
        insert_frame(conn, coverage_results, rows, COLUMNS, run_id=3)
    with engine.connect() as conn:
        nulls = conn.exec_driver_sql(
            "SELECT COUNT(*) - COUNT(distance_m), COUNT(*) - COUNT(facility_id), "
            "SUM(CASE WHEN covered THEN 1 ELSE 0 END), COUNT(*) - COUNT(covered) FROM coverage_results"
        ).one()
        back = read_rows(conn, coverage_results, "run_id", 3)
    missing = int(rows["distance_m"].isna().sum())
    assert tuple(nulls) == (missing, missing, int(rows["covered"].sum()), 0)
    assert back["covered"].map(type).eq(bool).all()
    assert back["covered"].tolist() == rows["covered"].tolist()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            kinds = conn.exec_driver_sql(
                "SELECT DISTINCT typeof(covered), typeof(distance_m) FROM coverage_results WHERE distance_m IS NULL"
            ).all()
        assert kinds == [("integer", "null")]
    unnamed = rows.head(3).assign(category=[None, "clinic", "clinic"])
    with (
        pytest.raises((IntegrityError, engine.dialect.dbapi.IntegrityError)),
        write_transaction(engine) as conn,
    ):
        insert_frame(conn, coverage_results, unnamed, COLUMNS, run_id=4)
    with engine.connect() as conn:
        assert read_rows(conn, coverage_results, "run_id", 4).empty


@pytest.mark.parametrize("n", [1, SQLITE_ROWS_PER_INSERT + 1])
def test_shapes_go_in_with_their_rows_and_come_back_as_they_were(engine, n):
    """A run's gaps (multipolygons; a polygon goes in as a multipolygon of one part)."""
    import geopandas as gpd
    import shapely

    shapes = [shapely.box(104.0 + i / 1000, 30.6, 104.0005 + i / 1000, 30.6005) for i in range(n)]
    shapes[0] = shapely.MultiPolygon([shapes[0], shapely.box(104.9, 30.9, 104.91, 30.91)])  # two parts
    gaps = gpd.GeoDataFrame(
        {"category": ["clinic"] * n, "level": [15] * n, "homes": list(range(n)), "households": [2] * n,
         "residents": [5] * n},
        geometry=shapes, crs=4326,
    )  # fmt: skip
    columns = ["category", "level", "homes", "households", "residents"]
    with write_transaction(engine) as conn:
        insert_frame(conn, coverage_gaps, gaps, columns, "MULTIPOLYGON", run_id=7)
    with engine.connect() as conn:
        back = read_rows(conn, coverage_gaps, "run_id", 7)
    assert back[columns].values.tolist() == gaps[columns].values.tolist()
    as_stored = [s if s.geom_type == "MultiPolygon" else shapely.MultiPolygon([s]) for s in shapes]
    assert shapely.equals_exact(back.geometry.values, as_stored, tolerance=0).all()  # every coordinate
