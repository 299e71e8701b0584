"""Layers round-trip identically on SpatiaLite and PostGIS, each write in one transaction."""

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import select

from gridmap.errors import DatabaseError
from gridmap.model import LAYERS
from gridmap.store.engine import make_engine
from gridmap.store.layers import _select_columns, layer_version, read_layer, select_frame, write_layer
from gridmap.store.revision import current_revision, head_revision
from gridmap.store.schema import schema_differences
from gridmap.store.tables import LAYER_TABLES, audit_log

LAYERS_TABLE = LAYER_TABLES["districts"]

SQUARE = shapely.MultiPolygon([shapely.box(104.06, 30.66, 104.07, 30.67)])


def _district(code="510104", name="锦江区"):
    return gpd.GeoDataFrame({"code": [code], "name": [name]}, geometry=[SQUARE], crs=4326)


def test_schema_matches_the_tables(engine):
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []


def test_revisions_read_without_alembic_are_those_alembic_reads(engine, tmp_path, monkeypatch):
    """The service reads both revisions without Alembic: the newest from what the migration
    files state, as Alembic's scripts give it; a database's from Alembic's table, as
    Alembic's context reads it, and none before the table exists. Migrations that part into
    two newest revisions are refused, naming both."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from gridmap.store import revision, schema

    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision() is not None
    new = make_engine(f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert current_revision(new) is None
    new.dispose()
    for name, text in (("a", 'revision = "a"\ndown_revision = None\n'),
                       ("b", 'revision: str = "b"\ndown_revision: str | None = "a"\n'),
                       ("c", "revision = 'c'\ndown_revision = 'a'\n")):  # fmt: skip
        (tmp_path / f"{name}.py").write_text(f'"""revision {name}"""\n\n{text}')
    monkeypatch.setattr(revision, "VERSIONS_DIR", tmp_path)
    revision.head_revision.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"2 newest revisions, not one: \['b', 'c'\]"):
            revision.head_revision()
        (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "b"\n')
        revision.head_revision.cache_clear()
        assert revision.head_revision() == "c"
    finally:
        revision.head_revision.cache_clear()


def test_a_migration_written_for_a_new_spatial_table_uses_geoalchemy2_s_operations(tmp_path, monkeypatch):
    """The tables' geometry type is our own; Alembic is given GeoAlchemy2's in its place, so
    that a new migration creates the table and its spatial index as the others do."""
    import shutil

    from sqlalchemy import Column, Integer, Table

    from gridmap.store import schema
    from gridmap.store.tables import GEOMETRY_COLUMN, Geometry, metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'schema.sqlite'}")
    schema.init_db(engine)
    migrations = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", migrations)
    trial = Table("trial_points", metadata, Column("id", Integer, primary_key=True),
                  Column("geom", Geometry("POINT", 4326), nullable=False))  # fmt: skip
    try:
        for table in schema.alembic_metadata().tables.values():  # one spatial index a column, of its type
            spatial = [
                index for index in table.indexes if index.name == f"idx_{table.name}_{GEOMETRY_COLUMN}"
            ]
            assert len(spatial) <= 1, table.name
            assert all(type(c.type).__module__ == "geoalchemy2.types" for i in spatial for c in i.columns), (
                table.name
            )
        schema.autogenerate(engine, "trial points")
    finally:
        metadata.remove(trial)
    (written,) = (migrations / "versions").glob("*_trial_points.py")
    upgrade = written.read_text()
    assert "op.create_geospatial_table('trial_points'" in upgrade
    assert "Geometry(geometry_type='POINT', srid=4326" in upgrade
    assert "create_geospatial_index('idx_trial_points_geom'" in upgrade  # SpatiaLite's R*Tree, PostGIS's GiST
    assert schema_differences(engine) == []  # the real tables, without the trial one, as before


def test_polygons_round_trip(engine):
    write_layer(engine, "districts", _district())
    back = read_layer(engine, "districts")
    assert back.crs.to_epsg() == 4326
    assert list(back["name"]) == ["锦江区"]
    assert back.geometry.iloc[0].equals_exact(SQUARE, tolerance=1e-12)


def test_typed_columns_round_trip(engine):
    write_layer(engine, "districts", _district())
    building = gpd.GeoDataFrame(
        {
            "id": [7],
            "name": ["1栋"],
            "levels": [18],
            "households": [144],
            "estimated": [True],
            "osm_id": [5_745_074_821],
        },
        geometry=[shapely.box(104.061, 30.661, 104.0612, 30.6612)],
        crs=4326,
    )
    write_layer(engine, "buildings", building)
    org = pd.DataFrame(
        {
            "id": [3],
            "name": ["某某党支部"],
            "kind": ["compound_branch"],
            "joint": [True],
            "founded_on": [dt.date(2021, 7, 1)],
        }
    )
    write_layer(engine, "party_orgs", org)
    b = read_layer(engine, "buildings").iloc[0]
    assert (b["id"], b["levels"], b["households"], bool(b["estimated"]), b["osm_id"]) == (
        7,
        18,
        144,
        True,
        5_745_074_821,
    )
    assert b.geometry.geom_type == "MultiPolygon"  # a Polygon is stored as the layer's type
    o = read_layer(engine, "party_orgs").iloc[0]
    assert o["founded_on"] == dt.date(2021, 7, 1) and bool(o["joint"]) is True


def test_points_lines_and_plain_tables_round_trip(engine):
    fac = gpd.GeoDataFrame(
        {"name": ["社区卫生服务站"], "categories": ["clinic"]},
        geometry=[shapely.Point(104.065, 30.665)],
        crs=4326,
    )
    road = gpd.GeoDataFrame(
        {"u": [1], "v": [2], "length_m": [12.5]},
        geometry=[shapely.LineString([(104.06, 30.66), (104.0601, 30.6601)])],
        crs=4326,
    )
    write_layer(engine, "facilities", fac)
    write_layer(engine, "roads", road)
    assert read_layer(engine, "facilities").geometry.iloc[0].equals(shapely.Point(104.065, 30.665))
    assert read_layer(engine, "roads")["length_m"].iloc[0] == pytest.approx(12.5)


def test_replace_mode_and_versions_and_audit(engine):
    write_layer(engine, "districts", _district(), user="alice")
    write_layer(engine, "districts", _district("510105", "青羊区"), mode="replace", user="bob")
    assert list(read_layer(engine, "districts")["code"]) == ["510105"]
    assert layer_version(engine, "districts") == 2
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.user_name, audit_log.c.layer, audit_log.c.count)).all()
    assert [tuple(r) for r in rows] == [("alice", "districts", 1), ("bob", "districts", 1)]


def test_failed_write_changes_nothing(engine):
    write_layer(engine, "districts", _district())
    twice = pd.concat([_district("510106", "金牛区"), _district("510106", "金牛区")])
    with pytest.raises(Exception, match=r"(?i)unique"):
        write_layer(engine, "districts", gpd.GeoDataFrame(twice, crs=4326), mode="replace")
    assert list(read_layer(engine, "districts")["code"]) == ["510104"]
    assert layer_version(engine, "districts") == 1


def test_every_layer_reads_empty(engine):
    for name in LAYERS:
        assert len(read_layer(engine, name)) == 0


def test_uninitialised_database_is_named(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(DatabaseError, match="gridmap db init"):
        read_layer(engine, "grids")


def test_a_spatialite_connection_waits_as_long_as_asked_for_a_lock(tmp_path):
    from gridmap.store.engine import SQLITE_BUSY_TIMEOUT_S

    url = f"sqlite:///{tmp_path / 'wait.sqlite'}"
    for asked, expected_ms in ((0.5, 500), (None, int(SQLITE_BUSY_TIMEOUT_S * 1000))):
        eng = make_engine(url) if asked is None else make_engine(url, busy_timeout_s=asked)
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == expected_ms
        eng.dispose()


def test_text_that_looks_like_copy_syntax_and_every_geometry_part_come_back_as_written(engine):
    """PostGIS takes large writes by COPY: tabs, newlines, backslashes and \\N in text, empty
    and missing values, and a polygon with a hole beside a multi-part one, each as written."""
    tricky = ["制表\t符", "换\n行", "反\\斜杠", "\\N", "", None]
    holed = shapely.Polygon(shapely.box(104.0, 30.0, 104.01, 30.01).exterior.coords,
                            [shapely.box(104.002, 30.002, 104.004, 30.004).exterior.coords])  # fmt: skip
    shapes = [
        shapely.MultiPolygon([holed]),
        shapely.MultiPolygon([SQUARE.geoms[0], shapely.box(104.1, 30.1, 104.2, 30.2)]),
    ]
    frame = gpd.GeoDataFrame(
        {"name": tricky, "levels": [1, None, 3, 4, None, 6]},
        geometry=[shapes[i % 2] for i in range(len(tricky))],
        crs=4326,
    )
    write_layer(engine, "buildings", frame)
    back = read_layer(engine, "buildings")
    assert [None if pd.isna(v) else v for v in back["name"]] == tricky
    assert [None if pd.isna(v) else int(v) for v in back["levels"]] == [1, None, 3, 4, None, 6]
    assert all(a.equals_exact(b, 1e-12) for a, b in zip(back.geometry, frame.geometry, strict=True))


def test_a_reading_connection_sees_each_commit_and_leaves_no_transaction_open(engine):
    """``reading``: every statement sees what is committed when it runs, and on PostgreSQL
    none opens a transaction (no BEGIN before it, no ROLLBACK after: one round trip each)."""
    from gridmap.store.engine import is_sqlite, reading

    write_layer(engine, "districts", _district())
    with reading(engine) as conn:
        before = conn.execute(select(LAYERS_TABLE.c.name)).scalars().all()
        if not is_sqlite(engine):
            assert conn.connection.driver_connection.info.transaction_status == 0  # idle
        write_layer(engine, "districts", _district(name="成华区"), mode="replace")  # by another connection
        if is_sqlite(engine):
            conn.rollback()  # SQLite reads within its transaction until it ends
        after = conn.execute(select(LAYERS_TABLE.c.name)).scalars().all()
    assert (before, after) == (["锦江区"], ["成华区"])
    with engine.connect() as conn:  # the connection went back to the pool as it came
        assert conn.execute(select(LAYERS_TABLE.c.name)).scalars().all() == ["成华区"]
        if not is_sqlite(engine):
            assert conn.connection.driver_connection.autocommit is False


def test_a_fetched_statement_sees_each_commit_names_its_columns_and_hands_back_a_clean_connection(engine):
    """``fetch``: the rows of one statement by column name, each call seeing what is committed;
    on PostgreSQL sent straight to the driver in autocommit, the connection handed back to the
    pool as it came (no transaction open, autocommit off, so a later write still rolls back)."""
    from sqlalchemy import bindparam

    from gridmap.store.engine import fetch, is_sqlite, write_transaction

    statement = select(LAYERS_TABLE.c.id, LAYERS_TABLE.c.name).where(
        LAYERS_TABLE.c.name != bindparam("not_named")
    )
    write_layer(engine, "districts", _district())
    rows = fetch(engine, statement, {"not_named": "x"})
    assert [(row.name, type(row.id)) for row in rows] == [("锦江区", int)]
    write_layer(engine, "districts", _district(name="成华区"), mode="replace")
    assert [row.name for row in fetch(engine, statement, {"not_named": "x"})] == ["成华区"]
    assert fetch(engine, statement, {"not_named": "成华区"}) == []
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:  # on a connection fetch used
        conn.execute(LAYERS_TABLE.delete())
        raise RuntimeError("stop")
    assert [row.name for row in fetch(engine, statement, {"not_named": "x"})] == ["成华区"]
    if not is_sqlite(engine):
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver.autocommit is False and driver.info.transaction_status == 0


@pytest.mark.postgis
def test_a_fetched_statement_s_errors_are_sqlalchemy_s_and_a_lost_connection_leaves_the_pool(postgis_url):
    """A driver's error comes out as SQLAlchemy's; a connection the server ended is dropped
    from the pool (``connection_invalidated``), and the next statement gets a working one."""
    from sqlalchemy import exc, text

    from gridmap.store.engine import fetch

    pg_engine = make_engine(postgis_url)
    with pytest.raises(exc.ProgrammingError):
        fetch(pg_engine, text("SELECT no_such_column FROM layer_versions"))
    assert fetch(pg_engine, text("SELECT 1 AS one"))[0].one == 1
    pid = fetch(pg_engine, text("SELECT pg_backend_pid() AS pid"))[0].pid
    other = make_engine(postgis_url)
    with other.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    other.dispose()
    lost = None
    for _ in range(pg_engine.pool.size() + 1):  # the ended one is somewhere in the pool
        try:
            fetch(pg_engine, text("SELECT 1 AS one"))
        except exc.OperationalError as error:
            lost = error
            break
    assert lost is not None and lost.connection_invalidated
    assert [fetch(pg_engine, text("SELECT 1 AS one"))[0].one for _ in range(5)] == [1] * 5
    pg_engine.dispose()


def test_every_layer_reads_as_sqlalchemys_rows_give_it(demo_engine):
    """Layers are read from the driver's rows (``select_frame``), converted as SQLAlchemy's
    types convert them: every column of every layer of the demo, each value of the same type
    (a boolean is not the 1 it equals) as SQLAlchemy's own rows give it."""
    seen: set[str] = set()
    for layer in LAYER_TABLES:
        query = select(*_select_columns(layer, None)[2]).order_by(LAYER_TABLES[layer].c.id)
        with demo_engine.connect() as conn:
            ours = select_frame(conn, query)
            rows = conn.execute(query).all()
        theirs = pd.DataFrame.from_records([tuple(row) for row in rows], columns=list(ours.columns))
        pd.testing.assert_frame_equal(ours, theirs, obj=layer)
        for name in ours.columns:
            types = [type(v).__name__ for v in ours[name].tolist()]
            assert types == [type(v).__name__ for v in theirs[name].tolist()], (layer, name)
            seen.update(types)
    assert {"date", "Timestamp", "bool", "float", "str", "bytes"} <= seen, seen  # every conversion was made
