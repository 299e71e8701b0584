"""One error contract: out-of-range ids and values are refused with a JSON problem naming the
field, before any query, with the connection kept open; invalid values are never stored; a
locked SpatiaLite file says "busy, retry"; a full job queue says 429."""

from __future__ import annotations

import json
import threading

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from processes import HTTP, PASSWORDS, token

from api.jobs import Jobs
from api.main import create_app
from gridmap.errors import ThrottledError
from gridmap.settings import Settings
from gridmap.store.engine import make_engine, sqlite_module
from gridmap.store.layers import read_layer

HUGE = "99999999999999999999999"


def _problem(r: httpx.Response, *statuses: int) -> dict:
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers.get("connection", "").lower() != "close"  # kept alive after the error
    body = r.json()
    assert body["status"] == r.status_code and body["title"] and body["detail"]
    return body


def test_out_of_range_ids_are_404_or_422_never_500(services):
    admin = token(services[0].url, "admin")
    with httpx.Client(base_url=services[0].url, headers=admin) as client:
        for path in (f"/coverage/runs/{HUGE}", f"/coverage/runs/{HUGE}/summary", f"/siting/scenarios/{HUGE}",
                     f"/collections/buildings/items/{HUGE}", f"/audit?feature_id={HUGE}",
                     f"/jobs/{HUGE}", f"/tiles/buildings/{HUGE}/0/0", "/coverage/runs/¹",
                     f"/tiles/coverage/16/0/0?run={HUGE}&category=clinic&level=15"):  # fmt: skip
            _problem(client.get(path), 404, 422)
        _problem(client.post(f"/assignments/{HUGE}/end", json={}), 404, 422)
        _problem(client.get("/no/such/route"), 404)
        assert client.get("/conformance").status_code == 200  # the same connection still serves


def _patch(url, headers, layer, fid, props, geometry=None):
    tag = HTTP.get(f"{url}/collections/{layer}/items/{fid}", headers=headers).headers["etag"]
    body = {"type": "Feature", "geometry": geometry, "properties": props}
    return HTTP.patch(
        f"{url}/collections/{layer}/items/{fid}", json=body, headers={**headers, "If-Match": tag}
    )


@pytest.mark.parametrize(
    ("layer", "props", "field"),
    [
        ("buildings", {"households": -5}, "households"),
        ("buildings", {"residents": -3}, "residents"),
        ("buildings", {"levels": 1e9}, "levels"),
        ("buildings", {"levels": 2**70}, "levels"),
        ("buildings", {"name": {"a": 1}}, "name"),
        ("buildings", {"name": "长" * 1_000_000}, "name"),
        ("buildings", {"id": 12345}, "id"),
        ("members", {"birth_year": 1800}, "birth_year"),
        ("members", {"phone": "abc"}, "phone"),
        ("grids", {"code": "abc"}, "code"),
        ("assignments", {"valid_from": "2026-05-01", "valid_to": "2026-01-01"}, "valid_to"),
    ],
)
def test_invalid_values_are_refused_naming_the_field_and_nothing_is_stored(
    services, db_url, layer, props, field
):
    url = services[0].url
    admin = token(url, "admin")
    engine = make_engine(db_url)
    before = read_layer(engine, layer)
    fid = int(before.index[0])
    body = _problem(_patch(url, admin, layer, fid, props), 422)
    assert field in {p["field"] for p in body["problems"]}, body
    after = read_layer(engine, layer)
    assert after.loc[[fid]].equals(before.loc[[fid]])
    engine.dispose()


def test_a_read_refused_says_what_is_wrong_and_a_write_refused_that_nothing_was_written(services):
    url = services[0].url
    read = _problem(HTTP.get(f"{url}/collections/facilities/items?limit=0"), 422)
    assert read["detail"] == "1 problem found:" and read["problems"][0]["field"] == "limit"
    planner = token(url, "planner")
    write = _problem(HTTP.post(f"{url}/coverage/runs", json={"levels": [0]}, headers=planner), 422)
    assert write["detail"] == "1 problem found; nothing was written:"


def test_a_3d_point_is_stored_flat(services):
    url = services[0].url
    admin = token(url, "admin")
    fid = HTTP.get(f"{url}/collections/facilities/items?limit=1").json()["features"][0]["id"]
    x, y = HTTP.get(f"{url}/collections/facilities/items/{fid}").json()["geometry"]["coordinates"][:2]
    r = _patch(url, admin, "facilities", fid, {}, {"type": "Point", "coordinates": [x, y, 512.0]})
    assert r.status_code == 200, r.text
    assert r.json()["geometry"]["coordinates"] == [x, y]


@pytest.mark.parametrize(
    "body",
    [
        {"categories": ["elderly_care"], "count": 0},
        {"categories": ["elderly_care"], "capacity": -1},
        {"categories": ["elderly_care"], "share": 1.5},
        {"categories": ["elderly_care"], "model": "magic"},
        {"categories": []},
        {"categories": ["elderly_care"], "levels": [2**70]},
        {"categories": ["elderly_care"], "surprise": True},
    ],
)
def test_a_jobs_parameters_are_checked_before_it_is_accepted(services, body):
    planner = token(services[0].url, "planner")
    r = HTTP.post(f"{services[0].url}/siting/scenarios", json=body, headers=planner)
    assert _problem(r, 422)["problems"]


def test_coverage_levels_out_of_range_are_refused(services):
    planner = token(services[0].url, "planner")
    r = HTTP.post(f"{services[0].url}/coverage/runs", json={"levels": [2**70]}, headers=planner)
    assert _problem(r, 422)["problems"][0]["field"].startswith("levels")


