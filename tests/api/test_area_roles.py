"""Roles with an area, on the demo district over both databases: a community admin edits
everything inside their community and nothing outside it, a street admin their street's
communities, a grid worker the households of their grid; reads are full inside the area and
masked outside; rights that come from a term end when the term ends."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from shapely.geometry import mapping

from gridmap.accounts import Person, add_user
from gridmap.errors import InputError
from gridmap.io.assign import assign
from gridmap.store.engine import make_engine

PASSWORD = "area-pass-1"


@pytest.fixture(scope="module")
def places(layers, leader_grid):
    """The leader's community (ours) and a neighbouring one (theirs), with a feature of each."""
    communities = layers["communities"]
    compounds = layers["compounds"]["community_id"].value_counts()
    with_grids = set(layers["grids"]["community_id"])
    ours = max((int(i) for i in communities.index if i in with_grids), key=lambda i: compounds.get(i, 0))
    mine = communities.geometry.loc[ours]
    others = [int(i) for i in communities.index if i != ours and compounds.get(i, 0) > 0]
    theirs = max(
        others, key=lambda i: (communities.geometry.loc[i].intersection(mine).length > 0, compounds[i])
    )
    grids = layers["grids"]
    return {"ours": ours, "theirs": theirs, "code": communities.at[ours, "code"],
            "grid": grids[grids["community_id"] == ours].iloc[0],
            "their_code": communities.at[theirs, "code"], "street": int(communities.at[ours, "street_id"])}  # fmt: skip


