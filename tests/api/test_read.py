"""Reading the service, role by role: OGC API Features, vector tiles, who is responsible,
my area, coverage and siting results and map downloads — including every refusal."""

from __future__ import annotations

import datetime as dt

import mapbox_vector_tile
import morecantile
import pytest
import shapely

from gridmap.scope import PUBLIC_LAYERS
from gridmap.tiles import BUFFER, EXTENT

TMS = morecantile.tms.get("WebMercatorQuad")


def tile_of(point: shapely.Point, z: int) -> str:
    t = TMS.tile(point.x, point.y, z)
    return f"{z}/{t.x}/{t.y}"


def decode(content: bytes) -> dict:
    return mapbox_vector_tile.decode(content) if content else {}


# --- OGC API Features ---------------------------------------------------------------------


def test_landing_page_is_the_web_map_for_browsers_and_json_for_clients(client):
    html = client.get("/", headers={"Accept": "text/html"})
    assert html.status_code == 200 and "maplibre-gl.js" in html.text
    landing = client.get("/?f=json").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
        in client.get("/conformance").json()["conformsTo"]
    )
    assert client.get("/openapi.json").json()["info"]["title"] == "gridmap"


def test_collections_are_what_each_role_may_read(client, auth):
    def ids(who):
        return [c["id"] for c in client.get("/collections", headers=auth[who]).json()["collections"]]

    assert ids("public") == list(PUBLIC_LAYERS)
    assert "members" in ids("planner") and "households" in ids("leader")
    grids = client.get("/collections/grids", headers=auth["planner"]).json()
    assert grids["extent"]["spatial"]["bbox"][0][0] == pytest.approx(104.05, abs=0.05)


def test_items_page_with_links_and_filter_by_bbox_and_property(client, auth, layers):
    facilities = layers["facilities"]
    first = client.get("/collections/facilities/items?limit=10").json()
    assert first["numberMatched"] == len(facilities) and first["numberReturned"] == 10
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(nxt.replace("http://testserver", "")).json()
    assert [f["id"] for f in second["features"]] == [int(i) for i in facilities.index[10:20]]
    box = (104.07, 30.65, 104.09, 30.67)
    inside = facilities[facilities.intersects(shapely.box(*box))]
    got = client.get(
        "/collections/facilities/items", params={"bbox": ",".join(map(str, box)), "limit": 1000}
    ).json()
    assert sorted(f["id"] for f in got["features"]) == sorted(int(i) for i in inside.index)
    markets = client.get("/collections/facilities/items?categories=market&limit=1000").json()
    assert markets["numberMatched"] == int((facilities["categories"] == "market").sum()) > 0
    bad = client.get("/collections/facilities/items?colour=red")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "colour"
    assert client.get("/collections/facilities/items?bbox=1,2,3").status_code == 422
    for box in (
        "nan,nan,nan,nan",
        "0,0,200,10",
        "0,-95,10,10",
    ):  # NaN passed every comparison: nothing matched
        r = client.get(f"/collections/facilities/items?bbox={box}")
        assert r.status_code == 422 and "expected longitudes within -180…180" in r.text, (box, r.text)
    r = client.get("/who?lon=nan&lat=30.6")
    assert r.status_code == 422 and "finite number" in r.text  # not "less than or equal to 180"


