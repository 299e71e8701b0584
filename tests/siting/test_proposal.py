"""Siting proposals on a hand-built street plan (UTM 48N metres) with known answers, the
candidate rules, and on the demo district."""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box
from siting_plan import UTM, X0, Y0, given_lots, plan_inputs, site_params

from gridmap.coverage import CoverageInputs
from gridmap.errors import InputError
from gridmap.siting.candidates import CandidateRules
from gridmap.siting.proposal import SitingParams, gap_categories, propose_sites


def test_one_site_explains_what_it_newly_covers():
    inputs = plan_inputs()
    prop = propose_sites(inputs, site_params(), given=given_lots([1000, 2100]))
    site = prop.sites.iloc[0]
    assert (site["source"], site["name"]) == ("given", "lot 2100")
    assert (site["buildings_new"], site["households_new"], site["residents_new"]) == (2, 200, 500)
    assert site["gain"] == 500
    # the nearest existing clinic: 2,100 m along the street plus the 10 m access leg
    assert site["nearest_station_id"] == 101
    assert site["nearest_station_name"] == "clinic 0"
    assert site["nearest_station_m"] == pytest.approx(2110.0, abs=0.5)
    homes = prop.site_homes.sort_values("feature_id")
    assert homes["feature_id"].tolist() == [3, 4]
    assert homes["walk_m"].tolist() == pytest.approx([125.0, 125.0], abs=0.5)  # 100 along + 10 + 15
    gains = prop.site_gains
    assert gains[["rank", "category", "level", "buildings", "residents"]].values.tolist() == [
        [1, "clinic", 15, 2, 500]
    ]
    area = prop.area_coverage().iloc[0]
    assert (area["residents_covered_before"], area["residents_covered_after"]) == (500, 1000)
    assert (area["share_residents_before"], area["share_residents_after"]) == (0.5, 1.0)
    assert prop.solution.status == "optimal" and prop.method == "network"
    assert prop.candidates["rank"].isna().tolist() == [True, False]


def test_existing_stations_reduce_what_is_proposed():
    inputs = plan_inputs(clinics=(0, 2100))
    prop = propose_sites(inputs, site_params(), given=given_lots([1000, 2150]))
    assert len(prop.sites) == 0 and prop.solution.status == "nothing to do"
    assert prop.area_coverage()["residents_new"].tolist() == [0]


def test_models_on_the_plan():
    inputs = plan_inputs(home_x=(0, 200, 1200, 2000, 2200), clinics=())
    given = given_lots([100, 1200, 2100])
    lscp = propose_sites(inputs, site_params(model="lscp", count=None), given=given)
    assert lscp.solution.objective == 2 and len(lscp.sites) == 2  # lots 100 and 2100
    assert sorted(lscp.sites["name"]) == ["lot 100", "lot 2100"]
    assert lscp.area_coverage()["share_residents_after"].tolist() == [1.0]
    pmed = propose_sites(inputs, site_params(model="pmedian", count=1), given=given)
    assert pmed.sites["name"].tolist() == ["lot 1200"]  # the middle site walks least in total
    two = propose_sites(inputs, site_params(model="mclp", count=2), given=given)
    assert two.solution.objective == 5 * 250
    assert two.report["walk_minutes_after"] < two.report["walk_minutes_before"]


def test_straight_lines_without_streets_are_labelled():
    prop = propose_sites(plan_inputs(roads=False), site_params(), given=given_lots([2100]))
    assert prop.method.startswith("straight line × 1.30")
    assert prop.sites.iloc[0]["residents_new"] == 500
    assert set(prop.coverage["method"]) == {prop.method}


def test_candidate_sources_and_rules():
    inputs = plan_inputs()
    rules = CandidateRules(sources=("given", "public_buildings"), min_spacing_m=300)
    water = gpd.GeoDataFrame(geometry=[box(X0 + 1400, Y0 - 50, X0 + 1600, Y0 + 50)], crs=UTM)
    given = given_lots(
        [150, 1500, 2400, 2700, 2400.5], names=["near clinic", "in water", "a", "outside", "a twin"]
    )
    prop = propose_sites(inputs, site_params(rules=rules), given=given, exclude=water)
    reasons = dict(zip(prop.excluded["name"], prop.excluded["reason"], strict=True))
    assert reasons == {
        "near clinic": "within 300 m of an existing station",
        "in water": "in an excluded area",
        "outside": "outside the district",
        "a twin": "same spot as another candidate",
    }
    assert sorted(prop.candidates["source"]) == ["given", "public_buildings"]  # lot a; the civic building
    assert prop.report["candidates_gathered"] == {"given": 5, "public_buildings": 1}


