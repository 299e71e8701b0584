"""Imports merge: matched by id, code or name and place; updated in place with their ids and
links kept; ``replace`` removes only what the file no longer holds and refuses to orphan."""

import threading

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridmap.errors import InputError
from gridmap.io.importer import import_layer
from gridmap.store.layers import layer_version, read_layer, write_layer

STREETS = {"510104001": "督院街街道", "510104002": "春熙路街道"}


def _streets(tmp_path, codes=("510104001", "510104002"), name="streets.gpkg", **names):
    boxes = {"510104001": (104.05, 30.65), "510104002": (104.07, 30.65)}
    frame = gpd.GeoDataFrame(
        {"code": list(codes), "name": [names.get(f"n{c}", STREETS[c]) for c in codes],
         "district_code": ["510104"] * len(codes)},
        geometry=[shapely.box(*boxes[c], boxes[c][0] + 0.02, boxes[c][1] + 0.02) for c in codes],
        crs=4326,
    )  # fmt: skip
    path = tmp_path / name
    frame.to_file(path)
    return path


def _communities(tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["510104001001", "510104002001"], "name": ["甲社区", "乙社区"],
         "street_code": ["510104001", "510104002"]},
        geometry=[shapely.box(104.05, 30.65, 104.06, 30.66), shapely.box(104.07, 30.65, 104.08, 30.66)],
        crs=4326,
    )  # fmt: skip
    path = tmp_path / "communities.gpkg"
    frame.to_file(path)
    return path


def _stations(tmp_path, name="stations.csv", shift_deg=0.0, **extra):
    path = tmp_path / name
    pd.DataFrame(
        {"name": ["卫生站", "菜市场"], "categories": ["clinic", "market"],
         "lon": [104.06 + shift_deg, 104.07], "lat": [30.66, 30.67], **extra}
    ).to_csv(path, index=False)  # fmt: skip
    return path


def test_the_same_file_twice_changes_nothing(district, tmp_path):
    path = _streets(tmp_path)
    first = import_layer(district, "streets", path)
    assert first.plan.counts == {"added": 2, "updated": 0, "removed": 0, "unchanged": 0}
    version, ids = layer_version(district, "streets"), list(read_layer(district, "streets")["id"])
    again = import_layer(district, "streets", path)
    assert again.plan.counts == {"added": 0, "updated": 0, "removed": 0, "unchanged": 2}
    assert again.plan.matched_on == ("code",)
    assert layer_version(district, "streets") == version
    assert list(read_layer(district, "streets")["id"]) == ids
    stations = _stations(tmp_path)
    import_layer(district, "facilities", stations, source_crs="EPSG:4326")
    twice = import_layer(district, "facilities", stations, source_crs="EPSG:4326")
    assert twice.plan.counts["unchanged"] == 2 and twice.plan.matched_on == ("name", "place")
    assert len(read_layer(district, "facilities")) == 2


def test_merge_by_code_keeps_ids_and_links_in_any_order(district, tmp_path):
    import_layer(district, "streets", _streets(tmp_path))
    import_layer(district, "communities", _communities(tmp_path))
    before = read_layer(district, "streets").set_index("code")["id"].to_dict()
    reordered = _streets(tmp_path, codes=("510104002", "510104001"), name="again.gpkg", n510104001="督院街道")
    report = import_layer(district, "streets", reordered)
    assert report.plan.counts == {"added": 0, "updated": 1, "removed": 0, "unchanged": 1}
    streets = read_layer(district, "streets").set_index("code")
    assert streets["id"].to_dict() == before
    assert streets.loc["510104001", "name"] == "督院街道"
    communities = read_layer(district, "communities").set_index("code")
    assert communities.loc["510104001001", "street_id"] == before["510104001"]
    assert communities.loc["510104002001", "street_id"] == before["510104002"]


def test_an_update_keeps_the_columns_the_file_does_not_give(district, tmp_path):
    stations = _stations(tmp_path, capacity=[30, 40])
    import_layer(district, "facilities", stations, source_crs="EPSG:4326")
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(stations).drop(columns=["capacity"]).assign(opening_hours="8:00-18:00").to_csv(
        fewer, index=False
    )
    report = import_layer(district, "facilities", fewer, source_crs="EPSG:4326")
    assert report.plan.counts["updated"] == 2
    back = read_layer(district, "facilities")
    assert list(back["capacity"]) == [30, 40] and set(back["opening_hours"]) == {"8:00-18:00"}


def test_name_and_place_match_within_a_metre(district, tmp_path):
    import_layer(district, "facilities", _stations(tmp_path), source_crs="EPSG:4326")
    ids = list(read_layer(district, "facilities")["id"])
    # 0.5 m east is the same station moved; 5 m east is another station of the same name
    moved = import_layer(
        district, "facilities", _stations(tmp_path, "m.csv", 0.5 / 96_000), source_crs="EPSG:4326"
    )
    assert moved.plan.counts == {"added": 0, "updated": 1, "removed": 0, "unchanged": 1}
    assert list(read_layer(district, "facilities")["id"]) == ids
    other = import_layer(
        district, "facilities", _stations(tmp_path, "o.csv", 5 / 96_000), source_crs="EPSG:4326"
    )
    assert other.plan.counts == {"added": 1, "updated": 0, "removed": 0, "unchanged": 1}