@pytest.fixture(scope="module")
def accounts(service_db, client, places, leader_grid, layers):
    engine = make_engine(service_db)
    streets_code = client.get(f"/collections/streets/items/{places['street']}").json()["properties"]["code"]
    add_user(engine, "clerk", "community_admin", PASSWORD, area=places["code"])
    add_user(engine, "street-clerk", "street_admin", PASSWORD, area=streets_code)
    add_user(engine, "worker", "grid_worker", PASSWORD, [leader_grid["code"]])
    member = int(layers["members"].index[0])
    assign(engine, role="grid_worker", target_layer="grids", target_id=int(leader_grid.name), person_name="临时网格员",
           member_id=member, user="t", valid_from=dt.date(2024, 1, 1))  # fmt: skip
    add_user(engine, "termed", "grid_worker", PASSWORD, person=Person(member_id=member))
    engine.dispose()
    headers = {}
    for name in ("clerk", "street-clerk", "worker", "termed"):
        r = client.post("/auth/token", json={"name": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return headers


def _patch(client, headers, layer, fid, properties=None, geometry=None):
    item = client.get(f"/collections/{layer}/items/{fid}", headers=headers)
    if item.status_code != 200:
        return item
    body = {"type": "Feature", "geometry": geometry, "properties": properties or {}}
    return client.patch(f"/collections/{layer}/items/{fid}", json=body,
                        headers={**headers, "If-Match": item.headers["etag"]})  # fmt: skip


def _one(layers, layer, community, *, inside: bool):
    frame = layers[layer]
    if "community_id" in frame.columns:
        chosen = frame[(frame["community_id"] == community) == inside]
    else:
        outline = layers["communities"].geometry.loc[community]
        chosen = frame[frame.geometry.representative_point().within(outline) == inside]
    return int(chosen.index[0])


@pytest.mark.parametrize(
    ("layer", "change"),
    [("grids", {"name": "改过的网格"}), ("compounds", {"property_company": "新物业"}), ("buildings", {"levels": 7}),
     ("facilities", {"opening_hours": "08:00-20:00"})],
)  # fmt: skip
def test_a_community_admin_edits_inside_their_community_only(client, accounts, layers, places, layer, change):
    inside = _one(layers, layer, places["ours"], inside=True)
    outside = _one(layers, layer, places["theirs"], inside=True)
    r = _patch(client, accounts["clerk"], layer, inside, change)
    assert r.status_code == 200, r.text
    r = _patch(client, accounts["clerk"], layer, outside, change)
    assert r.status_code == 403 and "lies outside community " + places["code"] in r.json()["detail"]
    r = _patch(
        client, accounts["street-clerk"], layer, outside, change
    )  # the neighbour is in the same street
    assert r.status_code == (
        200 if layers["communities"].at[places["theirs"], "street_id"] == places["street"] else 403
    )


def test_layers_a_role_does_not_keep_are_refused_by_name(client, accounts, places):
    r = _patch(client, accounts["clerk"], "communities", places["ours"], {"name": "新名字"})
    assert r.status_code == 403 and "a community_admin does not edit 'communities'" in r.json()["detail"]
    r = _patch(client, accounts["street-clerk"], "communities", places["ours"], {"name": "新名字"})
    assert r.status_code == 200, r.text
    r = _patch(client, accounts["street-clerk"], "streets", places["street"], {"name": "新街道"})
    assert r.status_code == 403 and "does not edit 'streets'" in r.json()["detail"]


def test_moving_a_grid_s_edge_onto_the_neighbour_is_refused_naming_it(client, accounts, layers, places):
    grid = places["grid"]
    theirs = layers["communities"].geometry.loc[places["theirs"]]
    grown = shapely.union_all([grid.geometry, theirs.representative_point().buffer(0.0003)])
    r = _patch(client, accounts["clerk"], "grids", int(grid.name), geometry=mapping(grown))
    assert r.status_code == 403, r.text
    assert f"into community {places['their_code']}" in r.json()["detail"]
    r = _patch(client, accounts["clerk"], "grids", int(grid.name), geometry=mapping(grid.geometry))
    assert r.status_code == 200, r.text  # the same outline, within the community


def test_new_features_and_terms_inside_only(client, accounts, layers, places):
    communities = layers["communities"].geometry
    for community, expected in ((places["ours"], 201), (places["theirs"], 403)):
        point = communities.loc[community].representative_point()
        body = {"type": "Feature", "geometry": mapping(point),
                "properties": {"name": "新养老驿站", "categories": "elderly_care"}}  # fmt: skip
        r = client.post("/collections/facilities/items", json=body, headers=accounts["clerk"])
        assert r.status_code == expected, r.text
    grids = layers["grids"]
    other = int(grids.index[grids["community_id"] == places["theirs"]][0])
    for grid, expected in ((int(places["grid"].name), 201), (other, 403)):
        body = {"role": "grid_worker", "target_layer": "grids", "target_id": grid, "person_name": "新网格员"}
        r = client.post("/assignments", json=body, headers=accounts["clerk"])
        assert r.status_code == expected, r.text
    assert client.post("/assignments", json=body, headers=accounts["worker"]).status_code == 403


def test_reads_are_full_inside_and_masked_outside(client, accounts, layers, places):
    members = client.get("/collections/members/items?limit=5000", headers=accounts["clerk"]).json()[
        "features"
    ]
    full = layers["members"]
    for feature in members[:400]:
        stored = full.loc[feature["id"]]
        inside = stored["community_id"] == places["ours"]
        assert (feature["properties"]["phone"] == stored["phone"]) == inside, feature


def test_a_grid_worker_updates_households_of_their_grid_only(client, accounts, auth):
    area = client.get("/my-area", headers=accounts["worker"]).json()
    mine = area["households"][0]["id"]
    r = _patch(client, accounts["worker"], "households", mine, {"residents": 3})
    assert r.status_code == 200, r.text
    everyone = client.get("/collections/households/items?limit=2000", headers=auth["admin"]).json()[
        "features"
    ]
    theirs = next(h["id"] for h in everyone if h["id"] not in {x["id"] for x in area["households"]})
    r = _patch(client, accounts["worker"], "households", theirs, {"residents": 3})
    assert r.status_code == 404  # not in their grid: as if it did not exist
    building = area["buildings"]["features"][0]["id"]
    r = _patch(client, accounts["worker"], "buildings", building, {"levels": 9})
    assert r.status_code == 403 and "a grid_worker does not edit 'buildings'" in r.json()["detail"]
    r = client.post("/visits", json={"household_id": mine}, headers=accounts["worker"])
    assert r.status_code == 201, r.text
    ahead = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = client.post("/visits", json={"household_id": mine, "visited_on": ahead}, headers=accounts["worker"])
    assert r.status_code == 422 and "lies in the future" in r.text


def test_rights_from_a_term_end_with_the_term(client, accounts, auth, leader_grid):
    before = client.get("/my-area", headers=accounts["termed"]).json()
    assert before["grid_codes"] == [leader_grid["code"]] and before["households"]
    terms = client.get(f"/assignments/history?target_layer=grids&target_id={int(leader_grid.name)}",
                       headers=auth["admin"]).json()  # fmt: skip
    term = next(t for t in terms if t["person_name"] == "临时网格员" and t["valid_to"] is None)
    r = client.post(
        f"/assignments/{term['id']}/end", json={"on": dt.date.today().isoformat()}, headers=auth["admin"]
    )
    assert r.status_code == 200, r.text
    after = client.get("/my-area", headers=accounts["termed"]).json()
    assert after["grid_codes"] == [] and after["households"] == []
    household = before["households"][0]["id"]
    assert _patch(client, accounts["termed"], "households", household, {"residents": 2}).status_code == 404


def test_accounts_with_an_area_are_checked_when_made(service_db, places):
    engine = make_engine(service_db)
    with pytest.raises(InputError, match="no community has the code 999999999999"):
        add_user(engine, "x1", "community_admin", PASSWORD, area="999999999999")
    with pytest.raises(InputError, match="a street_admin needs --area CODE"):
        add_user(engine, "x2", "street_admin", PASSWORD)
    with pytest.raises(InputError, match="only street and community admins have an --area"):
        add_user(engine, "x3", "planner", PASSWORD, area=places["code"])
    with pytest.raises(InputError, match="a grid_worker needs --grid CODE"):
        add_user(engine, "x4", "grid_worker", PASSWORD)
    engine.dispose()


#: a harmless change per layer, for the rows of the matrix not covered above
CHANGES = {"party_orgs": {"name": "改名的党组织"}, "members": {"skills": "医生"}, "coop_units": {"kind": "school"},
           "entrances": {"name": "东门"}, "sponsorships": {"note": "续签"}, "offers": {"description": "每周六"},
           "visits": {"note": "已回访"}, "households": {"residents": 2}, "assignments": {"note": "兼任"}}  # fmt: skip


#: the layers a community's keepers edit, each with a harmless change
ALL_CHANGES = {**CHANGES, "grids": {"name": "改过的网格"}, "compounds": {"property_company": "新物业"},
               "buildings": {"levels": 7}, "facilities": {"opening_hours": "08:00-20:00"}}  # fmt: skip


@pytest.fixture(scope="module")
def entrances(client, auth, layers, places):
    """An entrance (gate) in each of the two communities: the demo's few lie elsewhere."""
    communities = layers["communities"].geometry
    for community in (places["ours"], places["theirs"]):
        point = communities.loc[community].representative_point()
        body = {"type": "Feature", "geometry": mapping(point), "properties": {"kind": "gate", "name": "北门"}}
        r = client.post("/collections/entrances/items", json=body, headers=auth["admin"])
        assert r.status_code == 201, r.text


def _area_rows(service_db, community_ids: tuple[int, ...], street_id: int | None = None) -> dict:
    """layer → (ids inside the communities, ids outside), as the service's access table sees them."""
    from gridmap.scope import COMMUNITY_AREA_INPUTS, community_area
    from gridmap.store.layers import read_layer

    engine = make_engine(service_db)
    frames = {name: read_layer(engine, name) for name in COMMUNITY_AREA_INPUTS}
    engine.dispose()
    area = community_area(frames, community_ids, street_id)
    return {name: (sorted(area.ids.get(name, ())), sorted(set(frames[name].index) - set(area.ids.get(name, ()))))
            for name in ALL_CHANGES}  # fmt: skip


@pytest.fixture(scope="module")
def clerk_area(service_db, places, entrances):
    return _area_rows(service_db, (places["ours"],))


@pytest.fixture(scope="module")
def street_area(service_db, layers, places, entrances):
    communities = layers["communities"]
    ours = tuple(int(i) for i in communities.index[communities["street_id"] == places["street"]])
    return _area_rows(service_db, ours, places["street"])


@pytest.mark.parametrize("layer", sorted(CHANGES))
def test_every_kept_layer_inside_and_outside_a_community(client, accounts, clerk_area, layer):
    inside, outside = clerk_area[layer]
    if not inside or not outside:
        pytest.skip(f"the demo has no {layer} on both sides of this community")
    r = _patch(client, accounts["clerk"], layer, inside[0], CHANGES[layer])
    assert r.status_code == 200, (layer, r.text)
    r = _patch(client, accounts["clerk"], layer, outside[0], CHANGES[layer])
    assert r.status_code == 403 and "lies outside community" in r.json()["detail"], (layer, r.text)


@pytest.mark.parametrize("layer", sorted(ALL_CHANGES))
def test_every_kept_layer_inside_and_outside_a_street(client, accounts, street_area, layer):
    inside, outside = street_area[layer]
    if not inside or not outside:
        pytest.skip(f"the demo has no {layer} on both sides of this street")
    r = _patch(client, accounts["street-clerk"], layer, inside[-1], ALL_CHANGES[layer])
    assert r.status_code == 200, (layer, r.text)
    r = _patch(client, accounts["street-clerk"], layer, outside[0], ALL_CHANGES[layer])
    assert r.status_code == 403 and "lies outside street" in r.json()["detail"], (layer, r.text)


@pytest.fixture(scope="module")
def worker_rows(service_db, leader_grid) -> dict:
    """layer → (the ids in the worker's grid, the ids stored)."""
    from gridmap.scope import AREA_INPUTS, grid_leader_area
    from gridmap.store.layers import read_layer

    engine = make_engine(service_db)
    frames = {name: read_layer(engine, name) for name in {*AREA_INPUTS, *ALL_CHANGES}}
    engine.dispose()
    area = grid_leader_area(frames, (int(leader_grid.name),))
    return {name: (sorted(area.ids.get(name, ())), sorted(frames[name].index)) for name in ALL_CHANGES}


@pytest.mark.parametrize("layer", sorted(ALL_CHANGES))
def test_every_kept_layer_for_a_grid_worker(client, accounts, worker_rows, layer):
    mine, stored = worker_rows[layer]
    if layer not in ("households", "visits"):
        body = {"type": "Feature", "geometry": None, "properties": ALL_CHANGES[layer]}

        def patch(fid: int):
            return client.patch(f"/collections/{layer}/items/{fid}", json=body,
                                headers={**accounts["worker"], "If-Match": '"stale"'})  # fmt: skip

        if mine:  # in their grid: refused by layer, before the tag is looked at
            r = patch(mine[0])
            assert r.status_code == 403 and f"a grid_worker does not edit '{layer}'" in r.json()["detail"], (
                r.text
            )
        for fid in (int(min(set(stored) - set(mine))), 999_999):  # elsewhere, or nowhere: alike
            r = patch(fid)
            assert r.status_code == 404 and r.json()["detail"] == f"no feature {fid} in '{layer}'", r.text
        return
    r = _patch(client, accounts["worker"], layer, mine[0], ALL_CHANGES[layer])
    assert r.status_code == 200, (layer, r.text)
    outside = sorted(set(stored) - set(mine))
    r = _patch(client, accounts["worker"], layer, outside[0], ALL_CHANGES[layer])
    assert r.status_code in (403, 404), (layer, r.text)  # another grid's: not theirs to read either