def test_given_polygons_and_bad_candidates():
    lot = gpd.GeoDataFrame(
        {"name": ["vacant lot"]}, geometry=[box(X0 + 2080, Y0 - 60, X0 + 2120, Y0 - 20)], crs=UTM
    )
    prop = propose_sites(plan_inputs(), site_params(), given=lot)
    assert prop.sites.iloc[0]["name"] == "vacant lot" and prop.sites.iloc[0]["residents_new"] == 500
    line = gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 10, Y0)])], crs=UTM)
    with pytest.raises(InputError, match=r"lots.gpkg, feature 1, field 'geometry': geometry is LineString"):
        propose_sites(plan_inputs(), site_params(), given=line, given_file="lots.gpkg")
    with pytest.raises(InputError, match="no candidate sites: the sources given gave none"):
        propose_sites(plan_inputs(), site_params())
    far = given_lots([2700])
    with pytest.raises(InputError, match="1 outside the district"):
        propose_sites(plan_inputs(), site_params(), given=far)
    with pytest.raises(InputError, match="2 sites were asked for but only 1 candidate remains"):
        propose_sites(plan_inputs(), site_params(count=2), given=given_lots([2100]))
    with pytest.raises(InputError, match="unknown service categories"):
        propose_sites(plan_inputs(), site_params(categories=("clinics",)), given=given_lots([2100]))
    with pytest.raises(InputError, match="give --share instead of --count"):
        propose_sites(plan_inputs(), site_params(model="lscp", count=2), given=given_lots([2100]))
    with pytest.raises(InputError, match="unknown grid codes: G9"):
        propose_sites(
            plan_inputs(), site_params(rules=CandidateRules(grids=("G9",))), given=given_lots([2100])
        )


@pytest.mark.slow
def test_demo_proposes_for_every_category_with_a_gap(demo_data):
    inputs = CoverageInputs.from_layers(demo_data.layers)
    found = gap_categories(inputs, (15,))
    assert {"elderly_care", "clinic", "childcare"} <= set(found)
    for category in found:
        prop = propose_sites(inputs, SitingParams(categories=(category,), count=2))
        area = prop.area_coverage().iloc[0]
        assert len(prop.sites) >= 1, category
        assert area["residents_covered_after"] > area["residents_covered_before"], category
        assert prop.sites["residents_new"].sum() == area["residents_new"], category
        assert prop.solution.gap <= 1e-6
    both = propose_sites(inputs, SitingParams(categories=("elderly_care", "clinic"), levels=(5, 15), count=2))
    assert set(zip(both.site_gains["category"], both.site_gains["level"], strict=True)) <= {
        ("elderly_care", 5), ("elderly_care", 15), ("clinic", 5), ("clinic", 15)
    }  # fmt: skip
    assert np.all(both.sites["nearest_station_m"] > 0)


def test_proposals_for_several_categories_share_one_study_area_and_are_what_each_makes_alone():
    """Siting for each category in turn prepares the network and homes once; each proposal is
    the one the category makes on its own, the categories found short are those found alone,
    and an area prepared from other inputs is refused."""
    from gridmap.study_area import prepare_area

    inputs = plan_inputs()
    params = site_params()
    shared = prepare_area(inputs, params.walking)
    for category in ("elderly_care", "clinic"):
        alone = propose_sites(inputs, site_params(categories=(category,)), given=given_lots([1000, 2100]))
        along = propose_sites(
            inputs, site_params(categories=(category,)), given=given_lots([1000, 2100]), area=shared
        )
        assert along.sites.drop(columns="geometry").equals(alone.sites.drop(columns="geometry"))
        assert along.sites.geometry.geom_equals(alone.sites.geometry).all()
        assert along.coverage.equals(alone.coverage)
    with pytest.raises(ValueError, match="other inputs"):
        propose_sites(plan_inputs(), params, given=given_lots([2100]), area=shared)
    found = gap_categories(inputs, (15,), walking=params.walking)
    assert found and gap_categories(inputs, (15,), area=shared, walking=params.walking) == found
    with pytest.raises(ValueError, match="other inputs"):
        gap_categories(plan_inputs(), (15,), area=shared, walking=params.walking)


