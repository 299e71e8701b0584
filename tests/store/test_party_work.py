"""The party organisation and the 双报到 loop in the store, on both databases: the migration
keeps what was there; branches on grids; grid kinds that import by their own rules; posts held
only where the catalogue says; needs filed, claimed and confirmed with the points they earn;
two awards at once under one cap."""

from __future__ import annotations

import datetime as dt
import json
import threading

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from gridmap.errors import ConflictError, InputError, NotFoundError
from gridmap.io.assign import assign, assign_branch
from gridmap.io.importer import import_layer
from gridmap.io.needs import award_points, file_need, move_need
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer, write_layer
from gridmap.store.schema import upgrade_db

X, Y = 104.06, 30.66


def _square(x: float, y: float, size: float = 0.004) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


def test_the_migration_keeps_every_organisation_member_and_assignment(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade_db(engine, "0011")  # the schema before this loop
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO party_orgs (id, name, kind, joint, form) VALUES (1, '社区党委', 'community_committee', 0, NULL),"
            " (2, '宝龙国际兼合式党支部', 'compound_branch', 0, 'embedded'), (3, '楼栋党小组', 'building_group', 0, NULL)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO members (id, name, kind, org_id, registered_on) VALUES (1, '王芳', 'in_service', 2, "
            "'2023-01-01'), (2, '李强', 'resident', 3, NULL)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO assignments (id, person_name, role, target_layer, target_id, valid_from) VALUES "
            "(1, '张书记', 'branch_secretary', 'party_orgs', 2, '2022-01-01'), "
            "(2, '赵网格', 'grid_leader', 'grids', 9, '2021-01-01')"
        ))  # fmt: skip
    upgrade_db(engine)
    orgs = read_layer(engine, "party_orgs").set_index("id")
    assert orgs["kind"].tolist() == ["community_committee", "compound_branch", "building_group"]
    assert orgs.loc[2, "form"] == "embedded" and not bool(orgs.loc[2, "joint"])  # 兼合式 stays 兼合式
    members = read_layer(engine, "members").set_index("id")
    assert (
        members["name"].tolist() == ["王芳", "李强"] and str(members.loc[1, "registered_on"]) == "2023-01-01"
    )
    assert members["unit_registered_on"].isna().all()
    assert read_layer(engine, "assignments")["person_name"].tolist() == ["张书记", "赵网格"]
    engine.dispose()


@pytest.fixture
def district(engine):
    """A street with two communities, a grid in each, a compound and a building with a
    household, an in-service member of a co-building unit."""
    write_layer(engine, "streets", gpd.GeoDataFrame({"code": ["510104001"], "name": ["街道"]},
                                                    geometry=[_square(X, Y, 0.02)], crs=4326))  # fmt: skip
    write_layer(engine, "communities", gpd.GeoDataFrame(
        {"code": ["510104001001", "510104001002"], "name": ["东社区", "西社区"], "street_id": [1, 1]},
        geometry=[_square(X, Y, 0.01), _square(X + 0.01, Y, 0.01)], crs=4326))  # fmt: skip
    write_layer(engine, "grids", gpd.GeoDataFrame(
        {"code": ["510104001001001", "510104001002001"], "community_id": [1, 2], "level": [1, 1],
         "kind": ["party", "party"]}, geometry=[_square(X, Y, 0.01), _square(X + 0.01, Y, 0.01)], crs=4326))  # fmt: skip
    write_layer(engine, "compounds", gpd.GeoDataFrame({"name": ["锦华苑"], "community_id": [1]},
                                                      geometry=[_square(X + 0.002, Y + 0.002)], crs=4326))  # fmt: skip
    write_layer(engine, "buildings", gpd.GeoDataFrame({"name": ["1栋"], "compound_id": [1], "households": [30]},
                                                      geometry=[_square(X + 0.003, Y + 0.003, 0.0005)], crs=4326))  # fmt: skip
    write_layer(engine, "households", pd.DataFrame({"building_id": [1], "unit": ["1单元"], "room": ["101"],
                                                    "head_name": ["刘阿姨"], "phone": ["10012345678"]}))  # fmt: skip
    write_layer(engine, "coop_units", gpd.GeoDataFrame({"name": ["区医院"], "community_id": [1]},
                                                       geometry=[shapely.Point(X + 0.001, Y + 0.001)], crs=4326))  # fmt: skip
    write_layer(engine, "members", pd.DataFrame({"name": ["王芳"], "kind": ["in_service"], "building_id": [1],
                                                 "coop_unit_id": [1], "community_id": [1]}))  # fmt: skip
    write_layer(engine, "party_orgs", pd.DataFrame({
        "name": ["东社区党委", "一网格党支部", "一网格党小组", "1栋党小组"],
        "kind": ["community_committee", "grid_branch", "grid_group", "building_group"],
    }))  # fmt: skip
    return engine


