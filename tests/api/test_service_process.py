"""The service's process: what its start-up made is left out of the cycle collector's full
passes while it serves (a full pass over those 200,000 objects held every thread for about
100 ms, the slowest request in a hundred under load) and given back when it stops; on
PostGIS it opens its connections before it serves."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.main import create_app
from gridmap.errors import DatabaseError, SettingsError
from gridmap.settings import Settings
from gridmap.store.engine import POSTGRES_POOL_SIZE, make_engine, open_pool


def test_start_up_objects_stay_out_of_the_collectors_full_passes_while_serving(demo_db):
    gc.unfreeze()
    with TestClient(create_app(Settings(database_url=demo_db))) as client:
        assert gc.get_freeze_count() > 100_000  # the modules and the app, at least
        assert client.get("/conformance").status_code == 200
    assert gc.get_freeze_count() == 0


@pytest.mark.postgis
def test_on_postgis_a_process_opens_its_connections_ready_before_it_serves(postgis_url, demo_db):
    """Each connection of the pool open (a server process of its own, where PostGIS has run)
    before the first request: a burst at the start of a shift does not start them (3 ms each)
    or load PROJ in them (15 ms each) while the others wait. A database that refuses them
    stops the start, saying what to change. SpatiaLite has nothing to open."""
    watcher = make_engine(postgis_url)
    others = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    with TestClient(create_app(Settings(database_url=postgis_url, open_pool_at_start=True))) as client:
        pool = client.app.state.gridmap.engine.pool
        assert pool.size() == POSTGRES_POOL_SIZE and pool.checkedin() == POSTGRES_POOL_SIZE
        with watcher.connect() as conn:
            assert conn.exec_driver_sql(others).scalar() == POSTGRES_POOL_SIZE
        assert client.get("/conformance").status_code == 200
    with watcher.begin() as conn:
        conn.exec_driver_sql("DROP ROLE IF EXISTS few_connections")
        conn.exec_driver_sql("CREATE ROLE few_connections LOGIN CONNECTION LIMIT 3")
        conn.exec_driver_sql("GRANT pg_read_all_data TO few_connections")
    watcher.dispose()
    few = make_url(postgis_url).set(username="few_connections").render_as_string(hide_password=False)
    refused = TestClient(create_app(Settings(database_url=few, open_pool_at_start=True)))
    with pytest.raises(DatabaseError, match=r"too many connections.*keeps 16.*max_connections"), refused:
        pass
    assert open_pool(make_engine(demo_db)) == 0


def test_tiles_are_answered_on_as_many_threads_as_set_and_no_more_than_the_pool(demo_db, monkeypatch):
    """Each thread holds a connection of the pool while it works: more threads than the pool
    has connections would only wait for one, and the setting says so."""
    monkeypatch.setenv("GRIDMAP_TILE_THREADS", str(POSTGRES_POOL_SIZE + 1))
    with pytest.raises(SettingsError, match=rf"GRIDMAP_TILE_THREADS.*{POSTGRES_POOL_SIZE}"):
        Settings()
    monkeypatch.setenv("GRIDMAP_TILE_THREADS", "2")
    with TestClient(create_app(Settings(database_url=demo_db))) as client:
        assert client.app.state.gridmap.tile_threads._pool._max_workers == 2
        assert client.get("/tiles/roads/14/13000/6700").status_code in (200, 204)