def test_replace_refuses_to_orphan_unless_told_to_unlink(district, tmp_path):
    import_layer(district, "streets", _streets(tmp_path))
    import_layer(district, "communities", _communities(tmp_path))
    street_ids = read_layer(district, "streets").set_index("code")["id"].to_dict()
    one = _streets(tmp_path, codes=("510104001",), name="one.gpkg")
    version = layer_version(district, "streets")
    for dry_run in (True, False):
        with pytest.raises(InputError) as exc:
            import_layer(district, "streets", one, mode="replace", dry_run=dry_run)
        text = str(exc.value)
        assert "510104002" in text and "communities.street_id" in text and "--orphans unlink" in text
    assert layer_version(district, "streets") == version and len(read_layer(district, "streets")) == 2
    report = import_layer(district, "streets", one, mode="replace", orphans="unlink")
    assert report.plan.counts == {"added": 0, "updated": 0, "removed": 1, "unchanged": 1}
    assert list(read_layer(district, "streets")["code"]) == ["510104001"]
    communities = read_layer(district, "communities").set_index("code")
    assert pd.isna(communities.loc["510104002001", "street_id"])
    assert communities.loc["510104001001", "street_id"] == street_ids["510104001"]


def test_replace_ends_the_open_terms_on_what_it_removes(district, tmp_path):
    import_layer(district, "streets", _streets(tmp_path))
    import_layer(district, "communities", _communities(tmp_path))
    gone = int(read_layer(district, "communities").set_index("code").loc["510104002001", "id"])
    write_layer(district, "assignments", pd.DataFrame({
        "person_name": ["王芳", "李强"], "role": ["grid_leader", "grid_leader"],
        "target_layer": ["communities", "communities"], "target_id": [gone, gone],
        "valid_from": pd.to_datetime(["2024-01-01", "2020-01-01"]).date,
        "valid_to": [None, pd.Timestamp("2021-01-01").date()],
    }))  # fmt: skip
    path = tmp_path / "one.gpkg"
    gpd.read_file(_communities(tmp_path)).iloc[:1].to_file(path)
    with pytest.raises(InputError, match=r"would leave 1 link\(s\) of assignments.target_id"):
        import_layer(district, "communities", path, mode="replace")  # the open term only
    import_layer(district, "communities", path, mode="replace", orphans="unlink")
    terms = read_layer(district, "assignments").set_index("person_name")
    assert terms.loc["王芳", "valid_to"] is not None  # ended, not deleted
    assert str(terms.loc["李强", "valid_to"]) == "2021-01-01"


def test_replace_removes_only_what_came_from_the_files_source(district, tmp_path):
    osm = gpd.GeoDataFrame(
        {"name": [f"诊所{i}" for i in range(3)], "categories": ["clinic"] * 3, "source": ["osm"] * 3},
        geometry=[shapely.Point(104.05 + i * 0.001, 30.65) for i in range(3)], crs=4326,
    )  # fmt: skip
    write_layer(district, "facilities", osm)
    import_layer(district, "facilities", _stations(tmp_path), source_crs="EPSG:4326")
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(_stations(tmp_path)).iloc[:1].to_csv(fewer, index=False)
    report = import_layer(district, "facilities", fewer, source_crs="EPSG:4326", mode="replace")
    assert report.plan.counts == {"added": 0, "updated": 0, "removed": 1, "unchanged": 1}
    assert report.plan.other_sources == {"osm": 3}
    assert "kept 3 from osm" in report.plan.describe()
    assert sorted(read_layer(district, "facilities")["name"]) == ["卫生站", "诊所0", "诊所1", "诊所2"]


def test_a_dry_run_counts_and_writes_nothing(district, tmp_path):
    import_layer(district, "streets", _streets(tmp_path, codes=("510104001",), name="one.gpkg"))
    version = layer_version(district, "streets")
    report = import_layer(district, "streets", _streets(tmp_path, n510104001="新名"), dry_run=True)
    assert report.dry_run and report.plan.counts == {"added": 1, "updated": 1, "removed": 0, "unchanged": 0}
    assert report.plan.changed[int(read_layer(district, "streets")["id"].iloc[0])] == ["name"]
    assert layer_version(district, "streets") == version
    assert list(read_layer(district, "streets")["name"]) == ["督院街街道"]


def test_ids_in_the_file_update_and_a_taken_code_is_refused(district, tmp_path):
    import_layer(district, "streets", _streets(tmp_path))
    stored = read_layer(district, "streets")
    edited = tmp_path / "edited.csv"
    frame = pd.DataFrame({"id": stored["id"], "code": stored["code"], "name": ["一", "二"],
                          "wkt": [g.wkt for g in stored.geometry]})  # fmt: skip
    frame.to_csv(edited, index=False)
    report = import_layer(district, "streets", edited, source_crs="EPSG:4326")
    assert report.plan.matched_on == ("id",) and report.plan.counts["updated"] == 2
    frame.assign(code=frame["code"].tolist()[::-1]).to_csv(edited, index=False)
    with pytest.raises(
        InputError, match=r"row 2, field 'code': code '510104002' belongs to stored feature 2, not to id 1"
    ):
        import_layer(district, "streets", edited, source_crs="EPSG:4326")


def test_a_row_matching_two_stored_features_is_refused_by_row(district, tmp_path):
    write_layer(
        district, "party_orgs", pd.DataFrame({"name": ["第一支部"] * 2, "kind": ["compound_branch"] * 2})
    )
    path = tmp_path / "orgs.csv"
    pd.DataFrame({"name": ["第二支部", "第一支部"], "kind": ["compound_branch"] * 2}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match=r"row 3: matches 2 stored features on name, kind \(ids 1, 2\)"):
        import_layer(district, "party_orgs", path)
    assert len(read_layer(district, "party_orgs")) == 2


def test_two_imports_of_one_file_at_once_add_it_once(district, tmp_path):
    path = _streets(tmp_path)
    results: list = []

    def run() -> None:
        try:
            results.append(import_layer(district, "streets", path).plan.counts["added"])
        except Exception as exc:  # pragma: no cover - shown by the assertion
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 2]
    assert len(read_layer(district, "streets")) == 2
