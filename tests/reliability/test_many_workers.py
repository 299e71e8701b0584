"""The service on several processes over one database: an edit through one process shows in
the next tile any other cuts, and a tile cut by one is read by the others from the folder
they share, never cut again."""

from __future__ import annotations

import datetime as dt
import math
import socket
import subprocess
import sys
import threading
import time
import uuid

import mapbox_vector_tile
from processes import HTTP, token

from api.jobs import Jobs
from gridmap.store.background import add_job, read_job
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer

ZOOM = 16


def _tile_of(lon: float, lat: float) -> tuple[int, int]:
    n = 2**ZOOM
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _names(service_url: str, headers: dict[str, str], x: int, y: int) -> tuple[set[str], str]:
    r = HTTP.get(f"{service_url}/tiles/buildings/{ZOOM}/{x}/{y}", headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    layers = mapbox_vector_tile.decode(r.content)
    return {
        f["properties"].get("name") for f in layers.get("buildings", {"features": []})["features"]
    }, r.headers["etag"]


def test_an_edit_through_one_process_shows_in_the_next_tile_of_the_other(services, db_url, shared_tiles):
    first, second = services
    admin = token(first.url, "admin")
    engine = make_engine(db_url)
    buildings = read_layer(engine, "buildings", columns=["name"])
    engine.dispose()
    fid = int(buildings.index[-7])
    point = buildings.geometry.loc[fid].representative_point()
    x, y = _tile_of(point.x, point.y)

    names, tag = _names(first.url, admin, x, y)  # cut by the first process
    files = {p: p.stat() for p in shared_tiles.glob("*/*.mvt")}
    bare = tag.strip('"')
    kept = shared_tiles / bare[:2] / f"{bare}.mvt"
    assert kept in files
    again, tag_again = _names(second.url, admin, x, y)  # read by the second, not cut again
    assert (again, tag_again) == (names, tag)
    after = kept.stat()
    assert (after.st_ino, after.st_mtime_ns) == (files[kept].st_ino, files[kept].st_mtime_ns)

    etag = HTTP.get(f"{first.url}/collections/buildings/items/{fid}", headers=admin).headers["etag"]
    body = {"type": "Feature", "geometry": None, "properties": {"name": "改过的楼"}}
    r = HTTP.patch(
        f"{first.url}/collections/buildings/items/{fid}", json=body, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    edited, new_tag = _names(second.url, admin, x, y)  # the other process, at once
    assert "改过的楼" in edited and new_tag != tag
    assert _names(first.url, admin, x, y) == (edited, new_tag)


def test_a_job_started_through_one_process_is_followed_through_the_other(services, db_url):
    """A coverage run accepted by the first process is polled at the second: jobs were kept in
    the process that ran them, and a poll another process answered said 404 (about a third of
    the polls with two processes)."""
    first, second = services
    planner = token(first.url, "planner")
    r = HTTP.post(
        f"{first.url}/coverage/runs", json={"categories": ["clinic"], "levels": [15]}, headers=planner
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        polled = HTTP.get(f"{second.url}/jobs/{job}", headers=planner, timeout=30)
        assert polled.status_code == 200, polled.text
        if polled.json()["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert polled.json()["status"] == "done" and polled.json()["progress"] == 1.0, polled.json()
    run_id = polled.json()["result"]["run_id"]
    assert HTTP.get(f"{second.url}/coverage/runs/{run_id}", headers=planner).status_code == 200
    resident = token(second.url, "resident")  # someone else's job: as if there were none, from either process
    assert HTTP.get(f"{second.url}/jobs/{job}", headers=resident).status_code == 404


def test_a_job_whose_process_stopped_is_answered_as_failed(db_url):
    """A job left running by a process that is gone never finishes: it says so, and it no
    longer counts against the jobs the service holds."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # its pid names no process now
    job_id = f"gone-{uuid.uuid4().hex[:8]}"
    engine = make_engine(db_url)
    add_job(engine, {"id": job_id, "kind": "coverage", "created_by": "planner", "created_at": "2026-12-05T10:00:00Z",
                     "owner": f"{socket.gethostname()}:{ended.pid}", "status": "running", "stage": "distances",
                     "done": 3, "total": 10, "result": None, "error": None, "finished_at": None,
                     "heard_at": "2026-12-05T10:00:00Z"}, keep_finished=200)  # fmt: skip
    jobs = Jobs(limit=1, engine=engine)
    try:
        job = jobs.get(job_id)
        assert job is not None and job.status == "failed"
        assert job.error["detail"] == "the service process running the job stopped before it finished"
        started = jobs.start("wait", "planner", lambda job: {})  # the stopped one holds no place
        assert jobs.wait(started.id, timeout=30).status == "done"
        assert jobs.get(started.id).status == "done"  # read back as kept
    finally:
        jobs.shutdown()
        engine.dispose()


def test_a_job_of_another_machine_not_heard_from_is_answered_as_failed_and_one_heard_from_runs(db_url):
    """Another machine's process cannot be looked up by its pid: its jobs count as stopped
    once it has not beaten for three minutes, and run while it beats."""
    engine = make_engine(db_url)
    now = dt.datetime.now(dt.UTC)
    ids = {}
    for name, minutes in (("silent", 10), ("beating", 0)):
        ids[name] = f"{name}-{uuid.uuid4().hex[:8]}"
        heard = (now - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds").replace("+00:00", "Z")
        add_job(engine, {"id": ids[name], "kind": "siting", "created_by": "planner", "created_at": heard,
                         "owner": "another-machine.example:4242", "status": "running", "stage": "", "done": 0,
                         "total": 0, "result": None, "error": None, "finished_at": None, "heard_at": heard},
                keep_finished=200)  # fmt: skip
    jobs = Jobs(engine=engine)
    try:
        silent, beating = jobs.get(ids["silent"]), jobs.get(ids["beating"])
        assert silent.status == "failed" and "has not been heard from since" in silent.error["detail"]
        assert beating.status == "running" and beating.error is None
        started = jobs.start("wait", "planner", lambda job: {})
        jobs.wait(started.id, timeout=30)
        jobs.hear()  # nothing held by this process: nothing to say, nothing fails
        release = threading.Event()
        waiting = jobs.start("wait", "planner", lambda job: release.wait(30) and {})
        before = read_job(engine, waiting.id)["heard_at"]
        time.sleep(1.1)
        jobs.hear()  # the beat of a process that holds a job
        assert read_job(engine, waiting.id)["heard_at"] > before
        release.set()
    finally:
        jobs.shutdown()
        engine.dispose()
