"""Concurrent edits through several processes of the service: of N edits based on one tag
exactly one wins, and N edits of different features each move the layer's version once and
show at once in every process."""

from __future__ import annotations

import threading

from processes import HTTP, size, token
from sqlalchemy import select

from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer
from gridmap.store.tables import layer_versions


def _at_once(count: int, work) -> list:
    """``work(i)`` for i < count, on threads that start together; their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _version(db_url: str, layer: str) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        value = conn.execute(select(layer_versions.c.version).where(layer_versions.c.layer == layer)).scalar()
    engine.dispose()
    return int(value or 0)


def _building_ids(db_url: str, count: int, skip: int = 0) -> list[int]:
    engine = make_engine(db_url)
    ids = sorted(int(i) for i in read_layer(engine, "buildings", columns=[]).index)
    engine.dispose()
    return ids[skip : skip + count]


def test_of_many_edits_with_one_tag_exactly_one_wins(services, db_url):
    n = size(20, 100)
    admin = token(services[0].url, "admin")
    (fid,) = _building_ids(db_url, 1)
    tag = HTTP.get(f"{services[0].url}/collections/buildings/items/{fid}", headers=admin).headers["etag"]
    before = HTTP.get(f"{services[0].url}/audit", params={"feature_id": fid, "layer": "buildings"},
                       headers=admin).json()  # fmt: skip

    def edit(i: int) -> int:
        url = services[i % len(services)].url
        body = {"type": "Feature", "geometry": None, "properties": {"name": f"writer {i}"}}
        r = HTTP.patch(f"{url}/collections/buildings/items/{fid}", json=body,
                        headers={**admin, "If-Match": tag}, timeout=120)  # fmt: skip
        return r.status_code

    statuses = _at_once(n, edit)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(412) == n - 1, statuses
    winner = statuses.index(200)
    for service in services:
        got = HTTP.get(f"{service.url}/collections/buildings/items/{fid}", headers=admin).json()
        assert got["properties"]["name"] == f"writer {winner}"
    after = HTTP.get(f"{services[1].url}/audit", params={"feature_id": fid, "layer": "buildings"},
                      headers=admin).json()  # fmt: skip
    new = after[: len(after) - len(before)]
    assert sorted(a["action"] for a in new) == ["refused"] * (n - 1) + ["update"]


def test_distinct_edits_each_move_the_version_once_and_show_everywhere_at_once(services, db_url):
    n = size(20, 100)
    admin = token(services[0].url, "admin")
    ids = _building_ids(db_url, n, skip=10)
    tags = {fid: HTTP.get(f"{services[0].url}/collections/buildings/items/{fid}", headers=admin).headers["etag"]
            for fid in ids}  # fmt: skip
    version = _version(db_url, "buildings")

    def edit(i: int) -> int:
        fid = ids[i]
        body = {"type": "Feature", "geometry": None, "properties": {"levels": 7 + i % 5, "name": f"edit {i}"}}
        r = HTTP.patch(f"{services[i % 2].url}/collections/buildings/items/{fid}", json=body,
                        headers={**admin, "If-Match": tags[fid]}, timeout=120)  # fmt: skip
        return r.status_code

    statuses = _at_once(n, edit)
    assert statuses == [200] * n
    assert _version(db_url, "buildings") == version + n
    for service in services:  # no wait: every process reads the committed versions
        page = HTTP.get(f"{service.url}/collections/buildings/items", params={"limit": 10000},
                         headers=admin).json()  # fmt: skip
        names = {f["id"]: f["properties"]["name"] for f in page["features"]}
        assert [names[fid] for fid in ids] == [f"edit {i}" for i in range(n)]
