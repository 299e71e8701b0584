"""Grid events over HTTP, by role: a grid leader sees and moves the events of their own grids
(others are as if absent), planners read the figures, the public neither."""

from __future__ import annotations

import pytest

from gridmap.io.events import file_event
from gridmap.store.engine import make_engine


@pytest.fixture(scope="module")
def filed(service_db, layers, leader_grid):
    """One event in the leader's grid and one in another grid."""
    grids = layers["grids"]
    other = grids[(grids["community_id"] != leader_grid["community_id"])].iloc[0]
    engine = make_engine(service_db)
    ids = {}
    for name, grid in (("mine", leader_grid), ("theirs", other)):
        point = grid.geometry.representative_point()
        found = file_event(engine, lon=point.x, lat=point.y, category="property_facilities",
                           description="电梯停运", source="resident", reporter="赵六", phone="10011112222")  # fmt: skip
        assert found.placement.grid_id == grid.name or grid.name in found.placement.grid_ids
        ids[name] = found.event_id
    engine.dispose()
    return ids


def test_a_grid_leader_sees_their_open_events_by_deadline_and_moves_them(client, auth, filed):
    area = client.get("/my-area", headers=auth["leader"]).json()
    mine = [e["id"] for e in area["events"]]
    assert filed["mine"] in mine and filed["theirs"] not in mine
    assert area["totals"]["open_events"] == len(mine)
    assert next(e for e in area["events"] if e["id"] == filed["mine"])["reporter"] == "赵六"  # to call back
    dues = [e["due_at"] for e in area["events"]]
    assert dues == sorted(dues)  # soonest due first
    r = client.post(f"/events/{filed['mine']}/steps", json={"to": "accepted"}, headers=auth["leader"])
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    r = client.post(f"/events/{filed['mine']}/steps", json={"to": "resolved"}, headers=auth["leader"])
    assert r.status_code == 409 and "may become: assigned, in_progress" in r.json()["detail"]
    r = client.post(f"/events/{filed['mine']}/steps", json={"to": "returned"}, headers=auth["leader"])
    assert r.status_code == 409 and "needs a note" in r.json()["detail"]
    steps = client.get(f"/events/{filed['mine']}/history", headers=auth["leader"]).json()
    assert [s["to_state"] for s in steps] == ["reported", "accepted"] and steps[1]["by_user"] == "leader"


def test_another_grids_event_is_absent_for_the_leader_and_closed_to_others(client, auth, filed):
    for path in (f"/events/{filed['theirs']}/history", "/events/999999/history"):
        r = client.get(path, headers=auth["leader"])
        assert (
            r.status_code == 404 and r.json()["detail"] == f"no event {path.split('/')[2]}"
        )  # the same answer
    r = client.post(f"/events/{filed['theirs']}/steps", json={"to": "accepted"}, headers=auth["leader"])
    assert r.status_code == 404
    assert client.post(f"/events/{filed['theirs']}/steps", json={"to": "accepted"},
                       headers=auth["planner"]).status_code == 403  # fmt: skip
    assert client.post(f"/events/{filed['theirs']}/steps", json={"to": "accepted"}).status_code == 401
    r = client.post(f"/events/{filed['theirs']}/steps", json={"to": "accepted"}, headers=auth["admin"])
    assert r.status_code == 200


def test_the_figures_are_for_planners_and_admins(client, auth, filed):
    r = client.get("/events/report?by=community", headers=auth["planner"])
    assert r.status_code == 200
    body = r.json()
    whole = body["rows"][0]
    assert whole["unit"] == "all" and whole["filed"] >= 2 and body["labels"]["closure_rate"] == "办结率"
    assert client.get("/events/report", headers=auth["leader"]).status_code == 403
    assert client.get("/events/report").status_code == 401
    assert (
        client.get("/events/report?from=2026-02-01&to=2026-01-01", headers=auth["admin"]).status_code == 422
    )
    planner = client.get("/collections/events/items", headers=auth["planner"]).json()
    reporters = {f["properties"].get("reporter") for f in planner["features"]}
    assert "赵六" not in reporters and client.get("/collections/events/items").status_code in (401, 403)


def test_a_leader_sees_the_visits_due_in_their_grids_and_planners_no_tags(client, auth):
    area = client.get("/my-area", headers=auth["leader"]).json()
    households = {h["id"] for h in area["households"]}
    assert {v["household_id"] for v in area["visits_due"]} <= households
    assert area["totals"]["visits_due"] == len(area["visits_due"])
    planner = client.get("/collections/households/items?limit=1000", headers=auth["planner"]).json()
    assert planner["features"] and all(f["properties"].get("care_tags") is None for f in planner["features"])
    admin = client.get("/collections/households/items?limit=1000", headers=auth["admin"]).json()
    assert any(f["properties"].get("care_tags") for f in admin["features"])


