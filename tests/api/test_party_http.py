"""The 双报到 loop over HTTP on the demo district, for each role: a grid leader files and moves
needs in their own grids only and awards their members points; residents' names and phones on
needs, and members' names in rankings, stay within the access table's scope on every endpoint
and tile; the report comes as a spreadsheet; the organisation's map layers."""

from __future__ import annotations

import io

import mapbox_vector_tile
import morecantile
import openpyxl
import pytest

TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def needs_layer(client, auth):
    r = client.get("/collections/needs/items?limit=1000", headers=auth["admin"])
    assert r.status_code == 200, r.text
    return r.json()["features"]


@pytest.fixture(scope="module")
def own_household(layers, leader_grid, client, auth):
    """A household of the leader's area, with its resident's name and phone."""
    area = client.get("/my-area", headers=auth["leader"]).json()
    return area["households"][0]["id"]


def test_a_grid_leader_files_and_moves_needs_in_their_grids_only(
    client, auth, own_household, layers, leader_grid
):
    body = {"kind": "wish", "category": "repairs", "title": "修门锁", "household_id": own_household,
            "resident_name": "刘小梅", "phone": "10098765432"}  # fmt: skip
    r = client.post("/needs", json=body, headers=auth["leader"])
    assert r.status_code == 201, r.text
    need = r.json()
    assert need["state"] == "open" and need["grid_id"] == int(leader_grid.name)
    elsewhere = int(layers["households"].index.difference(
        [h["id"] for h in client.get("/my-area", headers=auth["leader"]).json()["households"]])[0])  # fmt: skip
    r = client.post("/needs", json=body | {"household_id": elsewhere}, headers=auth["leader"])
    assert r.status_code == 404 and str(elsewhere) in r.json()["detail"]
    r = client.post("/needs", json={k: v for k, v in body.items() if k != "household_id"} | {"lon": 104.07, "lat": 30.66},
                    headers=auth["leader"])  # fmt: skip
    assert r.status_code == 422 and "household, compound or grid of their area" in r.text
    assert client.post("/needs", json=body, headers=auth["planner"]).status_code == 403
    assert client.post("/needs", json=body).status_code == 401
    members = client.get("/my-area", headers=auth["leader"]).json()["members"]
    member = members[0]["id"]
    r = client.post(
        f"/needs/{need['id']}/steps", json={"to": "claimed", "member_id": member}, headers=auth["leader"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "claimed" and r.json()["awarded"]["points"] >= 0
    r = client.post(f"/needs/{need['id']}/steps", json={"to": "confirmed", "confirmed_by": "resident"},
                    headers=auth["leader"])  # fmt: skip
    assert r.status_code == 409 and "a need claimed cannot become confirmed" in r.json()["detail"]
    other = next(n for n in client.get("/collections/needs/items?limit=1000", headers=auth["admin"]).json()["features"]
                 if n["properties"]["grid_id"] != int(leader_grid.name))  # fmt: skip
    r = client.post(f"/needs/{other['id']}/steps", json={"to": "cancelled"}, headers=auth["leader"])
    assert r.status_code == 404 and r.json()["detail"] == f"no need {other['id']}"  # as if it did not exist
    missing = client.post("/needs/99999999/steps", json={"to": "cancelled"}, headers=auth["leader"])
    assert missing.json()["detail"] == "no need 99999999"  # the same answer: nothing told


def test_points_are_awarded_within_the_area_and_ranked_with_names_in_scope(client, auth):
    members = client.get("/my-area", headers=auth["leader"]).json()["members"]
    mine = members[0]["id"]
    r = client.post("/points", json={"member_id": mine, "rule": "mediate_dispute"}, headers=auth["leader"])
    assert r.status_code == 201 and r.json()["points"] in (0, 3), r.text
    r = client.post("/points", json={"member_id": mine, "rule": "gold_star"}, headers=auth["leader"])
    assert r.status_code == 422 and "'gold_star' is not a points rule" in r.text
    everyone = client.get("/collections/members/items?limit=5000", headers=auth["admin"]).json()["features"]
    theirs = next(m["id"] for m in everyone if m["id"] not in {x["id"] for x in members})
    assert client.post("/points", json={"member_id": theirs, "rule": "mediate_dispute"},
                       headers=auth["leader"]).status_code == 404  # fmt: skip
    admin = client.get("/points/ranking?by=street", headers=auth["admin"]).json()
    planner = client.get("/points/ranking?by=street", headers=auth["planner"]).json()
    assert len(admin) == len(planner) > 0
    assert all(p["name"][1:] == "*" * (len(p["name"]) - 1) for p in planner)  # family names only
    assert any(a["name"] != p["name"] for a, p in zip(admin, planner, strict=True))
    leader = client.get("/points/ranking?by=community", headers=auth["leader"]).json()
    assert {r["member_id"] for r in leader} <= {m["id"] for m in members}
    assert client.get("/points/ranking").status_code == 401
    assert client.get("/points/ranking", headers=auth["resident"]).status_code == 403


def test_residents_names_and_phones_on_needs_stay_in_scope(client, auth, needs_layer, leader_grid):
    named = [n for n in needs_layer if n["properties"].get("resident_name")]
    assert named
    planner = client.get("/collections/needs/items?limit=1000", headers=auth["planner"]).json()["features"]
    by_id = {n["id"]: n["properties"] for n in planner}
    for need in named[:50]:
        shown = by_id[need["id"]]
        assert shown["resident_name"] != need["properties"]["resident_name"]
        assert shown["resident_name"][0] == need["properties"]["resident_name"][0]
        assert "****" in shown["phone"]
    leader = client.get("/collections/needs/items?limit=1000", headers=auth["leader"]).json()["features"]
    assert leader and {n["properties"]["grid_id"] for n in leader} == {int(leader_grid.name)}
    full = {n["id"]: n["properties"] for n in needs_layer}
    assert all(n["properties"]["phone"] == full[n["id"]]["phone"] for n in leader)  # their own: unmasked
    assert client.get("/collections/needs/items").status_code in (401, 403)
    assert client.get("/collections/needs/items", headers=auth["resident"]).status_code == 403
    assert client.get("/collections/points/items", headers=auth["resident"]).status_code == 403
    point = leader_grid.geometry.representative_point()
    tile = TMS.tile(point.x, point.y, 15)
    path = f"/tiles/needs/{tile.z}/{tile.x}/{tile.y}"
    decoded = mapbox_vector_tile.decode(client.get(path, headers=auth["admin"]).content)
    features = decoded.get("needs", {}).get("features", [])
    assert features and not any({"resident_name", "phone", "title"} & set(f["properties"]) for f in features)
    assert client.get(path).status_code in (401, 403)
    assert client.get(path, headers=auth["resident"]).status_code == 403
    public = client.get("/org/report?scope=area").json()
    text = str(public)
    assert not any(n["properties"]["resident_name"] in text for n in named[:50])
    assert {r["figure"] for r in public["figures"]} >= {"needs_claimed", "needs_done", "points"}


def test_the_report_as_a_spreadsheet(client, auth):
    r = client.get("/org/report.xlsx?by=street&on=2026-06-30&base=property", headers=auth["planner"])
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    assert {"figures", "by street", "leader load", "skills"} <= set(book.sheetnames)
    header = [c.value for c in next(book["by street"].iter_rows(max_row=1))]
    assert {"code", "name", "compounds_with_branch", "compounds_with_branch_share", "one_shoulder"} <= set(
        header
    )
    assert client.get("/org/report.xlsx", headers=auth["resident"]).status_code == 403
    bad = client.get("/org/report.xlsx?min_households=50", headers=auth["planner"])
    assert bad.status_code == 422 and "base=households" in bad.text
    on = client.get("/org/report?scope=area&on=2020-01-01").json()
    now = client.get("/org/report?scope=area").json()

    def count(answer, figure):
        return next(f["count"] for f in answer["figures"] if f["figure"] == figure)

    assert count(on, "in_service_registered") < count(now, "in_service_registered")


def test_the_organisation_layers_on_the_map(client, auth):
    branches = client.get("/org/map/branches", headers=auth["planner"]).json()["features"]
    forms = {f["properties"]["form"] for f in branches}
    assert {"single", "joint", "embedded"} <= forms
    assert {f["properties"]["source"] for f in branches} == {"compounds", "grids"}
    sponsored = client.get("/org/map/sponsored_compounds", headers=auth["planner"]).json()["features"]
    assert sponsored and all(f["properties"]["units"] for f in sponsored)
    central = client.get("/org/map/central_households", headers=auth["planner"]).json()["features"]
    assert central and all(f["properties"]["central_households"] >= 1 for f in central)
    assert "member" not in str(central[0]["properties"])  # counts, no one named
    mine = client.get("/org/map/central_households", headers=auth["leader"]).json()["features"]
    assert len(mine) < len(central)
    assert client.get("/org/map/branches").status_code == 401
    assert client.get("/org/map/branches", headers=auth["resident"]).status_code == 403
    assert client.get("/org/map/parks", headers=auth["planner"]).status_code == 404
