"""Faults of the database under load: PostgreSQL restarted while requests come in gives
only 503s with Retry-After, then none; an import killed half-way leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace

import geopandas as gpd
import httpx2 as httpx
import pytest
import shapely
from processes import fill, size, start_service, token

from gridmap.store.engine import make_engine, sqlite_module
from gridmap.store.layers import read_layer


@pytest.fixture(scope="module")
def cluster(demo_data):
    from postgis import Cluster, unavailable_reason

    reason = unavailable_reason()
    if reason or os.environ.get("GRIDMAP_TEST_POSTGRES_URL"):
        if os.environ.get("CI") == "true" and reason:
            pytest.fail(f"PostGIS is required in CI: {reason}")
        pytest.skip(reason or "restarting needs a cluster of the test run's own")
    own = Cluster()
    # the district without the tables of people's work (households, visits, points: two
    # thirds of its rows), which no request of the load reads
    fill(own.url, replace(demo_data, layers={k: v for k, v in demo_data.layers.items()
                                             if k not in ("households", "visits", "points")}))  # fmt: skip
    yield own
    own.remove()


@pytest.mark.postgis
def test_a_postgis_restart_under_load_gives_only_503s_then_none(cluster):
    service = start_service(cluster.url)
    try:
        headers = token(service.url, "planner")
        paths = ["/collections/buildings/items?limit=5", "/who?lon=104.07&lat=30.66", "/auth/me",
                 "/tiles/buildings/16/52422/27024"]  # fmt: skip
        seen: list[tuple[float, int, str | None, str]] = []
        stop = threading.Event()

        def load(i: int) -> None:
            with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
                n = 0
                while not stop.is_set():
                    r = client.get(paths[(i + n) % len(paths)])
                    seen.append((time.monotonic(), r.status_code, r.headers.get("retry-after"),
                                 r.headers.get("content-type", "")))  # fmt: skip
                    n += 1

        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # the load under way
        cluster.stop("fast")
        time.sleep(size(1, 10))  # down: 4 clients meet it many times a second
        cluster.start()
        back = time.monotonic()
        time.sleep(size(2, 10))  # up again: after its first second, only 200s
        stop.set()
        for t in threads:
            t.join(60)
        counts = Counter(status for _, status, _, _ in seen)
        assert set(counts) <= {200, 503}, counts
        assert counts[503] > 0 and counts[200] > 0, counts
        for _, status, retry, kind in seen:
            if status == 503:
                assert retry is not None and int(retry) > 0 and kind.startswith("application/json")
        settled = [status for at, status, _, _ in seen if at > back + 1.0]
        assert settled and set(settled) == {200}, Counter(settled)
    finally:
        service.stop()


def _sqlite_write_locked(path: str) -> bool:
    """Whether another connection holds the SQLite file's write lock (asked without waiting)."""
    probe = sqlite_module().connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite_module().OperationalError:
        return True
    finally:
        probe.close()


def _writing(engine, db_url: str, process: subprocess.Popen) -> bool:
    """Wait until the import is inside its write (it holds SpatiaLite's write lock, or
    PostgreSQL runs its INSERT or COPY); False when it ended first."""
    watcher = make_engine(db_url) if not db_url.startswith("sqlite") else None
    try:
        while process.poll() is None:
            if watcher is None:
                if _sqlite_write_locked(db_url.removeprefix("sqlite:///")):
                    return True
            else:
                with watcher.connect() as conn:
                    busy = conn.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND (query ILIKE 'INSERT INTO buildings%%' OR query ILIKE 'COPY buildings%%')"
                    ).scalar()
                if busy:
                    return True
            time.sleep(0.005)
        return False
    finally:
        if watcher is not None:
            watcher.dispose()


def test_an_import_killed_half_way_leaves_the_layer_as_it_was(db_url, tmp_path):
    engine = make_engine(db_url)
    before = read_layer(engine, "buildings")
    x0, y0, _, _ = before.total_bounds
    n = size(20_000, 50_000)
    boxes = [shapely.box(x0 + (i % 200) * 1e-4, y0 + (i // 200) * 1e-4, x0 + (i % 200) * 1e-4 + 5e-5,
                         y0 + (i // 200) * 1e-4 + 5e-5) for i in range(n)]  # fmt: skip
    path = tmp_path / "many.geojson"
    gpd.GeoDataFrame({"name": [f"b{i}" for i in range(n)], "levels": 3}, geometry=boxes, crs=4326).to_file(
        path
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gridmap_cli", "--db", db_url, "import", "buildings", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert _writing(engine, db_url, process), "the import ended before it wrote"
    process.send_signal(signal.SIGKILL)  # in the middle of its one transaction
    assert process.wait(30) == -signal.SIGKILL
    after = read_layer(engine, "buildings")
    assert len(after) == len(before) and after.index.equals(before.index)
    with engine.connect() as conn:  # the database still takes writes
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert json.dumps(sorted(map(int, after.index))) == json.dumps(sorted(map(int, before.index)))