def test_a_full_job_queue_says_429():
    jobs = Jobs(limit=2)
    release = threading.Event()
    try:
        for _ in range(2):
            jobs.start("wait", "test", lambda job: release.wait(10) and {})
        with pytest.raises(ThrottledError) as caught:
            jobs.start("wait", "test", lambda job: {})
        assert caught.value.retry_after_s > 0
    finally:
        release.set()
        jobs.shutdown()


def test_a_job_that_fails_unexpectedly_tells_its_poller_no_more_than_a_500_would(caplog):
    """Its trace goes to the log; the poller read it whole (files, lines, values) before."""
    jobs = Jobs()

    def broken(job):
        raise RuntimeError("/srv/gridmap/secret.sqlite: disk image is malformed")

    try:
        failed = jobs.wait(jobs.start("coverage", "planner", broken).id, timeout=30)
    finally:
        jobs.shutdown()
    assert failed.status == "failed"
    assert failed.error == {
        "status": 500,
        "title": "internal error",
        "detail": "the job failed; it was logged",
    }
    assert "disk image is malformed" in caplog.text


def test_a_job_whose_progress_cannot_be_written_still_finishes_and_says_so(tmp_path, monkeypatch):
    """A database that refuses one write of a job's progress (busy past its timeout) neither
    fails the work nor leaves the job running for ever."""
    import api.jobs
    from gridmap.store.engine import make_engine
    from gridmap.store.schema import init_db

    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    init_db(engine)
    written = api.jobs.update_job
    refused: list[dict] = []

    def busy_once(engine, job_id, **values):
        if "stage" in values and not refused:
            refused.append(values)
            raise RuntimeError("database is locked")
        written(engine, job_id, **values)

    monkeypatch.setattr(api.jobs, "update_job", busy_once)
    jobs = Jobs(engine=engine)
    try:

        def work(job):
            job.progress("distances", 1, 2)
            return {"run_id": 7}

        started = jobs.start("coverage", "planner", work)
        assert jobs.wait(started.id, timeout=30).status == "done"
        kept = jobs.get(started.id)
        assert refused and (kept.status, kept.result) == ("done", {"run_id": 7})
    finally:
        jobs.shutdown()
        engine.dispose()


def test_a_locked_spatialite_file_says_busy_retry_to_writers_and_reads_go_on(db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("SpatiaLite's file lock")
    settings = Settings(database_url=db_url, sqlite_busy_timeout_s=0.5)
    # the service's own SQLite library: two copies in one process would not see each other's locks
    holder = sqlite_module().connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    with TestClient(create_app(settings)) as client:
        r = client.post("/auth/token", json={"name": "admin", "password": PASSWORDS["admin"]})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        item = client.get("/collections/facilities/items?limit=1", headers=admin).json()["features"][0]
        path = f"/collections/facilities/items/{item['id']}"
        tag = client.get(path, headers=admin).headers["etag"]
        edit = {"type": "Feature", "geometry": None, "properties": {"name": "锁住时的名字"}}
        holder.execute("BEGIN IMMEDIATE")  # another program writing
        try:
            # the file is in write-ahead-log mode: readers never wait for a writer
            for read in ("/collections/buildings/items?limit=1", "/who?lon=104.07&lat=30.66"):
                assert client.get(read, headers=admin).status_code == 200
            r = client.patch(path, json=edit, headers={**admin, "If-Match": tag})
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["title"] == "database busy" and "retry" in body["detail"]
            assert "apt-get" not in body["detail"] and int(r.headers["retry-after"]) > 0
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        r = client.patch(path, json=edit, headers={**admin, "If-Match": tag})
        assert r.status_code == 200, r.text


def test_every_connection_in_use_says_busy_retry_and_then_serves_again(db_url):
    """A process's connections all taken (each store keeps a pool of its own size): a read
    waits for one, then says 503 "busy, retry" rather than 500."""
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        engine = client.app.state.gridmap.engine
        engine.pool._timeout = 0.2  # seconds a request waits for a connection (30 in service)
        held = [engine.connect() for _ in range(engine.pool.size() + max(engine.pool._max_overflow, 0))]
        try:
            r = client.get("/collections/facilities/items?limit=1")
            body = _problem(r, 503)
            assert body["title"] == "database busy" and "retry" in body["detail"]
            assert int(r.headers["retry-after"]) > 0
        finally:
            for conn in held:
                conn.close()
        assert client.get("/collections/facilities/items?limit=1").status_code == 200


def test_an_import_checks_the_same_ranges_and_writes_nothing(db_url, tmp_path, capsys):
    from gridmap_cli import main

    engine = make_engine(db_url)
    before = len(read_layer(engine, "buildings", columns=[]))
    x, y = read_layer(engine, "buildings").geometry.iloc[0].centroid.coords[0]
    square = {"type": "Polygon", "coordinates": [[[x, y], [x + 1e-4, y], [x + 1e-4, y + 1e-4], [x, y]]]}
    rows = [{"type": "Feature", "properties": {"name": "ok", "levels": 6, "households": 30},
             "geometry": square},
            {"type": "Feature", "properties": {"name": "bad", "levels": 2**70, "households": -5},
             "geometry": square}]  # fmt: skip
    path = tmp_path / "buildings.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": rows}), encoding="utf-8")
    assert main(["--db", db_url, "import", "buildings", str(path)]) == 2
    err = capsys.readouterr().err
    assert "field 'levels'" in err and "field 'households'" in err and "out of range" in err
    assert len(read_layer(engine, "buildings", columns=[])) == before
    engine.dispose()