def test_event_tiles_follow_the_access_table(client, auth, filed, layers, leader_grid):
    import mapbox_vector_tile
    import morecantile

    point = leader_grid.geometry.representative_point()
    tile = morecantile.tms.get("WebMercatorQuad").tile(point.x, point.y, 16)
    path = f"/tiles/events/{tile.z}/{tile.x}/{tile.y}"

    def states(who: str) -> list[str]:
        r = client.get(path, headers=auth[who])
        assert r.status_code == 200, r.text
        decoded = mapbox_vector_tile.decode(r.content)
        return [f["properties"]["state"] for f in decoded.get("events", {}).get("features", [])]

    assert states("planner") and states("leader")
    assert "reporter" not in str(mapbox_vector_tile.decode(client.get(path, headers=auth["admin"]).content))
    assert client.get(path).status_code in (401, 403)
    assert client.get(path, headers=auth["resident"]).status_code == 403


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the first bytes are what is judged


def test_photos_are_checked_for_size_and_type_and_read_in_scope(client, auth, filed):
    path = f"/events/{filed['mine']}/photos"
    r = client.post(path, files={"file": ("lamp.png", PNG, "image/png")}, headers=auth["leader"])
    assert r.status_code == 201, r.text
    photo = r.json()["id"]
    got = client.get(f"{path}/{photo}", headers=auth["leader"])
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    r = client.post(
        path, files={"file": ("lamp.jpg", b"not an image at all", "image/jpeg")}, headers=auth["leader"]
    )
    assert r.status_code == 422 and "not a JPEG, PNG or WebP image" in r.text
    big = b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024 + 10)
    r = client.post(path, files={"file": ("big.jpg", big, "image/jpeg")}, headers=auth["leader"])
    assert r.status_code == 422 and "at most 5 MiB" in r.text
    theirs = f"/events/{filed['theirs']}/photos"
    assert (
        client.post(theirs, files={"file": ("a.png", PNG, "image/png")}, headers=auth["leader"]).status_code
        == 404
    )
    assert client.get(f"{path}/{photo}", headers=auth["planner"]).status_code == 403
    assert client.get(f"{path}/{photo}").status_code == 401


def test_everyone_reads_the_counts_per_grid_and_nothing_more(client, filed, leader_grid):
    r = client.get("/events/counts")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    features = {f["properties"]["code"]: f["properties"] for f in r.json()["features"]}
    assert set(next(iter(features.values()))) == {"id", "code", "open", "closed"} or set(
        next(iter(features.values()))
    ) == {"code", "open", "closed"}
    mine = features[leader_grid["code"]]
    assert mine["open"] + mine["closed"] >= 1
    assert "赵六" not in r.text and "10011112222" not in r.text


def test_a_day_given_as_a_number_is_refused_not_read_as_1970(client, auth, layers):
    """Pydantic reads a number as seconds since 1970: 0 was taken as 1970-01-01."""
    household = int(layers["households"].index[0])
    for body in (
        {"household_id": household, "visited_on": 0},
        {"household_id": household, "visited_on": "0"},
    ):
        r = client.post("/visits", json=body, headers=auth["admin"])
        assert r.status_code == 422 and "expected a day as YYYY-MM-DD" in r.text, r.text
    for query in ("/events/report?from=0", "/org/report?on=1700000000", "/who?lon=104.06&lat=30.66&at=0"):
        r = client.get(query, headers=auth["admin"])
        assert r.status_code == 422 and "expected a day as YYYY-MM-DD" in r.text, (query, r.text)
    assert client.get("/events/report?from=2026-01-01", headers=auth["admin"]).status_code == 200


def test_an_id_beyond_the_databases_range_is_refused_before_any_query(client, auth, filed):
    """A photo id of 2⁶⁴ reached the database and ended in a 500."""
    event = filed["theirs"]
    for path in (f"/events/{event}/photos/13819393409794680832", "/events/13819393409794680832/history",
                 "/needs/13819393409794680832/steps"):  # fmt: skip
        method = client.post if path.endswith("steps") else client.get
        r = method(
            path, headers=auth["admin"], **({"json": {"to": "claimed"}} if method is client.post else {})
        )
        assert r.status_code == 422 and "less than or equal to" in r.text, (path, r.status_code, r.text)
