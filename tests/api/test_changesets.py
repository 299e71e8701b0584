"""Saving edits as a clerk does in the browser, over both databases: several edits in one
changeset with a comment, checked as `gridmap validate` checks before anything is kept; a
stale tag keeps nothing; every version in the feature's history; a one-step revert that
brings the feature (and what refers to it) back; a grid split and merged back under the code
and lineage rules of `gridmap grids propose`."""

from __future__ import annotations

import shapely
from shapely.geometry import mapping


def _tag(client, headers, layer, fid):
    r = client.get(f"/collections/{layer}/items/{fid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"], r.json()


def test_a_changeset_saves_together_and_shows_in_each_feature_s_history(client, auth, layers):
    facilities = layers["facilities"]
    fid = int(facilities.index[0])
    tag, feature = _tag(client, auth["admin"], "facilities", fid)
    point = shapely.geometry.shape(feature["geometry"])
    body = {"comment": "新开日间照料中心，改营业时间", "changes": [
        {"action": "update", "layer": "facilities", "id": fid, "if_match": tag,
         "properties": {"opening_hours": "07:30-19:30"}},
        {"action": "create", "layer": "facilities", "properties": {"name": "日间照料中心", "categories": "elderly_care"},
         "geometry": mapping(shapely.Point(point.x + 0.0003, point.y))},
    ]}  # fmt: skip
    r = client.post("/changesets", json=body, headers=auth["admin"])
    assert r.status_code == 200, r.text
    saved = r.json()
    new_id = saved["features"][1]["id"]
    history = client.get(f"/collections/facilities/items/{fid}/history", headers=auth["admin"]).json()
    last = history[-1]
    assert last["action"] == "update" and last["comment"] == "新开日间照料中心，改营业时间"
    assert last["after"]["values"]["opening_hours"] == "07:30-19:30"
    assert last["changeset_id"] == saved["changeset_id"]
    created = client.get(f"/collections/facilities/items/{new_id}/history", headers=auth["admin"]).json()
    assert [v["action"] for v in created] == ["create"] and created[0]["before"] is None
    assert (
        client.get(f"/collections/facilities/items/{fid}/history", headers=auth["planner"]).status_code == 403
    )


def test_a_stale_tag_in_a_changeset_keeps_nothing(client, auth, layers):
    first, second = (int(i) for i in layers["facilities"].index[1:3])
    tag1, _ = _tag(client, auth["admin"], "facilities", first)
    tag2, _ = _tag(client, auth["admin"], "facilities", second)
    body = {"type": "Feature", "geometry": None, "properties": {"capacity": 11}}
    assert client.patch(f"/collections/facilities/items/{second}", json=body,
                        headers={**auth["admin"], "If-Match": tag2}).status_code == 200  # fmt: skip
    changes = {"comment": "两处一起改", "changes": [
        {"action": "update", "layer": "facilities", "id": first, "if_match": tag1, "properties": {"capacity": 22}},
        {"action": "update", "layer": "facilities", "id": second, "if_match": tag2, "properties": {"capacity": 33}},
    ]}  # fmt: skip
    r = client.post("/changesets", json=changes, headers=auth["admin"])
    assert r.status_code == 412 and f"feature {second}" in r.json()["detail"]
    assert (
        _tag(client, auth["admin"], "facilities", first)[1]["properties"]["capacity"] != 22
    )  # the first not kept
    tag1, _ = _tag(client, auth["admin"], "facilities", first)
    twice = {"comment": "一处改两次", "changes": [
        {"action": "update", "layer": "facilities", "id": first, "if_match": tag1, "properties": {"capacity": 22}},
        {"action": "delete", "layer": "facilities", "id": first, "if_match": tag1},
    ]}  # fmt: skip
    r = client.post("/changesets", json=twice, headers=auth["admin"])  # was 412: "changed by someone else"
    assert r.status_code == 422 and "changes 1 and 2 both change feature" in r.text, r.text
    assert client.get(f"/collections/facilities/items/{first}", headers=auth["admin"]).status_code == 200


def test_a_save_that_makes_an_overlap_shows_the_finding_and_keeps_nothing(client, auth, layers):
    grids = layers["grids"]
    a = grids.iloc[0]
    b = grids[(grids["community_id"] == a["community_id"]) & (grids.index != a.name)]
    b = b[shapely.length(shapely.intersection(b.geometry.to_numpy(), a.geometry)) > 0].iloc[0]
    grown = shapely.union_all(
        [a.geometry, b.geometry.representative_point().buffer(0.0002).intersection(b.geometry)]
    )
    tag, _ = _tag(client, auth["admin"], "grids", int(a.name))
    change = {
        "action": "update",
        "layer": "grids",
        "id": int(a.name),
        "if_match": tag,
        "geometry": mapping(grown),
    }
    dry = client.post("/changesets", json={"comment": "试画", "dry_run": True, "changes": [change]},
                      headers=auth["admin"])  # fmt: skip
    assert dry.status_code == 200, dry.text
    kinds = {f["properties"]["kind"] for f in dry.json()["findings"]["features"]}
    assert "grid_overlap" in kinds and dry.json()["changeset_id"] is None
    r = client.post("/changesets", json={"comment": "扩大网格", "changes": [change]}, headers=auth["admin"])
    assert r.status_code == 422 and "overlap" in r.text and "nothing was saved" in r.text
    assert _tag(client, auth["admin"], "grids", int(a.name))[0] == tag  # unchanged