def test_a_branch_or_a_group_on_a_grid_and_not_a_building_group(district):
    assert assign_branch(district, [1, 2], 2, user="t", layer="grids") == 2  # 多格一支部
    assign_branch(district, [2], 3, user="t", layer="grids")  # 一格一小组
    assert read_layer(district, "grids")["branch_id"].tolist() == [2, 3]
    with pytest.raises(InputError, match=r"building_group; grids take one of: .*grid_branch.*grid_group"):
        assign_branch(district, [1], 4, user="t", layer="grids")
    with pytest.raises(InputError, match="grid_group; compounds take one of"):
        assign_branch(district, [1], 3, user="t", layer="compounds")
    with pytest.raises(InputError, match="on compounds or grids"):
        assign_branch(district, [1], 2, user="t", layer="buildings")


def test_posts_are_held_only_where_the_catalogue_says(district):
    assign(
        district,
        role="owners_committee_chair",
        target_layer="compounds",
        target_id=1,
        person_name="陈主任",
        user="t",
    )
    with pytest.raises(
        InputError, match=r"owners_committee_chair \(业委会主任\) is held for compounds, not for grids"
    ):
        assign(
            district,
            role="owners_committee_chair",
            target_layer="grids",
            target_id=1,
            person_name="陈",
            user="t",
        )
    with pytest.raises(InputError, match="'mayor' is not one of"):
        assign(district, role="mayor", target_layer="grids", target_id=1, person_name="陈", user="t")


def _grids_file(tmp_path, *rows: tuple[str, str, str | None, shapely.Polygon]) -> str:
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                 "properties": {"code": code, "kind": kind, "community_code": community, "level": 1}}
                for code, kind, community, geom in rows]  # fmt: skip
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


def test_a_police_grid_and_a_large_grid_import_by_their_own_rules(district, tmp_path):
    path = _grids_file(tmp_path, ("JW-0101", "police", None, _square(X, Y, 0.02)),
                       ("DWG-01", "large", "510104001001", _square(X, Y, 0.02)))  # fmt: skip
    import_layer(district, "grids", path)
    grids = read_layer(district, "grids").set_index("code")
    assert grids.loc["JW-0101", "kind"] == "police" and grids.loc["DWG-01", "kind"] == "large"
    bad = _grids_file(tmp_path, ("JW-0102", "party", "510104001001", _square(X, Y)),
                      ("510104001002009", "party", "510104001001", _square(X, Y)))  # fmt: skip
    with pytest.raises(InputError) as caught:
        import_layer(district, "grids", bad)
    messages = [p.message for p in caught.value.problems]
    assert any("'JW-0102' is not 15 digits" in m and "(grid kind party)" in m for m in messages)
    assert any("does not begin with its community's code 510104001001" in m for m in messages)
    assert len(read_layer(district, "grids")) == 4  # nothing of the bad file was written