def test_one_feature_carries_its_entity_tag(client, layers):
    fid = int(layers["facilities"].index[0])
    r = client.get(f"/collections/facilities/items/{fid}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.json()["id"] == fid and len(r.headers["etag"].strip('"')) == 32
    assert client.get("/collections/facilities/items/999999").status_code == 404
    assert client.get("/collections/nothing/items").status_code == 404


@pytest.mark.parametrize("layer", ["households", "members", "grids", "facilities"])
def test_an_item_reads_as_it_does_in_its_collection_for_each_role(client, auth, layer, monkeypatch):
    """One feature read alone, where its layer is not held as it is now (after an edit): it
    answers what the collection answers for it, its gaps (None, numbers beside missing
    ones) and masks included, and for a caller it is hidden from as for a feature that does
    not exist."""
    import api.state

    monkeypatch.setattr(api.state.LayerStore, "held", lambda *_: None)  # as after an edit elsewhere
    monkeypatch.setattr(api.state, "READS_BY_ID_PER_VERSION", 10**9)
    every = client.get(f"/collections/{layer}/items?limit=1000", headers=auth["admin"]).json()["features"]
    gaps = sorted(every, key=lambda f: -sum(v is None for v in f["properties"].values()))
    chosen = {f["id"] for f in [*gaps[:4], *every[:3], *every[-3:]]}
    for name in ("admin", "planner", "leader", "public"):
        r = client.get(f"/collections/{layer}/items?limit=1000", headers=auth[name])  # the ids chosen
        listed = {f["id"]: f for f in r.json()["features"]} if r.status_code == 200 else {}
        for fid in sorted(chosen):
            one = client.get(f"/collections/{layer}/items/{fid}", headers=auth[name])
            if fid in listed:
                assert one.status_code == 200 and one.json() == listed[fid], (name, fid)
            else:  # outside the caller's reach: as if there were none
                assert one.status_code in (401, 403, 404), (name, fid, one.status_code)
                none = client.get(f"/collections/{layer}/items/99999999", headers=auth[name])
                assert (one.status_code, one.json()["title"]) == (none.status_code, none.json()["title"])


def test_public_reads_no_personal_or_building_layers(client, auth, layers):
    for layer in ("members", "households", "assignments", "buildings", "grids"):
        assert client.get(f"/collections/{layer}/items").status_code == 401, layer  # sign in first
    fid = int(layers["buildings"].index[0])
    assert client.get(f"/collections/buildings/items/{fid}").status_code == 401


def test_a_bad_token_is_refused_not_treated_as_public(client):
    r = client.get("/collections", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.post("/auth/token", json={"name": "admin", "password": "wrong"}).status_code == 401


def test_planner_reads_everything_with_phones_and_names_masked(client, auth, layers):
    members = client.get("/collections/members/items?limit=5", headers=auth["planner"]).json()
    stored = layers["members"]
    assert members["numberMatched"] == len(stored)
    for f in members["features"]:
        real = stored.loc[f["id"]]
        assert f["properties"]["phone"] == real["phone"][:3] + "****" + real["phone"][-4:]
        assert f["properties"]["name"].startswith(real["name"][0]) and "*" in f["properties"]["name"]


def test_grid_leader_reads_only_their_grid_and_what_lies_in_it(client, auth, layers, leader_grid):
    h = auth["leader"]
    grids = client.get("/collections/grids/items?limit=1000", headers=h).json()
    assert [f["properties"]["code"] for f in grids["features"]] == [leader_grid["code"]]
    shape = leader_grid.geometry
    buildings = client.get("/collections/buildings/items?limit=1000", headers=h).json()["features"]
    assert buildings and all(
        shapely.geometry.shape(b["geometry"]).representative_point().within(shape) for b in buildings
    )
    own = {b["id"] for b in buildings}
    members = client.get("/collections/members/items?limit=10000", headers=h).json()["features"]
    assert members and {m["properties"]["building_id"] for m in members} <= own
    real = layers["members"].loc[members[0]["id"]]
    assert members[0]["properties"]["phone"] == real["phone"]  # unmasked: they call these people
    households = client.get("/collections/households/items?limit=10000", headers=h).json()
    expected = layers["households"]["building_id"].isin(own).sum()
    assert households["numberMatched"] == expected
    # outside the area is answered exactly as an id that does not exist: ids cannot be probed
    other = layers["buildings"].drop(index=list(own)).index[0]
    other_grid = layers["grids"].drop(index=leader_grid.name).index[0]
    missing = int(layers["grids"].index.max()) + 1000
    outside = client.get(f"/collections/grids/items/{int(other_grid)}", headers=h)
    absent = client.get(f"/collections/grids/items/{missing}", headers=h)
    assert client.get(f"/collections/buildings/items/{int(other)}", headers=h).status_code == 404
    assert outside.status_code == absent.status_code == 404
    assert outside.json()["detail"].replace(str(int(other_grid)), "N") == absent.json()["detail"].replace(
        str(missing), "N"
    )
    assert set(outside.headers) == set(absent.headers)


def test_search_finds_grids_by_code_within_the_callers_scope(client, auth, layers, leader_grid):
    code = leader_grid["code"]
    hits = client.get(f"/search?q={code[:-1]}", headers=auth["planner"]).json()
    assert code in {h["label"].split()[1] for h in hits if h["layer"] == "grids"}
    other = layers["grids"].drop(index=leader_grid.name).iloc[0]["code"]
    assert client.get(f"/search?q={other}", headers=auth["leader"]).json() == []
    assert client.get(f"/search?q={code}").json() == []  # the public has no grids


# --- tiles ---------------------------------------------------------------------------------


def test_tiles_decode_to_the_features_of_the_tile_and_tilejson_names_them(client, auth, layers, leader_grid):
    point = leader_grid.geometry.representative_point()
    z, x, y = (int(v) for v in tile_of(point, 15).split("/"))
    r = client.get(f"/tiles/grids/{z}/{x}/{y}", headers=auth["planner"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    codes = {f["properties"]["code"] for f in decode(r.content)["grids"]["features"]}
    left, bottom, right, top = TMS.xy_bounds(morecantile.Tile(x, y, z))
    pad = (right - left) * BUFFER / EXTENT  # tiles carry a margin beyond their edges
    area = shapely.box(left - pad, bottom - pad, right + pad, top + pad)
    grids = layers["grids"].to_crs(3857)
    touching = grids[grids.intersects(area)]
    assert codes == set(touching["code"])
    tj = client.get("/tiles/grids.json", headers=auth["planner"]).json()
    assert tj["tiles"][0].endswith("/tiles/grids/{z}/{x}/{y}") and "code" in tj["vector_layers"][0]["fields"]


def test_tiles_keep_to_the_callers_scope(client, auth, leader_grid):
    address = tile_of(leader_grid.geometry.representative_point(), 13)
    mine = decode(client.get(f"/tiles/grids/{address}", headers=auth["leader"]).content)
    assert {f["properties"]["code"] for f in mine["grids"]["features"]} == {leader_grid["code"]}
    everyone = decode(client.get(f"/tiles/grids/{address}", headers=auth["planner"]).content)
    assert len(everyone["grids"]["features"]) > 1
    assert client.get(f"/tiles/grids/{address}").status_code == 403
    assert client.get(f"/tiles/buildings/{address}").status_code == 403
    assert client.get(f"/tiles/gaps/{address}", headers=auth["leader"]).status_code == 403
    public = client.get(f"/tiles/facilities/{address}")
    assert public.status_code == 200 and public.headers["cache-control"] == "public, no-cache"
    private = client.get(f"/tiles/grids/{address}", headers=auth["leader"])
    assert private.headers["cache-control"] == "private, no-cache"
    again = client.get(
        f"/tiles/grids/{address}", headers={**auth["leader"], "If-None-Match": private.headers["etag"]}
    )
    assert again.status_code == 304
    assert client.get("/tiles/facilities/3/9/1").status_code == 404  # off the grid: no such tile
    # a tile looks its token up on its worker thread: refused as every other route refuses it
    for header in ("Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer "):
        for layer in ("facilities", "grids"):  # public or not, a bad token is not the public
            refused = client.get(f"/tiles/{layer}/{address}", headers={"Authorization": header})
            assert refused.status_code == 401 and refused.json()["title"], (header, layer)
            assert "etag" not in refused.headers


def test_analysis_tiles_show_minutes_gaps_and_proposals(client, auth, layers, leader_grid):
    address = tile_of(leader_grid.geometry.representative_point(), 13)
    cov = decode(
        client.get(
            f"/tiles/coverage/{address}?category=elderly_care&level=15", headers=auth["planner"]
        ).content
    )
    assert cov["coverage"]["features"] and all(
        "minutes" in f["properties"] for f in cov["coverage"]["features"]
    )
    mine = decode(
        client.get(
            f"/tiles/coverage/{address}?category=elderly_care&level=15", headers=auth["leader"]
        ).content
    )
    assert 0 < len(mine["coverage"]["features"]) < len(cov["coverage"]["features"])
    sites = client.get("/siting/scenarios/latest/sites", headers=auth["planner"]).json()["features"]
    site = shapely.geometry.shape(sites[0]["geometry"])
    tile = decode(client.get(f"/tiles/proposals/{tile_of(site, 15)}", headers=auth["planner"]).content)
    assert 1 in {f["properties"]["rank"] for f in tile["proposals"]["features"]}


# --- who is responsible ----------------------------------------------------------------------


def test_who_answers_areas_and_people_and_masks_them_by_role(client, auth, layers, leader_grid):
    buildings = layers["buildings"]
    inside = buildings[buildings.representative_point().within(leader_grid.geometry)]
    point = inside.geometry.iloc[0].representative_point()
    url = f"/who?lon={point.x}&lat={point.y}"
    full = client.get(url, headers=auth["admin"]).json()
    assert [g["code"] for g in full["grids"]] == [leader_grid["code"]]
    assert full["building"]["id"] == int(inside.index[0])
    assert full["community"]["id"] == int(leader_grid["community_id"])
    leaders = full["grids"][0]["leaders"]
    assert leaders and leaders[0]["phone"].isdigit()
    mine = client.get(url, headers=auth["leader"]).json()
    assert mine["grids"][0]["leaders"] == leaders  # their own grid: in full
    public = client.get(url).json()["grids"][0]["leaders"][0]
    assert "*" in public["phone"] and public["person_name"].endswith("*")
    planner = client.get(url, headers=auth["planner"]).json()["grids"][0]["leaders"][0]
    assert planner["person_name"] == leaders[0]["person_name"] and "*" in planner["phone"]
    assert client.get("/who?lon=200&lat=30").status_code == 422


def test_who_on_a_past_day_names_the_leader_of_that_day(client, auth, layers):
    a = layers["assignments"]
    changed = a[(a["role"] == "grid_leader") & a["valid_to"].notna()].iloc[0]
    grid = layers["grids"].loc[int(changed["target_id"])]
    point = grid.geometry.representative_point()
    day = changed["valid_to"] - dt.timedelta(days=1)
    then = client.get(f"/who?lon={point.x}&lat={point.y}&at={day}", headers=auth["admin"]).json()
    now = client.get(f"/who?lon={point.x}&lat={point.y}", headers=auth["admin"]).json()
    entry = next(g for g in then["grids"] if g["id"] == int(changed["target_id"]))
    assert [p["person_name"] for p in entry["leaders"]] == [changed["person_name"]]
    current = next(g for g in now["grids"] if g["id"] == int(changed["target_id"]))
    assert changed["person_name"] not in [p["person_name"] for p in current["leaders"]]


def test_a_grid_leader_s_rows_read_by_id_are_those_taken_from_the_layers_held(client, auth, monkeypatch):
    """A grid leader's own rows are read by id where their layer is not held as it is now,
    not with the whole layer: every collection, the leader's area and a term's history
    answer the same from the layers held, by id, and from the layers read whole again."""
    import api.state

    h = auth["leader"]
    layers = [c["id"] for c in client.get("/collections", headers=h).json()["collections"]]
    urls = [f"/collections/{n}/items?limit=10000" for n in layers]
    urls += ["/my-area", "/assignments/history?target_layer=grids&target_id=1"]

    def answers() -> list:
        out = []
        for url in urls:
            r = client.get(url, headers=h)
            assert r.status_code == 200, url
            body = r.json()
            if isinstance(body, dict):
                body.pop("timeStamp", None)
            out.append(body)
        return out

    held = answers()  # from the layers held as they are now
    monkeypatch.setattr(api.state.LayerStore, "held", lambda *_: None)  # as after an edit elsewhere
    monkeypatch.setattr(api.state, "READS_BY_ID_PER_VERSION", 10**9)  # every request reads by id
    by_id = answers()
    monkeypatch.setattr(api.state, "READ_BY_ID_MAX", -1)  # and the layers read whole again
    whole = answers()
    for url, a, b, c in zip(urls, held, by_id, whole, strict=True):
        assert a == b == c, url
    assert len(by_id[urls.index("/collections/households/items?limit=10000")]["features"]) > 0


def test_a_layer_read_by_id_at_one_version_is_held_again_after_a_few_requests(service_db):
    """Rows are read by id while the layer is not held as it is now, but a layer that stays
    as it is for READS_BY_ID_PER_VERSION requests is read whole again and held."""
    from api.state import READS_BY_ID_PER_VERSION, LayerStore
    from gridmap.store.engine import make_engine

    engine = make_engine(service_db)
    store = LayerStore(engine)  # as a process just started: nothing held
    versions = store.versions()
    for _ in range(READS_BY_ID_PER_VERSION):
        assert list(store.rows("households", frozenset({3, 1}), versions).index) == [1, 3]
        assert store.held("households", versions) is None
    assert list(store.rows("households", frozenset({3, 1}), versions).index) == [1, 3]
    assert len(store.held("households", versions)) > 10_000  # read whole, and held
    engine.dispose()


def test_my_area_lists_the_leaders_grid_buildings_households_members_and_duties(
    client, auth, layers, leader_grid
):
    area = client.get("/my-area", headers=auth["leader"]).json()
    assert area["grid_codes"] == [leader_grid["code"]]
    own = {f["id"] for f in area["buildings"]["features"]}
    hh = layers["households"]
    assert area["totals"]["households"] == int(hh["building_id"].isin(own).sum()) > 0
    assert {m["building_id"] for m in area["members"]} <= own
    assert any(d["role"] == "grid_leader" and d["target_id"] == int(leader_grid.name) for d in area["duties"])
    assert area["bounds"] == pytest.approx(list(leader_grid.geometry.bounds), abs=1e-6)
    assert client.get("/my-area", headers=auth["planner"]).status_code == 403
    assert client.get("/my-area").status_code == 401


# --- coverage and siting results ------------------------------------------------------------


def test_coverage_summaries_by_scope_and_role(client, auth, leader_grid):
    rows = client.get("/coverage/runs/latest/summary?scope=community&category=elderly_care&level=15").json()
    assert rows and all(0 <= r["share_residents"] <= 1 for r in rows)
    assert client.get("/coverage/runs/latest/summary?scope=grid").status_code == 401
    mine = client.get("/coverage/runs/latest/summary?scope=grid", headers=auth["leader"]).json()
    assert {r["code"] for r in mine} == {leader_grid["code"]}
    assert len(client.get("/coverage/runs/latest/summary?scope=grid", headers=auth["planner"]).json()) > len(
        mine
    )
    assert client.get("/coverage/runs/latest/summary?scope=planet").status_code == 422
    gaps = client.get("/coverage/runs/latest/gaps?category=clinic", headers=auth["planner"]).json()
    assert all(f["properties"]["residents"] > 0 for f in gaps["features"])
    assert client.get("/coverage/runs/latest/gaps").status_code == 401
    assert client.get("/coverage/runs/999/summary").status_code == 404


def test_a_kept_run_and_scenario_say_what_their_count_of_homes_held(client, auth):
    run = client.get("/coverage/runs/latest").json()
    homes = run["homes"]
    area = client.get("/coverage/runs/latest/summary?scope=area&category=clinic&level=15").json()
    assert sum(homes["residents"].values()) == area[0]["residents"] > 0  # every resident counted, by source
    assert homes["said"].startswith(f"{area[0]['residents']:,} residents: ")
    assert ("of a footprint over 5,000 m²" in homes["said"]) == (homes["doubtful_buildings"] > 0)
    assert "homes" not in run["inputs"]  # each layer's version and count, as the model says
    assert client.get("/siting/scenarios/latest", headers=auth["planner"]).json()["homes"] == homes
    estimated = homes["residents"].get("estimate", 0) / area[0]["residents"]
    listed = (
        client.get("/coverage/runs").json()[0],
        client.get("/siting/scenarios", headers=auth["planner"]).json()[0],
    )
    assert listed[0]["id"] == run["id"]
    for kept in listed:  # the lists of runs and of scenarios say what each counted
        assert kept["residents"] == area[0]["residents"] and kept["estimated"] == pytest.approx(estimated)


def test_scenarios_for_planners_only(client, auth):
    s = client.get("/siting/scenarios/latest", headers=auth["planner"]).json()
    assert s["model"] == "mclp" and len(s["sites"]) == 2
    assert all(c["residents_covered_after"] >= c["residents_covered_before"] for c in s["coverage"])
    assert client.get("/siting/scenarios", headers=auth["leader"]).status_code == 403


# --- map downloads --------------------------------------------------------------------------


def test_maps_download_within_the_callers_role(client, auth, layers, leader_grid):
    r = client.get("/maps/grids.html", headers=auth["planner"])
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert "unpkg.com" not in r.text and "L.map" in r.text  # offline: Leaflet inlined
    assert client.get("/maps/grids.html").status_code == 401
    area = client.get("/maps/area.html", headers=auth["leader"])
    assert area.status_code == 200 and leader_grid["code"] in area.text
    other = layers["grids"].drop(index=leader_grid.name).iloc[0]["code"]
    assert client.get(f"/maps/area.html?grid={other}", headers=auth["leader"]).status_code == 403
    # a scenario id beyond the databases' range ended in a 500 on SpatiaLite
    r = client.get("/maps/siting.html?scenario=99999999999999999999", headers=auth["planner"])
    assert r.status_code == 422 and "less than or equal to" in r.text


# --- grid map integrity, organisation figures, alignment and drawings ------------------------


def test_org_report_gives_shares_to_all_and_what_is_missing_to_readers(client, auth, layers):
    public = client.get("/org/report?scope=area")
    assert public.status_code == 200
    rows = {r["figure"]: r for r in public.json()["figures"]}
    compounds = layers["compounds"]
    with_branch = rows["compounds_with_branch"]
    assert with_branch["total"] == len(compounds) and with_branch["count"] == int(
        compounds["branch_id"].notna().sum()
    )
    assert "missing" not in with_branch and "leader_load" not in public.json()
    planner = client.get("/org/report", headers=auth["planner"]).json()
    assert {r["scope"] for r in planner["figures"]} >= {"area", "street", "community", "grid"}
    area = next(
        r for r in planner["figures"] if r["scope"] == "area" and r["figure"] == "compounds_with_branch"
    )
    lacking = {int(i) for i in area["missing"].split(",") if i}
    assert lacking == set(compounds.index[compounds["branch_id"].isna()])
    assert planner["leader_load"] and {"role", "person_name", "households"} <= set(planner["leader_load"][0])
    layer = client.get("/org/missing/compounds_with_branch", headers=auth["planner"])
    assert layer.status_code == 200 and layer.headers["content-type"] == "application/geo+json"
    assert {f["id"] for f in layer.json()["features"]} == lacking
    assert client.get("/org/missing/compounds_with_branch").status_code == 401
    assert client.get("/org/missing/compounds_with_branch", headers=auth["leader"]).status_code == 403
    assert client.get("/org/missing/members_linking_10", headers=auth["planner"]).status_code == 404
    bad = client.get("/org/report?scope=city")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "scope"
    assert "'area', 'district', 'street', 'community' or 'grid'" in bad.json()["problems"][0]["message"]


def test_grid_map_findings_match_validate(client, auth, layers):
    from gridmap.topology import CHECKED_LAYERS, check_grid_map

    r = client.get("/grid-map/findings", headers=auth["planner"])
    assert r.status_code == 200
    body = r.json()
    assert body["errors"] == 0 and body["warnings"] == len(body["features"]) > 0
    service_db_layers = {n: layers[n] for n in CHECKED_LAYERS if n in layers}
    expected = check_grid_map(service_db_layers)  # the same layers, default tolerances
    assert sorted({f["properties"]["kind"] for f in body["features"]}) == sorted(set(expected["kind"]))
    assert client.get("/grid-map/findings?severity=error", headers=auth["admin"]).json()["features"] == []
    assert client.get("/grid-map/findings", headers=auth["resident"]).status_code == 403


def test_alignment_and_a_proposed_drawing_for_planners(client, auth, layers):
    same = client.get("/grids/alignment?a=comprehensive&b=comprehensive", headers=auth["planner"])
    assert same.status_code == 200 and same.json()["shared_share"]["comprehensive"] == 1.0
    missing = client.get("/grids/alignment?a=party&b=comprehensive", headers=auth["planner"])
    assert missing.status_code == 422 and "there are no grids of kind 'party'" in missing.text
    community = layers["communities"].iloc[0]
    r = client.get(f"/grids/proposal?community={community['code']}", headers=auth["planner"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["community"] == community["code"] and body["households_range"] == [300, 500]
    codes = [f["properties"]["code"] for f in body["features"]]
    assert codes and all(c.startswith(community["code"]) for c in codes)
    assert {f["properties"]["status"] for f in body["features"]} <= {"kept", "reshaped", "new"}
    assert client.get(f"/grids/proposal?community={community['code']}").status_code == 401
    unknown = client.get("/grids/proposal?community=nowhere", headers=auth["admin"])
    assert unknown.status_code == 422 and "no community has the code or name 'nowhere'" in unknown.text
    party = client.get(f"/grids/proposal?community={community['code']}&kind=party", headers=auth["planner"])
    assert party.status_code == 200, party.text
    numbered = set(layers["grids"]["code"])  # the comprehensive grids' numbers stay theirs
    assert not {f["properties"]["code"] for f in party.json()["features"]} & numbered
    odd = client.get(f"/grids/proposal?community={community['code']}&kind=nosuch", headers=auth["planner"])
    assert odd.status_code == 422 and "'nosuch' is not a kind of grid" in odd.text


def test_a_method_not_answered_names_every_method_of_the_path(client):
    for path, allowed in (
        ("/collections/buildings/items", "GET, POST"),
        ("/collections/buildings/items/1", "DELETE, GET, PATCH, PUT"),
        ("/coverage/runs", "GET, POST"),
    ):
        r = client.options(path)
        assert r.status_code == 405 and r.headers["allow"] == allowed, (path, r.headers.get("allow"))
        assert r.json()["title"] == "method not allowed"


@pytest.mark.parametrize("layer", ["households", "members", "needs", "compounds", "events"])
def test_ids_and_counts_in_columns_with_gaps_are_whole_numbers_in_json(client, auth, layer):
    """A column of ids with gaps is read as floats: 642.0 came out for a member's id, which a
    client that parses ids as integers refuses."""
    features = client.get(f"/collections/{layer}/items?limit=500", headers=auth["admin"]).json()["features"]
    ids = [v for f in features for k, v in f["properties"].items() if k.endswith("_id") and v is not None]
    assert ids and all(isinstance(v, int) for v in ids), {type(v) for v in ids}