def test_revert_restores_a_change_and_a_deleted_feature_with_its_links(client, auth, layers):
    fid = int(layers["facilities"].index[3])
    tag, before = _tag(client, auth["admin"], "facilities", fid)
    body = {"type": "Feature", "geometry": None, "properties": {"name": "改错的名字"}}
    r = client.patch(
        f"/collections/facilities/items/{fid}", json=body, headers={**auth["admin"], "If-Match": tag}
    )
    tag = r.headers["etag"]
    r = client.post(f"/collections/facilities/items/{fid}/revert", headers={**auth["admin"], "If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["name"] == before["properties"]["name"]
    households = layers["households"]
    hid = int(households.index[0])
    tag, kept = _tag(client, auth["admin"], "households", hid)
    visit = client.post("/visits", json={"household_id": hid}, headers=auth["admin"])
    assert visit.status_code == 201
    assert (
        client.delete(
            f"/collections/households/items/{hid}", headers={**auth["admin"], "If-Match": tag}
        ).status_code
        == 409
    )  # a visit refers to it
    fresh = client.post("/collections/households/items", json={"type": "Feature", "geometry": None, "properties": {
        "building_id": kept["properties"]["building_id"], "unit": "9单元", "room": "909"}}, headers=auth["admin"])  # fmt: skip
    new_id = fresh.json()["id"]
    r = client.delete(
        f"/collections/households/items/{new_id}",
        headers={**auth["admin"], "If-Match": fresh.headers["etag"]},
    )
    assert r.status_code == 204
    assert client.get(f"/collections/households/items/{new_id}", headers=auth["admin"]).status_code == 404
    r = client.post(f"/collections/households/items/{new_id}/revert", headers=auth["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["id"] == new_id and r.json()["properties"]["room"] == "909"  # back under its id
    actions = [v["action"] for v in client.get(f"/collections/households/items/{new_id}/history",
                                               headers=auth["admin"]).json()]  # fmt: skip
    assert actions == ["create", "delete", "revert"]
    r = client.post(f"/collections/households/items/{new_id}/revert", headers=auth["admin"])
    assert r.status_code == 428  # undoing the restore deletes it again: it needs the tag it was read with


def test_a_grid_split_and_merged_back_keeps_codes_and_lineage(client, auth, layers):
    grids = layers["grids"]
    counts = grids["community_id"].value_counts()
    community = int(counts.index[0])
    grid = grids[grids["community_id"] == community].iloc[0]
    minx, miny, maxx, maxy = grid.geometry.bounds
    middle = (minx + maxx) / 2
    line = {"type": "LineString", "coordinates": [[middle, miny - 0.001], [middle, maxy + 0.001]]}
    preview = client.post("/grids/redraw", json={"split": grid["code"], "line": line}, headers=auth["admin"])
    assert preview.status_code == 200, preview.text
    plan = preview.json()
    assert grid["code"] in plan["retired"] or any(
        f["properties"]["code"] == grid["code"] for f in plan["features"]
    )
    new = [f["properties"]["code"] for f in plan["features"] if f["properties"]["status"] == "new"]
    assert new and all(c[:12] == grid["code"][:12] for c in new)  # the community's next free numbers
    assert all(c > max(grids.loc[grids["community_id"] == community, "code"]) for c in new)
    assert {r["relation"] for r in plan["lineage"]} <= {"split", "new"}
    kept = [f for f in plan["features"] if f["properties"]["status"] == "kept"]
    assert len(kept) == int(counts.iloc[0]) - 1  # the others stay as they are
    held = client.post("/grids/redraw", json={"split": grid["code"], "line": line, "apply": True},
                       headers=auth["admin"])  # fmt: skip
    if grid["code"] in plan["retired"]:
        assert held.status_code == 409 and "in office" in held.text  # a term on the retired grid: refused
        held = client.post("/grids/redraw", json={"split": grid["code"], "line": line, "apply": True, "end_terms": True},
                           headers=auth["admin"])  # fmt: skip
    assert held.status_code == 200, held.text
    assert held.json()["applied"]["added"] == new
    merged = client.post(
        "/grids/redraw", json={"merge": new, "apply": True, "end_terms": True}, headers=auth["admin"]
    )
    assert merged.status_code == 200, merged.text
    lineage = merged.json()["lineage"]
    assert {r["relation"] for r in lineage} == {"merged"} and {r["old_code"] for r in lineage} == set(new)
    far = grids[grids["community_id"] != community].iloc[0]["code"]
    bad = client.post(
        "/grids/redraw", json={"merge": [far, merged.json()["applied"]["added"][0]]}, headers=auth["admin"]
    )
    assert bad.status_code == 422
    miss = client.post("/grids/redraw", json={"split": new[0], "line": line}, headers=auth["admin"])
    assert miss.status_code == 404  # retired by the merge