def test_a_need_filed_claimed_done_and_confirmed_earns_points(district):
    need = file_need(district, kind="wish", category="daily_help", title="换灯泡", household_id=1,
                     resident_name="刘阿姨", phone="10012345678", filed_on=dt.date(2026, 3, 1))  # fmt: skip
    stored = read_layer(district, "needs").set_index("id").loc[need]
    assert (stored["grid_id"], stored["community_id"], stored["compound_id"], stored["state"]) == (
        1,
        1,
        1,
        "open",
    )
    with pytest.raises(InputError, match="one member or one co-building unit"):
        move_need(district, need, "claimed", member_id=1, coop_unit_id=1)
    with pytest.raises(NotFoundError, match="'members' has no feature with id 9"):
        move_need(district, need, "claimed", member_id=9)
    with pytest.raises(ConflictError, match="a need open cannot become done"):
        move_need(district, need, "done")
    ahead = dt.date.today() + dt.timedelta(days=30)  # a unit's claim earns nothing: the day is checked itself
    with pytest.raises(InputError, match=f"field 'on': {ahead} lies in the future"):
        move_need(district, need, "claimed", coop_unit_id=1, on=ahead)
    _, awarded = move_need(district, need, "claimed", member_id=1, on=dt.date(2026, 3, 2))
    assert awarded is not None and awarded.points == 2
    with pytest.raises(InputError, match="comes before an earlier step"):
        move_need(district, need, "done", on=dt.date(2026, 3, 1))
    move_need(district, need, "done", on=dt.date(2026, 3, 4))
    with pytest.raises(InputError, match="resident or community"):
        move_need(district, need, "confirmed")
    after, awarded = move_need(district, need, "confirmed", confirmed_by="resident", on=dt.date(2026, 3, 5))
    assert after["state"] == "confirmed" and awarded is not None and awarded.points == 5
    ledger = read_layer(district, "points")
    assert ledger[["rule", "points", "source_layer", "source_id"]].values.tolist() == [
        ["claim_need", 2, "needs", need], ["need_done", 5, "needs", need]]  # fmt: skip


def test_a_need_outside_every_grid_is_refused_and_nothing_is_stored(district):
    with pytest.raises(InputError, match=r"outside every grid.*a need goes to the people of a grid"):
        file_need(district, kind="wish", category="daily_help", title="x", lon=X + 0.5, lat=Y)
    with pytest.raises(InputError, match="'flowers' is not a category of needs"):
        file_need(district, kind="wish", category="flowers", title="x", grid_id=1)
    assert read_layer(district, "needs").empty


def test_two_awards_at_once_share_the_last_room_under_a_cap(district):
    day = dt.date(2026, 3, 10)
    award_points(district, 1, "volunteer_service", on=day, times=3)  # 9 of the month's 12
    results: list = []

    def award() -> None:
        results.append(award_points(district, 1, "volunteer_service", on=day))

    threads = [threading.Thread(target=award) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.points for r in results) == [0, 0, 0, 3]
    assert int(read_layer(district, "points")["points"].sum()) == 12


def test_a_ledger_of_no_member_and_a_ranking_of_no_one_are_refused(district, capsys):
    from gridmap_cli import main

    db = ["--db", district.url.render_as_string(hide_password=False)]
    award_points(district, 1, "volunteer_service", on=dt.date(2026, 3, 10))
    assert main([*db, "points", "ledger", "1"]) == 0 and "member 1: +3 points" in capsys.readouterr().out
    assert main([*db, "points", "ledger", "999"]) == 2  # was an empty ledger, as if they had earned nothing
    assert "layer 'members' has no feature with id 999" in capsys.readouterr().err
    assert main([*db, "points", "rank", "--top", "0"]) == 2
    assert "--top 0: expected 1 or more members per unit" in capsys.readouterr().err


def test_two_grid_leaders_named_at_once_leave_one_in_office(district, monkeypatch):
    """A one-holder post: of two appointments from the same day at once, the second is refused
    (a new term starts after the current one), on PostGIS as on SpatiaLite, rather than both
    reading the post empty and both holding it."""
    made: list = []

    def appoint(name: str) -> None:
        try:
            made.append(assign(district, role="grid_leader", target_layer="grids", target_id=1, person_name=name,
                               user="t", valid_from=dt.date(2026, 3, 1)))  # fmt: skip
        except InputError as exc:
            made.append(exc)

    import time

    import gridmap.io.assign as appointing

    def slow_insert(*args, **kwargs):  # each has read who holds the post before either writes
        time.sleep(0.3)
        return insert_one(*args, **kwargs)

    insert_one = appointing.insert_one
    monkeypatch.setattr(appointing, "insert_one", slow_insert)
    threads = [threading.Thread(target=appoint, args=(n,)) for n in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    terms = read_layer(district, "assignments")
    leaders = terms[(terms["role"] == "grid_leader") & (terms["target_id"] == 1)]
    assert len(leaders) == 1 and leaders["valid_to"].isna().all()
    assert sum(isinstance(m, InputError) and "a new term must start after the current one" in str(m)
               for m in made) == 1  # fmt: skip