def test_a_candidate_reaching_few_households_is_ruled_out_unless_asked():
    """A lot on a footpath cut off from the streets reaches only the one building beside it:
    ruled out when that building holds fewer households than the minimum, kept when it holds
    more (one building of many flats, as OpenStreetMap often draws a whole estate)."""
    inputs = plan_inputs()
    footpath = gpd.GeoDataFrame({"highway": ["footway"]},
                                geometry=[LineString([(X0 + 1000, Y0 + 400), (X0 + 1200, Y0 + 400)])], crs=UTM)  # fmt: skip
    inputs.roads = gpd.GeoDataFrame(gpd.pd.concat([inputs.roads, footpath], ignore_index=True), crs=UTM)
    lone = gpd.GeoDataFrame({"households": [100], "residents": [250], "use": ["residential"]},
                            geometry=[box(X0 + 1095, Y0 + 405, X0 + 1105, Y0 + 415)], index=[9], crs=UTM)  # fmt: skip
    inputs.buildings = gpd.GeoDataFrame(gpd.pd.concat([inputs.buildings, lone]), crs=UTM)
    lots = given_lots([2100, 1100], names=["lot 2100", "island lot"])
    lots.loc[1, "geometry"] = lots.loc[0, "geometry"].__class__(X0 + 1100, Y0 + 395)
    kept = propose_sites(inputs, site_params(count=2), given=lots)
    assert sorted(kept.sites["name"]) == ["island lot", "lot 2100"]
    assert kept.report["islands_with_homes"][0]["homes"] == 1
    ruled = propose_sites(inputs, site_params(count=1, min_reach_households=101), given=lots)
    assert list(ruled.sites["name"]) == ["lot 2100"]
    assert ruled.excluded["reason"].tolist() == ["reaches fewer than 101 households within 15 minutes"]
    assert ruled.excluded["name"].tolist() == ["island lot"]
    with pytest.raises(InputError, match="none of the 1 candidate sites reaches 101 households"):
        propose_sites(inputs, site_params(count=1, min_reach_households=101), given=lots.iloc[[1]])
    one_building = propose_sites(inputs, site_params(count=2, min_reach_households=100), given=lots)
    assert sorted(one_building.sites["name"]) == ["island lot", "lot 2100"] and not len(one_building.excluded)


def test_every_candidate_or_excluded_area_off_the_globe_or_of_the_wrong_kind_is_named():
    """Each feature as the file's user counts it, rather than a library's "data must be finite"."""
    from shapely.geometry import Point

    lots = gpd.GeoDataFrame(
        geometry=[Point(104.06, 30.66), Point(500, 100), LineString([(104, 30), (104.1, 30)]), None],
        crs="EPSG:4326",
    )
    with pytest.raises(InputError) as refused:
        propose_sites(plan_inputs(), site_params(), given=lots, given_file="lots.csv")
    assert [str(p) for p in refused.value.problems] == [
        "lots.csv, row 3, field 'geometry': coordinates (500, 100) in EPSG:4326 fall outside lon −180…180 / "
        "lat −90…90: check the file's CRS",
        "lots.csv, row 4, field 'geometry': geometry is LineString; candidate sites are Point or MultiPoint "
        "or Polygon or MultiPolygon",
        "lots.csv, row 5, field 'geometry': geometry is missing or empty",
    ]
    far = gpd.GeoDataFrame(geometry=[Point(9e7, 9e7)], crs=UTM)  # beyond the projection's reach
    with pytest.raises(InputError, match=r"feature 1, field 'geometry': coordinates .* fall outside"):
        propose_sites(plan_inputs(), site_params(), given=far, given_file="lots.gpkg")
    points = gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=UTM)
    with pytest.raises(InputError, match="geometry is Point; excluded areas are Polygon or MultiPolygon"):
        propose_sites(plan_inputs(), site_params(), given=given_lots([2100]), exclude=points)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"time_limit_s": 0.0}, "--time-limit 0: expected a positive number of seconds"),
        ({"time_limit_s": float("nan")}, "--time-limit nan"),
        (
            {"rules": CandidateRules(min_spacing_m=float("nan"))},
            "the minimum spacing must be 0 to 10,000 metres",
        ),
        (
            {"rules": CandidateRules(min_spacing_m=float("inf"))},
            "the minimum spacing must be 0 to 10,000 metres",
        ),
        ({"capacity": float("inf")}, "station capacity must be a positive number of people, not inf"),
    ],
)
def test_a_time_limit_spacing_or_capacity_out_of_range_is_refused(option, message):
    with pytest.raises(InputError, match=message):
        propose_sites(plan_inputs(), site_params(**option), given=given_lots([2100]))
