"""Homes of buildings: given, estimated from footprint × levels, or spread from a ledger."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.errors import InputError
from gridmap.households import (
    HomeOrigins,
    HouseholdParams,
    doubtful_estimates,
    estimate_households,
    home_origins,
    spread,
    spread_ledger,
)
from gridmap.io.importer import import_layer
from gridmap.io.ledger import import_ledger
from gridmap.store.layers import layer_version, read_layer, write_layer
from gridmap_cli import main

UTM = 32648  # Chengdu's UTM zone


def _metric(uses, levels=None, side=20.0):
    n = len(uses)
    return gpd.GeoDataFrame(
        {"use": uses, "levels": levels or [None] * n, "compound_id": [None] * n},
        geometry=[shapely.box(i * 100, 0, i * 100 + side, side / 2) for i in range(n)],
        crs=UTM,
    )


def test_estimates_from_footprint_times_levels_by_hand():
    params = HouseholdParams()
    b = estimate_households(_metric(["residential", "house", "commercial"], [10, None, None]), params)
    # 20 m × 10 m × 10 levels × 0.8 / 90 m² = 17.8 → 18 homes, 2.6 residents each
    assert list(b["households"]) == [18, 4, 0] and list(b["residents"]) == [
        47,
        10,
        0,
    ]  # 400 m² × 0.8 / 90 = 3.6
    assert list(b["levels_from"]) == ["given", "usual for building=house", "city default"]
    assert list(b["floor_area_m2"]) == [2000.0, 400.0, 1200.0]
    assert b["households_from"].eq("estimate").all()
    tall = estimate_households(_metric(["apartments"]), params, height_m=pd.Series([45.0]))
    assert (tall["levels"].iloc[0], tall["levels_from"].iloc[0]) == (15, "osm height")
    given = _metric(["residential"]).assign(households=[40])
    kept = estimate_households(given, params)
    assert (kept["households"].iloc[0], kept["residents"].iloc[0], kept["households_from"].iloc[0]) == (
        40,
        104,
        "given",
    )
    city = estimate_households(_metric(["residential"]), HouseholdParams(default_levels=12))
    assert city["levels"].iloc[0] == 12


@pytest.mark.parametrize("total", [0, 1, 7, 100, 9999])
def test_a_spread_adds_up_to_its_total(total):
    weights = np.array([3.0, 1.0, 0.0, 2.5, 7.25])
    parts = spread(total, weights)
    assert parts.sum() == total and (parts >= 0).all()
    assert parts[2] == 0 or total < 5


def _area(tmp_path, district):
    """One community, one compound of three residential buildings, one office, one house
    outside the compound: buildings imported from a file without households."""
    write_layer(district, "communities", gpd.GeoDataFrame(
        {"code": ["510104001001"], "name": ["甲社区"]},
        geometry=[shapely.MultiPolygon([shapely.box(104.05, 30.65, 104.07, 30.67)])], crs=4326,
    ))  # fmt: skip
    write_layer(district, "compounds", gpd.GeoDataFrame(
        {"name": ["锦华苑"], "community_id": [1]},
        geometry=[shapely.MultiPolygon([shapely.box(104.051, 30.651, 104.055, 30.655)])], crs=4326,
    ))  # fmt: skip
    boxes = [(104.0515, 30.6515, 0.0004), (104.0525, 30.6515, 0.0008), (104.0535, 30.6515, 0.0004),
             (104.0600, 30.6600, 0.0005), (104.0650, 30.6600, 0.0002)]  # fmt: skip
    frame = gpd.GeoDataFrame(
        {"name": ["1栋", "2栋", "3栋", "写字楼", "平房"], "use": ["residential"] * 3 + ["office", "house"],
         "compound_id": [1, 1, 1, None, None], "levels": [6, 6, 6, 20, None]},
        geometry=[shapely.box(x, y, x + d, y + d) for x, y, d in boxes], crs=4326,
    )  # fmt: skip
    path = tmp_path / "buildings.geojson"
    frame.to_file(path)
    import_layer(district, "buildings", path)
    return path


def test_imported_buildings_get_estimates_and_keep_what_a_ledger_set(district, tmp_path):
    path = _area(tmp_path, district)
    b = read_layer(district, "buildings").set_index("name")
    assert b["households_from"].eq("estimate").all() and b.loc["写字楼", "households"] == 0
    assert b.loc["2栋", "households"] == pytest.approx(4 * b.loc["1栋", "households"], rel=0.1)
    assert b.loc["平房", "levels_from"] == "usual for building=house"
    ledger = tmp_path / "ledger.csv"
    pd.DataFrame({"小区": ["锦华苑"], "户数": [300], "人口": [800]}).to_csv(
        ledger, index=False, encoding="gbk"
    )
    version = layer_version(district, "buildings")
    dry = import_ledger(district, ledger, by="compound", dry_run=True)
    assert dry.buildings_changed == 3 and layer_version(district, "buildings") == version
    report = import_ledger(district, ledger, by="compound")
    (line,) = report.lines
    assert (line.households, line.spread_over) == (300, 3)
    after = read_layer(district, "buildings").set_index("name")
    flats = after.loc[["1栋", "2栋", "3栋"]]
    assert flats["households"].sum() == 300 and flats["residents"].sum() == 800
    assert flats["households_from"].eq("ledger").all() and not flats["estimated"].any()
    assert list(flats["households"]) == [50, 200, 50]  # by floor area: 1 : 4 : 1
    origins = home_origins(after)
    assert origins.residents["ledger"] == 800 and "estimate" in origins.residents
    assert "from committees' ledgers" in origins.describe()
    # the same buildings file again: the ledger's counts stay, nothing changes
    again = import_layer(district, "buildings", path)
    assert again.plan.counts["unchanged"] == 5
    assert read_layer(district, "buildings").set_index("name").loc["2栋", "households"] == 200


def test_homes_from_footprints_larger_than_homes_have_are_doubtful_estimated_or_spread():
    """An estate drawn as one outline of 60,000 m² beside two blocks of flats of 600 m²."""
    buildings = pd.DataFrame(
        {"name": ["某某天街", "1幢", "2幢"], "use": ["residential"] * 3, "levels": [6, 6, 6],
         "floor_area_m2": [6 * 60_000.0, 6 * 600.0, 6 * 600.0], "households": [3200, 32, 32],
         "residents": [8320, 83, 83], "households_from": ["estimate"] * 3},
        index=[7, 8, 9],
    )  # fmt: skip
    doubtful = doubtful_estimates(buildings)
    assert doubtful.index.tolist() == [7] and doubtful["footprint_m2"].tolist() == [60_000.0]
    origins = home_origins(buildings)
    assert (origins.doubtful_buildings, origins.doubtful_residents) == (1, 8320)
    assert origins.doubt().startswith("98 % of them estimated in 1 building of a footprint over 5,000 m²")
    assert home_origins(buildings.assign(households_from="given")).doubt() is None  # counted, not estimated
    # with the compounds: one holds the three buildings, two hold none and count no one
    origins = home_origins(buildings.assign(compound_id=[4, 4, 4]), pd.DataFrame(index=[3, 4, 5]))
    assert (origins.compounds, origins.compounds_without_homes) == (3, 2)
    assert origins.said().split("\n")[1:] == [
        origins.doubt(),
        "2 of the 3 compounds are mapped without buildings of homes and count no one: give their households "
        "(`gridmap households ledger FILE --by compound`), or draw their buildings",
    ]
    assert HomeOrigins.from_record(json.loads(json.dumps(origins.record()))) == origins  # kept as JSON
    assert origins.said_zh() == (
        "居民 8,486 人，100% 按占地×层数估算；其中 98% 在 1 栋占地超过 5,000 m² 的楼栋里（疑为整片小区或商场画成一栋，"
        "估算存疑）；2 个小区未画住宅楼栋，不计人口。"
    )
    assert (
        HomeOrigins({"given": 90, "ledger": 10}, {}).said_zh()
        == "居民 100 人，10% 来自社区台账，90% 逐栋填报。"
    )
    # a community's count spread by floor area goes to the outline as the estimate did: said
    ledger = pd.DataFrame({"unit": ["1"], "households": [1000]})
    changed, (line,) = spread_ledger(buildings, pd.Series("1", index=buildings.index), ledger, "community",
                                     HouseholdParams())  # fmt: skip
    assert changed.loc[7, "households"] == 980 and changed["households"].sum() == 1000
    assert line.doubt.startswith(
        "980 of its 1,000 households (98 %) went by floor area to building 7 某某天街"
    )
    _, (line,) = spread_ledger(buildings.loc[[8, 9]], pd.Series("1", index=[8, 9]), ledger, "community",
                               HouseholdParams())  # fmt: skip
    assert line.doubt == ""


def test_homes_and_levels_edited_by_hand_are_given_and_survive_the_next_estimate(district, tmp_path, capsys):
    """A clerk corrects an estate's households in the browser: the count is theirs, no later
    estimate overwrites it, and the residents follow; a rename or a new height leaves the
    homes an estimate."""
    from gridmap.io.edits import create_feature, feature_etag, read_feature, update_feature
    from gridmap.store.secret import service_secret

    _area(tmp_path, district)
    ids = read_layer(district, "buildings").reset_index().set_index("name")["id"]
    key = service_secret(district)

    def edit(name, values):
        row = read_feature(district, "buildings", int(ids[name]))
        update_feature(
            district,
            "buildings",
            int(ids[name]),
            values,
            user="clerk",
            if_match=feature_etag("buildings", row, key),
        )
        return read_feature(district, "buildings", int(ids[name]))

    before = read_feature(district, "buildings", int(ids["1栋"]))
    edited = edit("1栋", {"households": 77})
    assert (edited["households_from"], bool(edited["estimated"])) == ("given", False)
    assert edited["residents"] == round(77 * before["residents"] / before["households"])
    # refused once, by the field given: not again for the residents derived from it
    with pytest.raises(InputError) as refused:
        edit("1栋", {"households": -5})
    assert [p.field for p in refused.value.problems] == ["households"]
    renamed = edit("2栋", {"name": "二栋"})
    assert renamed["households_from"] == "estimate" and renamed["households"] > 0
    three = read_feature(district, "buildings", int(ids["3栋"]))
    taller = edit("3栋", {"levels": 30})  # estimated again at once, from its 30 levels
    assert (taller["levels_from"], taller["households_from"]) == ("given", "estimate")
    assert taller["households"] == pytest.approx(5 * three["households"], rel=0.01)
    lived_in = edit("写字楼", {"use": "residential"})  # an office found to be flats
    assert lived_in["households"] > 0 and lived_in["households_from"] == "estimate"
    db = ["--db", str(district.url.render_as_string(hide_password=False))]
    assert main([*db, "households", "estimate"]) == 0
    capsys.readouterr()
    b = read_layer(district, "buildings").set_index("name")
    assert b.loc["1栋", "households"] == 77 and b.loc["3栋", "levels"] == 30
    ledger = tmp_path / "by_building.csv"  # a ledger does not override a count given by hand, and says so
    pd.DataFrame({"building_id": [int(ids["1栋"])], "households": [90]}).to_csv(ledger, index=False)
    report = import_ledger(district, ledger, by="building")
    assert "its households are given (77: in the buildings' rows, by hand or by finer ledgers)" in str(
        report.warnings[0]
    )
    assert b.loc["3栋", "households"] == taller["households"]
    # a building drawn anew without its households gets them estimated, as an import would
    new_id, _ = create_feature(district, "buildings", {"name": "4栋", "use": "residential", "levels": 6},
                               shapely.box(104.0545, 30.6515, 104.0549, 30.6519), user="clerk")  # fmt: skip
    drawn = read_feature(district, "buildings", new_id)
    assert drawn["households_from"] == "estimate" and drawn["households"] == three["households"]


def test_a_compound_with_no_building_drawn_gets_one_to_hold_its_ledger_count(district, tmp_path):
    """As OpenStreetMap maps most compounds: the count is held by a marked square at the
    compound's point, so that its people are counted where they live; once its buildings are
    drawn, the next ledger gives the count to them."""
    from gridmap.io.edits import create_feature
    from gridmap.topology import check_grid_map

    _area(tmp_path, district)
    bare = tmp_path / "bare.csv"
    outline = shapely.box(104.066, 30.668, 104.068, 30.669)
    write_layer(district, "compounds", gpd.GeoDataFrame({"name": ["空小区"], "community_id": [1]},
                                                        geometry=[shapely.MultiPolygon([outline])], crs=4326))  # fmt: skip
    pd.DataFrame({"compound": ["空小区"], "households": [120]}).to_csv(bare, index=False)
    assert import_ledger(district, bare, by="compound", dry_run=True).buildings_added == 1
    held_name = "空小区（台账，楼栋未绘）"
    assert held_name not in set(read_layer(district, "buildings")["name"])  # a dry run writes nothing
    report = import_ledger(district, bare, by="compound")
    assert report.buildings_added == 1 and report.warnings == []
    held = read_layer(district, "buildings").set_index("name").loc[held_name]
    assert (held["households"], held["households_from"], bool(held["generated"])) == (120, "ledger", True)
    assert outline.contains(held.geometry) and held.geometry.area < outline.area / 50
    again = import_ledger(district, bare, by="compound")  # the next ledger spreads over it, adding none
    assert again.buildings_added == 0 and again.buildings_changed == 1
    drawn, _ = create_feature(district, "buildings", {"name": "空小区1栋", "use": "residential", "levels": 6,
                                                      "compound_id": int(held["compound_id"])},
                              shapely.box(104.0665, 30.6682, 104.0669, 30.6686), user="clerk")  # fmt: skip
    found = check_grid_map({"buildings": read_layer(district, "buildings")})  # until the ledger runs again
    twice = found[found["kind"] == "compound_counted_twice"]
    assert len(twice) == 1 and "holds a ledger's 120 households of compound" in twice["message"].iloc[0]
    import_ledger(district, bare, by="compound")  # its buildings drawn, the count goes to them
    found = check_grid_map({"buildings": read_layer(district, "buildings")})
    assert "compound_counted_twice" not in set(found["kind"])
    b = read_layer(district, "buildings")
    assert b.loc[drawn, "households"] == 120 and b.loc[held.name == b["name"], "households"].tolist() == [0]


def test_a_community_ledger_spreads_only_what_finer_counts_leave(district, tmp_path):
    _area(tmp_path, district)
    compound = tmp_path / "compound.csv"
    pd.DataFrame({"compound_id": [1], "households": [300]}).to_csv(compound, index=False)
    import_ledger(district, compound, by="compound")
    community = tmp_path / "community.csv"
    pd.DataFrame({"community_code": ["510104001001"], "households": [310]}).to_csv(community, index=False)
    report = import_ledger(district, community, by="community")
    (line,) = report.lines
    assert (line.fixed, line.spread_over) == (3, 1)  # the house only: the office holds no homes
    b = read_layer(district, "buildings").set_index("name")
    assert b.loc["平房", "households"] == 10 and b.loc["写字楼", "households"] == 0
    too_few = tmp_path / "few.csv"
    pd.DataFrame({"community_code": ["510104001001"], "households": [100]}).to_csv(too_few, index=False)
    short = import_ledger(district, too_few, by="community")
    assert (
        short.buildings_changed == 0
        and "fewer than the 310 households already given in it or by finer ledgers" in str(short.warnings[0])
    )


def test_a_bad_ledger_is_refused_by_row_and_writes_nothing(district, tmp_path):
    _area(tmp_path, district)
    version = layer_version(district, "buildings")
    path = tmp_path / "bad.csv"
    pd.DataFrame({"compound": ["锦华苑", "无此小区", "锦华苑"], "households": ["12x", 5, 7]}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError) as exc:
        import_ledger(district, path, by="compound")
    text = str(exc.value)
    assert "row 2, field 'households': '12x' is not a whole number" in text
    assert "row 3, field 'compound': 0 stored compounds are named '无此小区'" in text
    assert layer_version(district, "buildings") == version
    # a count no compound holds (PostgreSQL's integer would have overflowed, in a traceback)
    pd.DataFrame({"compound": ["锦华苑"], "households": [99_999_999_999]}).to_csv(path, index=False)
    with pytest.raises(
        InputError, match="99,999,999,999 households in one compound: expected at most 1,000,000"
    ):
        import_ledger(district, path, by="compound")
    # a ledger by building without its buildings' ids: said once, not as "no building with id 'None'" a row
    pd.DataFrame({"楼号": ["1号楼"], "户数": [12]}).to_csv(path, index=False)
    with pytest.raises(
        InputError,
        match="the ledger names no building: expected a column building_id or 楼栋编号; it has: 楼号, households",
    ):
        import_ledger(district, path, by="building")
    assert layer_version(district, "buildings") == version


def test_the_households_command_shows_and_spreads(district, tmp_path, capsys):
    _area(tmp_path, district)
    db = ["--db", str(district.url.render_as_string(hide_password=False))]
    assert main([*db, "households"]) == 0
    out = capsys.readouterr().out
    assert "甲社区" in out and "100 % estimated from footprint × levels" in out
    path = tmp_path / "l.csv"
    pd.DataFrame({"compound": ["锦华苑"], "households": [30]}).to_csv(path, index=False)
    assert main([*db, "households", "ledger", str(path), "--by", "compound"]) == 0
    out = capsys.readouterr().out
    assert "set the households of 3 buildings" in out and "锦华苑" in out
    assert main([*db, "households", "estimate", "--dry-run"]) == 0
    assert "would estimate 2 buildings" in capsys.readouterr().out
    estate = tmp_path / "estate.geojson"  # one outline of some 60,000 m² tagged as homes
    gpd.GeoDataFrame({"name": ["某某天街"], "use": ["residential"]},
                     geometry=[shapely.box(104.0610, 30.6610, 104.0636, 30.6632)], crs=4326).to_file(estate)  # fmt: skip
    assert main([*db, "import", "buildings", str(estate)]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 of these buildings has a footprint over 5,000 m², more than homes have" in err
    assert "estimated from it: 某某天街: 60,739 m², 3,239 households" in err
