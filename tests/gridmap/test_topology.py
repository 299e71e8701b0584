"""Grid map integrity: a clean map gives no findings; each crafted fault is found once, with
the right features, area and geometry (UTM 48N metres in, EPSG:4326 out)."""

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from gridmap.errors import InputError
from gridmap.topology import Tolerances, check_grid_map

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0
COMMUNITY = "510104001001"


def _box(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _layers(grid_boxes=None, codes=None, households=None, kinds=None, buildings=None, compounds=None):
    """One community (0–1000 m square) in four grids, a building in each, one compound."""
    grid_boxes = grid_boxes or [
        (0, 500, 500, 1000),
        (500, 500, 1000, 1000),
        (0, 0, 500, 500),
        (500, 0, 1000, 500),
    ]
    n = len(grid_boxes)
    grids = gpd.GeoDataFrame(
        {
            "code": codes or [f"{COMMUNITY}{i:03d}" for i in range(1, n + 1)],
            "kind": kinds or ["comprehensive"] * n,
            "level": 1,
            "community_id": 1,
            "households": households or [400] * n,
        },
        geometry=[_box(*b) for b in grid_boxes], index=range(1, n + 1), crs=UTM,
    )  # fmt: skip
    communities = gpd.GeoDataFrame({"code": [COMMUNITY], "name": ["东社区"]}, geometry=[_box(0, 0, 1000, 1000)],
                                   index=[1], crs=UTM)  # fmt: skip
    buildings = gpd.GeoDataFrame(
        geometry=[_box(*b) for b in (buildings or [(100, 600, 120, 620), (600, 600, 620, 620),
                                                   (100, 100, 120, 120), (600, 100, 620, 120)])],
        crs=UTM,
    ).set_axis(range(11, 11 + len(buildings or [0] * 4)))  # fmt: skip
    compounds = gpd.GeoDataFrame(
        {"name": ["甲小区"]}, geometry=[_box(*(compounds or (50, 550, 200, 700)))], index=[21], crs=UTM
    )
    return {"communities": communities, "grids": grids, "buildings": buildings, "compounds": compounds}


def _only(findings, kind):
    assert set(findings["kind"]) == {kind}, findings[["kind", "message"]]
    return findings.iloc[0]


def _utm(finding):
    return gpd.GeoSeries([finding.geometry], crs=4326).to_crs(UTM).iloc[0]


def test_a_clean_grid_map_has_no_findings():
    assert check_grid_map(_layers()).empty


def test_overlapping_grids_with_the_overlap():
    found = check_grid_map(_layers(grid_boxes=[(0, 500, 510, 1000), (500, 500, 1000, 1000), (0, 0, 500, 500),
                                               (500, 0, 1000, 500)]))  # fmt: skip
    f = _only(found, "grid_overlap")
    assert (
        f["severity"] == "error"
        and f["feature_ids"] == "1,2"
        and f["area_m2"] == pytest.approx(5000, rel=1e-3)
    )
    assert _utm(f).bounds == pytest.approx((X0 + 500, Y0 + 500, X0 + 510, Y0 + 1000), abs=0.05)


def test_other_networks_may_overlap():
    layers = _layers(
        grid_boxes=[
            (0, 500, 500, 1000),
            (500, 500, 1000, 1000),
            (0, 0, 500, 500),
            (500, 0, 1000, 500),
            (0, 0, 1000, 1000),
        ],
        kinds=["comprehensive"] * 4 + ["sanitation"],
    )
    assert check_grid_map(layers).empty


def test_a_hole_in_a_community():
    found = check_grid_map(_layers(grid_boxes=[(0, 500, 500, 1000), (500, 500, 1000, 1000), (0, 0, 500, 500),
                                               (520, 0, 1000, 500)]))  # fmt: skip
    f = _only(found, "grid_hole")
    assert f["layer"] == "communities" and f["area_m2"] == pytest.approx(10_000, rel=1e-3)
    assert _utm(f).bounds == pytest.approx((X0 + 500, Y0, X0 + 520, Y0 + 500), abs=0.05)


def test_a_grid_crossing_its_community():
    found = check_grid_map(_layers(grid_boxes=[(0, 500, 500, 1000), (500, 500, 1000, 1000), (-10, 0, 500, 500),
                                               (500, 0, 1000, 500)]))  # fmt: skip
    f = _only(found, "grid_crosses_community")
    assert f["feature_ids"] == "3" and f["area_m2"] == pytest.approx(5000, rel=1e-3)


def test_buildings_outside_and_split():
    buildings = [(100, 600, 120, 620), (490, 100, 510, 120), (1200, 1200, 1220, 1220)]
    found = check_grid_map(_layers(buildings=buildings))
    kinds = dict(zip(found["kind"], found["feature_ids"], strict=True))
    assert kinds == {"building_split_across_grids": "12", "building_outside_grids": "13"}
    split = found[found["kind"] == "building_split_across_grids"].iloc[0]
    assert split["codes"] == f"{COMMUNITY}003,{COMMUNITY}004" and split["severity"] == "warning"


def test_a_compound_split_across_communities():
    layers = _layers(compounds=(900, 100, 1100, 200))
    layers["communities"] = gpd.GeoDataFrame(
        {"code": [COMMUNITY, "510104001002"]}, geometry=[_box(0, 0, 1000, 1000), _box(1000, 0, 2000, 1000)],
        index=[1, 2], crs=UTM,
    )  # fmt: skip
    f = _only(check_grid_map(layers), "compound_split_across_communities")
    assert f["feature_ids"] == "21" and f["codes"] == f"{COMMUNITY},510104001002"


def test_malformed_and_duplicate_codes():
    codes = [f"{COMMUNITY}001", "51010400100100X", f"{COMMUNITY}001", "510104001009004"]
    found = check_grid_map(_layers(codes=codes))
    malformed = found[found["kind"] == "grid_code_malformed"]
    assert malformed["feature_ids"].tolist() == ["2", "4"]
    assert "does not begin with its community's code" in malformed["message"].iloc[1]
    dup = found[found["kind"] == "grid_code_duplicate"].iloc[0]
    assert dup["feature_ids"] == "1,3" and set(found["kind"]) == {
        "grid_code_malformed",
        "grid_code_duplicate",
    }


def test_households_outside_the_target_range():
    found = check_grid_map(
        _layers(households=[400, 120, 400, 650]), Tolerances(households_min=300, households_max=500)
    )
    assert found["kind"].unique().tolist() == ["grid_households_out_of_range"]
    assert found["feature_ids"].tolist() == ["2", "4"]


def test_households_are_counted_from_the_buildings_in_the_grid():
    layers = _layers()  # every grid's own field says 400
    layers["buildings"]["households"] = [400, 7582, 350, 120]
    layers["buildings"]["households_from"] = ["given", "estimate", "ledger", "estimate"]
    found = check_grid_map(layers, Tolerances(households_min=300, households_max=500))
    assert found["feature_ids"].tolist() == ["2", "4"]
    assert found["message"].iloc[0] == (
        f"grid {COMMUNITY}002: 7,582 households in its buildings (100 % estimated); its households "
        "field says 400; target 300–500"
    )


def test_homes_estimated_from_a_footprint_larger_than_homes_have_are_doubtful():
    """An estate drawn as one outline: its estimate is doubtful; the same counted by a ledger,
    or a footprint that homes have, is not. Checked with or without grids."""
    layers = _layers()
    b = layers["buildings"]
    b["households"] = [3504, 3504, 40, 0]
    b["households_from"] = ["estimate", "ledger", "estimate", "estimate"]
    b["levels"] = [6, 6, 6, 6]
    b["floor_area_m2"] = [6 * 65_706.0, 6 * 65_706.0, 6 * 400.0, 6 * 9_000.0]  # the last holds no homes
    b["name"] = ["龙湖·北城天街2期", "台账小区", "", "仓库"]
    f = _only(
        check_grid_map(layers, Tolerances(households_min=0, households_max=10**6)), "building_homes_doubtful"
    )
    assert f["severity"] == "warning" and f["feature_ids"] == "11" and f["area_m2"] == 65_706.0
    assert f["message"].startswith(
        "building 11 龙湖·北城天街2期: 3,504 households estimated from a footprint of 65,706 m²"
    )
    alone = check_grid_map({"buildings": b})
    assert alone["kind"].tolist() == ["building_homes_doubtful"]


def test_invalid_geometry_and_slivers():
    layers = _layers()
    bowtie = Polygon([(X0 + 100, Y0 + 100), (X0 + 120, Y0 + 120), (X0 + 120, Y0 + 100), (X0 + 100, Y0 + 120)])
    layers["buildings"].loc[13, "geometry"] = bowtie
    f = _only(check_grid_map(layers), "invalid_geometry")
    assert f["layer"] == "buildings" and "Self-intersection" in f["message"]
    # a 0.5 m² overlap is below the sliver tolerance
    tiny = _layers(
        grid_boxes=[(0, 500, 500.001, 1000), (500, 500, 1000, 1000), (0, 0, 500, 500), (500, 0, 1000, 500)]
    )
    assert check_grid_map(tiny, Tolerances(sliver_m2=1.0)).empty


def test_alignment_of_two_networks():
    from gridmap.topology import grid_alignment

    halves = [(0, 0, 500, 1000), (500, 0, 1000, 1000)]
    quarters = [(0, 500, 500, 1000), (500, 500, 1000, 1000), (0, 0, 500, 500), (500, 0, 1000, 500)]
    layers = _layers(
        grid_boxes=halves + quarters,
        codes=[f"{COMMUNITY}{i:03d}" for i in range(1, 7)],
        kinds=["party"] * 2 + ["comprehensive"] * 4,
        buildings=[(100, 490, 120, 510), (600, 600, 620, 620)],
    )
    result = grid_alignment(layers["grids"], "party", "comprehensive", layers["buildings"])
    # the party border (x = 500, 1000 m) is followed by the quarters; their y = 500 border (1000 m) is not
    assert (result.boundary_a_m, result.boundary_b_m, result.shared_m) == pytest.approx(
        (1000, 2000, 1000), abs=1
    )
    assert result.shared_share_a == pytest.approx(1.0) and result.shared_share_b == pytest.approx(
        0.5, abs=1e-3
    )
    quarters_rows = result.grids[result.grids["kind"] == "comprehensive"]
    assert quarters_rows["nested"].all() and set(quarters_rows["best_match_id"]) == {1, 2}
    halves_rows = result.grids[result.grids["kind"] == "party"]
    assert halves_rows["share_in_match"].tolist() == pytest.approx([0.5, 0.5])
    assert list(result.split_buildings.index) == [11]  # on the y = 500 border: one party grid, two quarters
    with pytest.raises(Exception, match="no grids of kind 'sanitation'"):
        grid_alignment(layers["grids"], "party", "sanitation")
    for tolerance in (-1.0, float("nan"), 5000.0):
        with pytest.raises(InputError, match="expected 0 to 1000 metres"):
            grid_alignment(layers["grids"], "party", "comprehensive", tolerance_m=tolerance)


def test_seams_thinner_than_the_width_tolerance_are_not_findings():
    """A 1 cm seam along a 1 km edge is 10 m², yet not an overlap; 1 m along it is."""
    seam = _layers(
        grid_boxes=[(0, 500, 500.01, 1000), (500, 500, 1000, 1000), (0, 0, 500, 500), (500, 0, 1000, 500)]
    )
    assert check_grid_map(seam).empty
    strip = _layers(
        grid_boxes=[(0, 500, 501, 1000), (500, 500, 1000, 1000), (0, 0, 500, 500), (500, 0, 1000, 500)]
    )
    assert _only(check_grid_map(strip), "grid_overlap")["area_m2"] == pytest.approx(500, rel=1e-3)


def test_an_edit_s_check_finds_what_the_whole_map_check_finds_near_it(demo_data):
    from gridmap.topology import CHECKED_LAYERS

    layers = {name: demo_data.layers[name].set_index("id") for name in CHECKED_LAYERS}
    grids = layers["grids"].copy()
    grown = grids.index[0]  # grown into its neighbours: overlaps, and a reach outside its community
    grids.loc[grown, "geometry"] = grids.geometry.loc[grown].buffer(0.0006)
    copied = grids.index[5]  # another grid given a far grid's code
    grids.loc[copied, "code"] = grids.at[grids.index[-1], "code"]
    layers["grids"] = grids
    whole = check_grid_map(layers)
    assert {"grid_overlap", "grid_code_duplicate"} <= set(whole["kind"])
    places = [grids.geometry.loc[grown], grids.geometry.loc[copied].buffer(1e-7),
              layers["buildings"].geometry.iloc[40].buffer(1e-7), layers["compounds"].geometry.iloc[3],
              grids.geometry.iloc[60].centroid.buffer(0.002)]  # fmt: skip
    for near in places:
        local = check_grid_map(layers, near=near)
        expected = whole[whole.geometry.intersects(near)]
        assert len(expected) > 0
        key = ["kind", "message"]
        assert sorted(map(tuple, local[key].to_numpy())) == sorted(map(tuple, expected[key].to_numpy()))
