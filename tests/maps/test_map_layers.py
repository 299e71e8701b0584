"""Map layer builders on small hand-made layers (UTM 48N in, EPSG:4326 out)."""

import json

import folium
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from maps import layers
from maps.style import minute_class

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def _features(group: folium.FeatureGroup) -> list[dict]:
    """The GeoJSON features a layer draws."""
    out = []
    for child in group._children.values():
        if isinstance(child, folium.GeoJson):
            out += json.loads(child.data if isinstance(child.data, str) else json.dumps(child.data))[
                "features"
            ]
    return out


def _markers(group: folium.FeatureGroup) -> list[folium.Marker]:
    return [c for c in group._children.values() if isinstance(c, folium.Marker)]


def _boxes(n, **columns):
    return gpd.GeoDataFrame(
        columns, geometry=[box(X0 + 100 * i, Y0, X0 + 100 * i + 50, Y0 + 50) for i in range(n)],
        index=range(1, n + 1), crs=UTM,
    )  # fmt: skip


def test_display_frame_reprojects_rounds_and_keeps_only_shown_columns():
    frame = _boxes(2, code=["A", "B"], secret=["x", "y"])
    shown = layers.display_frame(frame, ["code"])
    assert shown.crs.to_epsg() == 4326 and list(shown.columns) == ["code", "geometry"]
    x, y = shown.geometry.iloc[0].exterior.coords[0]
    assert round(x, 6) == x and round(y, 6) == y and 103.0 < x < 104.0


def test_names_are_text_in_a_map_never_markup_or_script():
    """A facility named '<img src=x onerror=…>' ran its script in the tooltip of every offline
    map that showed it, and a backquote would have left the marker's template string."""
    named = "<img src=x onerror=alert(1)>`${alert(2)}`"
    shown = layers.display_frame(_boxes(1, name=[named]), ["name"])
    assert shown["name"].iloc[0] == "&lt;img src=x onerror=alert(1)&gt;&#96;&#36;{alert(2)}&#96;"
    facilities = gpd.GeoDataFrame(
        {"name": [named], "categories": ["clinic"]}, geometry=[Point(X0, Y0)], crs=UTM
    )
    m = folium.Map()
    layers.facilities_layer(facilities).add_to(m)
    page = m.get_root().render()
    assert "<img src=x" not in page and "`${alert" not in page and "&lt;img src=x" in page


def test_grids_coloured_by_community_with_codes_and_leaders():
    grids = _boxes(
        3,
        code=["G1", "G2", "G3"],
        name=["一", "二", "三"],
        community_id=[1, 1, 2],
        households=[300, 320, 410],
    )
    communities = pd.DataFrame({"name": ["东社区", "西社区"]}, index=[1, 2])
    leaders = pd.DataFrame(
        {"person_name": ["张三", "李四"], "role": ["grid_leader", "grid_worker"], "target_layer": "grids",
         "target_id": [1, 1], "valid_to": [None, None]}
    )  # fmt: skip
    feats = _features(layers.grids_layer(grids, communities, leaders))
    props = [f["properties"] for f in feats]
    assert [p["code"] for p in props] == ["G1", "G2", "G3"]
    assert [p["community"] for p in props] == ["东社区", "东社区", "西社区"]
    assert props[0]["leader"] == "张三" and props[1]["leader"] == ""
    assert props[0]["colour"] == props[1]["colour"] != props[2]["colour"]


def test_compounds_by_branch_status():
    compounds = _boxes(3, name=["甲", "乙", "丙"], branch_id=[7, 7, None])
    props = [f["properties"] for f in _features(layers.compounds_layer(compounds))]
    assert [p["status"] for p in props] == ["joint", "joint", "none"]
    assert props[2]["branch"] == "无支部"


@pytest.mark.parametrize(
    ("minutes", "key"), [(3, "m5"), (5, "m5"), (12, "m15"), (31, "over"), (float("nan"), "none")]
)
def test_minute_classes(minutes, key):
    assert minute_class(minutes) == key


def test_buildings_by_minutes_facilities_gaps_circles_and_sites():
    homes = _boxes(
        2, feature_id=[1, 2], households=[10, 20], residents=[25, 50], clinic_15=[4.2, float("nan")]
    )
    props = [f["properties"] for f in _features(layers.minutes_layer(homes, "clinic_15", "t"))]
    assert [p["class"] for p in props] == ["m5", "none"] and props[0]["minutes"] == 4.2
    facilities = gpd.GeoDataFrame(
        {"name": ["站", "店"], "categories": ["clinic,pharmacy", "food"]},
        geometry=[Point(X0, Y0), Point(X0 + 10, Y0)], crs=UTM,
    )  # fmt: skip
    marks = _markers(layers.facilities_layer(facilities, ["clinic"]))
    assert len(marks) == 1 and "医" in marks[0].icon.options["html"]
    assert len(_markers(layers.facilities_layer(facilities))) == 2
    gaps = _boxes(1, category_zh=["托育"], level=[15], homes=[3], households=[90], residents=[240])
    assert _features(layers.gaps_layer(gaps))[0]["properties"]["residents"] == 240
    circles = _boxes(1, facility_id=[5], category_zh=["医"], level=[15], limit_m=[990.0])
    assert not layers.circles_layer(circles, show=False).show
    sites = gpd.GeoDataFrame(
        {"rank": [1], "source": ["given"], "name": ["空地"], "buildings_new": [2], "households_new": [200],
         "residents_new": [500], "nearest_station_name": ["卫生站"], "nearest_station_m": [2110.0]},
        geometry=[Point(X0, Y0)], crs=UTM,
    )  # fmt: skip
    marker = _markers(layers.proposals_layer(sites))[0]
    tip = next(c.text for c in marker._children.values() if isinstance(c, folium.Tooltip))
    assert "#1 空地" in tip and "500 人" in tip and "2,110 米" in tip
