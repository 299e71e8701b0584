"""Changing data through the service: feature edits with entity tags and audit, tiles that
change after an edit, assignments and branches with history, and background jobs."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import shapely

from gridmap_cli import main

TMS = morecantile.tms.get("WebMercatorQuad")


def _tile(client, headers, layer: str, point: shapely.Point, z: int = 16):
    t = TMS.tile(point.x, point.y, z)
    r = client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}", headers=headers)
    return r, (mapbox_vector_tile.decode(r.content) if r.content else {})


def test_admin_edits_a_feature_and_the_next_tile_shows_it(client, auth, layers):
    fid = int(layers["facilities"].index[0])
    point = layers["facilities"].geometry.iloc[0]
    before, tile = _tile(client, auth["admin"], "facilities", point)
    assert fid in {f["properties"]["id"] for f in tile["facilities"]["features"]}
    item = client.get(f"/collections/facilities/items/{fid}")
    tag = item.headers["etag"]
    body = {"type": "Feature", "geometry": None, "properties": {"name": "新的名字"}}
    r = client.patch(
        f"/collections/facilities/items/{fid}", json=body, headers={**auth["admin"], "If-Match": tag}
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["name"] == "新的名字" and r.headers["etag"] != tag
    after, tile = _tile(client, auth["admin"], "facilities", point)
    assert after.headers["etag"] != before.headers["etag"]
    names = {f["properties"]["id"]: f["properties"].get("name") for f in tile["facilities"]["features"]}
    assert names[fid] == "新的名字"
    stale = client.get(
        f"/tiles/facilities/16/{TMS.tile(point.x, point.y, 16).x}/{TMS.tile(point.x, point.y, 16).y}",
        headers={**auth["admin"], "If-None-Match": before.headers["etag"]},
    )
    assert stale.status_code == 200  # the old tag no longer matches: no stale tile


def test_a_stale_edit_is_refused_and_nothing_is_lost(client, auth, layers):
    fid = int(layers["facilities"].index[1])
    tag = client.get(f"/collections/facilities/items/{fid}").headers["etag"]
    first = {"type": "Feature", "geometry": None, "properties": {"capacity": 40}}
    second = {"type": "Feature", "geometry": None, "properties": {"capacity": 99}}
    h = auth["admin"]
    assert (
        client.patch(
            f"/collections/facilities/items/{fid}", json=first, headers={**h, "If-Match": tag}
        ).status_code
        == 200
    )
    late = client.patch(f"/collections/facilities/items/{fid}", json=second, headers={**h, "If-Match": tag})
    assert late.status_code == 412 and "changed by someone else" in late.json()["detail"]
    assert client.get(f"/collections/facilities/items/{fid}").json()["properties"]["capacity"] == 40
    untagged = client.patch(f"/collections/facilities/items/{fid}", json=second, headers=h)
    assert untagged.status_code == 428
    assert (
        client.delete(f"/collections/facilities/items/{fid}", headers={**h, "If-Match": tag}).status_code
        == 412
    )


def test_invalid_edits_name_the_feature_and_field_and_change_nothing(client, auth, layers):
    fid = int(layers["facilities"].index[2])
    r = client.get(f"/collections/facilities/items/{fid}")
    tag, before = r.headers["etag"], r.json()
    body = {
        "type": "Feature",
        "geometry": None,
        "properties": {"categories": "spaceport", "capacity": "many"},
    }
    bad = client.patch(
        f"/collections/facilities/items/{fid}", json=body, headers={**auth["admin"], "If-Match": tag}
    )
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.json()["problems"]}
    assert fields == {"categories", "capacity"}
    assert all(p["feature"] == f"feature {fid} of layer 'facilities'" for p in bad.json()["problems"])
    assert client.get(f"/collections/facilities/items/{fid}").json() == before
    unknown = client.patch(
        f"/collections/facilities/items/{fid}",
        json={"type": "Feature", "properties": {"colour": "red"}},
        headers={**auth["admin"], "If-Match": tag},
    )
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "colour"
    nowhere = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [300, 30]},
               "properties": {"name": "x", "categories": "clinic"}}  # fmt: skip
    r = client.post("/collections/facilities/items", json=nowhere, headers=auth["admin"])
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "geometry"


def test_create_and_delete_are_audited_and_only_admins_edit(client, auth, layers):
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.075, 30.665]},
            "properties": {"name": "新党建驿站", "categories": "party_service_centre"}}  # fmt: skip
    for who in ("planner", "leader", "resident"):
        assert client.post("/collections/facilities/items", json=body, headers=auth[who]).status_code == 403
    assert client.post("/collections/facilities/items", json=body).status_code == 401  # not signed in
    made = client.post("/collections/facilities/items", json=body, headers=auth["admin"])
    assert made.status_code == 201 and made.headers["location"].endswith(f"/items/{made.json()['id']}")
    fid = made.json()["id"]
    r = client.delete(
        f"/collections/facilities/items/{fid}", headers={**auth["admin"], "If-Match": made.headers["etag"]}
    )
    assert r.status_code == 204
    assert client.get(f"/collections/facilities/items/{fid}").status_code == 404
    log = client.get(f"/audit?layer=facilities&feature_id={fid}", headers=auth["admin"]).json()
    assert [(e["action"], e["user_name"]) for e in log] == [("delete", "admin"), ("create", "admin")]
    assert client.get("/audit", headers=auth["planner"]).status_code == 403


def test_a_feature_still_referred_to_is_not_deleted(client, auth, layers):
    compound = int(layers["buildings"]["compound_id"].dropna().iloc[0])
    tag = client.get(f"/collections/compounds/items/{compound}", headers=auth["admin"]).headers["etag"]
    r = client.delete(f"/collections/compounds/items/{compound}", headers={**auth["admin"], "If-Match": tag})
    assert r.status_code == 409 and "buildings.compound_id" in r.json()["detail"]


def test_reassigning_a_grid_leader_keeps_the_old_term_as_history(client, auth, leader_grid):
    gid = int(leader_grid.name)
    body = {"role": "grid_leader", "target_layer": "grids", "target_id": gid, "person_name": "新网格长",
            "phone": "10012345678", "valid_from": "2026-06-01"}  # fmt: skip
    assert client.post("/assignments", json=body, headers=auth["planner"]).status_code == 403
    r = client.post("/assignments", json=body, headers=auth["admin"])
    assert r.status_code == 201 and r.json()["ended"]
    history = client.get(
        f"/assignments/history?target_layer=grids&target_id={gid}", headers=auth["admin"]
    ).json()
    leaders = [h for h in history if h["role"] == "grid_leader"]
    assert leaders[-1]["person_name"] == "新网格长" and leaders[-1]["valid_to"] is None
    assert leaders[-2]["valid_to"] == "2026-06-01"
    point = leader_grid.geometry.representative_point()
    now = client.get(f"/who?lon={point.x}&lat={point.y}&at=2026-07-01", headers=auth["leader"]).json()
    assert [p["person_name"] for p in now["grids"][0]["leaders"]] == ["新网格长"]
    before = client.get(f"/who?lon={point.x}&lat={point.y}&at=2026-05-31", headers=auth["leader"]).json()
    assert [p["person_name"] for p in before["grids"][0]["leaders"]] == [leaders[-2]["person_name"]]
    early = dict(body, valid_from="2020-01-01", person_name="太早")
    bad = client.post("/assignments", json=early, headers=auth["admin"])
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "valid_from"


def test_a_joint_branch_takes_over_several_compounds(client, auth, layers):
    orgs = client.get(
        "/collections/party_orgs/items?kind=compound_branch&limit=1", headers=auth["admin"]
    ).json()
    branch = orgs["features"][0]["id"]
    compounds = [int(i) for i in layers["compounds"].index[:3]]
    r = client.post("/branches", json={"compound_ids": compounds, "branch_id": branch}, headers=auth["admin"])
    assert r.status_code == 200 and r.json()["compounds"] == 3
    for cid in compounds:
        props = client.get(f"/collections/compounds/items/{cid}", headers=auth["admin"]).json()["properties"]
        assert props["branch_id"] == branch
    org = client.get(f"/collections/party_orgs/items/{branch}", headers=auth["admin"]).json()
    assert org["properties"]["joint"] is True
    wrong = client.post(
        "/branches", json={"compound_ids": compounds, "branch_id": 999999}, headers=auth["admin"]
    )
    assert wrong.status_code == 422


def test_coverage_and_siting_run_in_the_background_with_progress(client, auth):
    app = client.app.state.gridmap
    r = client.post(
        "/coverage/runs",
        json={"categories": ["clinic"], "levels": [15], "label": "api"},
        headers=auth["planner"],
    )
    assert r.status_code == 202 and r.headers["location"].endswith(r.json()["id"])
    job = app.jobs.wait(r.json()["id"], timeout=120)
    status = client.get(f"/jobs/{job.id}", headers=auth["planner"]).json()
    assert status["status"] == "done" and status["progress"] == 1.0
    run_id = status["result"]["run_id"]
    assert client.get(f"/coverage/runs/{run_id}", headers=auth["planner"]).json()["label"] == "api"
    assert client.get(f"/jobs/{job.id}", headers=auth["leader"]).status_code == 404
    assert (
        client.post("/coverage/runs", json={"categories": ["clinic"]}, headers=auth["leader"]).status_code
        == 403
    )
    bad = client.post("/coverage/runs", json={"categories": ["moon_base"]}, headers=auth["planner"])
    assert bad.status_code == 422
    s = client.post("/siting/scenarios", json={"categories": ["clinic"], "count": 1}, headers=auth["planner"])
    done = app.jobs.wait(s.json()["id"], timeout=120)
    assert done.status == "done", done.error
    sites = client.get(
        f"/siting/scenarios/{done.result['scenario_id']}/sites", headers=auth["planner"]
    ).json()
    assert len(sites["features"]) == 1


def test_user_add_makes_accounts_that_can_sign_in(client, service_db, leader_grid, capsys):
    code = leader_grid["code"]
    args = [
        "--db",
        service_db,
        "user",
        "add",
        "wang",
        "--role",
        "grid_leader",
        "--grid",
        code,
        "--password",
        "secret-123",
    ]
    assert main(args) == 0
    r = client.post("/auth/token", json={"name": "wang", "password": "secret-123"})
    assert r.status_code == 200 and r.json()["grids"] == [code]
    assert (
        main(["--db", service_db, "user", "add", "wang", "--role", "planner", "--password", "secret-123"])
        == 2
    )
    assert (
        main(["--db", service_db, "user", "add", "li", "--role", "grid_leader", "--password", "secret-123"])
        == 2
    )
    assert "needs --grid" in capsys.readouterr().err
    # a name with a tab, or longer than PostgreSQL's column holds (a traceback there), is refused
    for name, said in (("wang\tli", "holds a control character"), ("w" * 300, "at most 100 are allowed")):
        assert (
            main(["--db", service_db, "user", "add", name, "--role", "planner", "--password", "secret-123"])
            == 2
        )
        assert said in capsys.readouterr().err


def test_the_demo_has_one_account_per_role_that_signs_in(demo_db):
    from gridmap.accounts import sign_in
    from gridmap.demo.accounts import demo_accounts
    from gridmap.store.engine import make_engine
    from gridmap.store.layers import read_layer

    engine = make_engine(demo_db)
    made = demo_accounts(engine)
    assert demo_accounts(engine) == made  # serving again keeps the accounts as they are
    assert sorted(role for _, role, _, _ in made) == ["admin", "grid_leader", "planner", "public"]
    for name, role, password, grids in made:
        _, user = sign_in(engine, name, password)
        assert (user.role, user.grid_codes) == (role, grids)
    (leader_grid,) = next(g for _, role, _, g in made if role == "grid_leader")
    stored = read_layer(engine, "grids")
    assert stored.loc[stored["code"] == leader_grid, "households"].iloc[0] > 0  # a grid people live in
    engine.dispose()


def test_a_feature_with_dates_is_edited_and_its_dates_kept(client, auth):
    orgs = client.get(
        "/collections/party_orgs/items?kind=compound_branch&limit=50", headers=auth["admin"]
    ).json()
    org = next(f for f in orgs["features"] if f["properties"]["founded_on"])
    url = f"/collections/party_orgs/items/{org['id']}"
    tag = client.get(url, headers=auth["admin"]).headers["etag"]
    body = {"type": "Feature", "geometry": None, "properties": {"name": "改名党支部"}}
    r = client.patch(url, json=body, headers={**auth["admin"], "If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["name"] == "改名党支部"
    assert r.json()["properties"]["founded_on"] == org["properties"]["founded_on"]
    moved = {"type": "Feature", "geometry": None, "properties": {"founded_on": "2020-07-01"}}
    r = client.patch(url, json=moved, headers={**auth["admin"], "If-Match": r.headers["etag"]})
    assert r.status_code == 200 and r.json()["properties"]["founded_on"] == "2020-07-01"


def test_a_geometry_whose_coordinates_are_not_positions_is_refused_saying_what_they_should_be(client, auth):
    """A point of one number was refused as 'Input operand 0 does not have enough dimensions
    (has 0, gufunc core with signature (d),()->() …)'."""
    for geometry, said in (
        ({"type": "Point", "coordinates": [104.06]}, "a Point's coordinates are [lon, lat]"),
        ({"type": "Point", "coordinates": [104.06, 30.66, 5, 6]}, "a Point's coordinates are [lon, lat]"),
        (
            {"type": "Polygon", "coordinates": [[104.06, 30.66]]},
            "a Polygon's coordinates are [[[lon, lat], …], …]",
        ),
        ({"type": "Point", "coordinates": ["104.06", 30.66]}, "positions of two numbers"),
    ):
        body = {"type": "Feature", "geometry": geometry, "properties": {"name": "x", "categories": "clinic"}}
        r = client.post("/collections/facilities/items", json=body, headers=auth["admin"])
        assert r.status_code == 422 and said in r.text, (geometry, r.text)
