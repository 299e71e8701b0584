"""A run's gap and circle outlines are kept without a spatial index: they are read whole by
run, never by place. The migration drops the index and keeps every outline; going back
builds the index again over what is there."""

from __future__ import annotations

import pytest
from alembic import command
from fresh_db import copy_database
from sqlalchemy import text

from gridmap.store.engine import make_engine
from gridmap.store.schema import _config, schema_differences, upgrade_db

SQUARE = "MULTIPOLYGON(((104.06 30.65, 104.07 30.65, 104.07 30.66, 104.06 30.66, 104.06 30.65)))"


@pytest.fixture(params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def new_engine(request, tmp_path):
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        url = copy_database(request.getfixturevalue("postgis_url"), "run_outlines", empty=True)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _indexed(engine, table: str) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found = conn.execute(text("SELECT count(*) FROM pg_indexes WHERE tablename = :t AND indexdef LIKE '%gist%'"),
                                 {"t": table}).scalar()  # fmt: skip
            return bool(found)
        enabled = conn.execute(
            text("SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name = :t"), {"t": table}
        ).scalar()
        tree = conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE name = :n"), {"n": f"idx_{table}_geom"}
        )
        return bool(enabled) or bool(tree.scalar())


def _outlines(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for table in ("coverage_gaps", "coverage_circles")
            for row in conn.execute(
                text(f"SELECT run_id, category, ST_AsText(geom) FROM {table} ORDER BY id")
            )
        ]


def test_the_migration_drops_the_index_of_run_outlines_and_keeps_them(new_engine):
    engine = new_engine
    upgrade_db(engine, "0016")  # the schema before
    make = "ST_GeomFromText" if engine.dialect.name == "postgresql" else "GeomFromText"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO coverage_gaps (run_id, category, level, homes, households, residents, geom) "
            f"VALUES (1, 'market', 15, 3, 40, 100, {make}(:g, 4326))"
        ), {"g": SQUARE})  # fmt: skip
        conn.execute(text(
            "INSERT INTO coverage_circles (run_id, category, level, facility_id, limit_m, geom) "
            f"VALUES (1, 'clinic', 10, 7, 660.0, {make}(:g, 4326))"
        ), {"g": SQUARE})  # fmt: skip
    before = _outlines(engine)
    assert all(_indexed(engine, t) for t in ("coverage_gaps", "coverage_circles"))

    upgrade_db(engine)
    assert not any(_indexed(engine, t) for t in ("coverage_gaps", "coverage_circles"))
    assert _outlines(engine) == before and len(before) == 2
    assert schema_differences(engine) == []
    assert _indexed(engine, "buildings")  # the layers keep theirs

    with engine.begin() as conn:
        command.downgrade(_config(conn), "0016")
    assert all(_indexed(engine, t) for t in ("coverage_gaps", "coverage_circles"))
    assert _outlines(engine) == before
    if engine.dialect.name == "sqlite":  # the index holds what was there
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM idx_coverage_circles_geom")).scalar() == 1
