"""import-osm on the demo extract reproduces the counts recorded in its stats.json."""

import json

import pytest

from gridmap.io.importer import import_osm
from gridmap.io.osm import read_osm
from gridmap.store.layers import layer_counts, read_layer

EDGE_TOLERANCE = 0.01  # the extract's edges split closed loops slightly differently


@pytest.fixture(scope="module")
def stats(demo_dir):
    return json.loads((demo_dir / "stats.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def layers(demo_dir, stats):
    return read_osm(demo_dir / "osm_source.osm.gz", bbox=tuple(stats["aoi_bbox"]))


def test_walking_network_matches_stats(layers, stats):
    graph = stats["walk_graph"]
    assert layers.network_nodes == graph["nodes"]
    assert abs(len(layers.roads) - graph["edges"]) <= EDGE_TOLERANCE * graph["edges"]
    assert layers.roads["length_m"].sum() / 1000 == pytest.approx(graph["total_length_km"], abs=0.5)


def test_areas_and_pois_match_stats(layers, stats):
    assert len(layers.buildings) == stats["buildings"]
    assert len(layers.compounds) == stats["residential_polygons"]
    assert len(layers.pois) == stats["pois"]
    assert layers.pois["service_type"].value_counts().to_dict() == stats["pois_by_service_type"]
    assert layers.buildings["levels"].notna().sum() == stats["buildings_with_levels"]


def test_facilities_carry_categories(layers):
    cats = set(",".join(layers.facilities["categories"]).split(","))
    assert {"clinic", "hospital", "market", "grocery", "primary_school", "park"} <= cats
    assert (layers.facilities["categories"] != "").all()


def test_import_osm_into_the_database(engine, demo_dir, stats):
    counts = import_osm(engine, demo_dir / "osm_source.osm.gz", bbox=tuple(stats["aoi_bbox"]))
    assert layer_counts(engine)["buildings"] == stats["buildings"] == counts["buildings"]
    again = import_osm(engine, demo_dir / "osm_source.osm.gz", bbox=tuple(stats["aoi_bbox"]))
    assert again == counts and layer_counts(engine)["roads"] == counts["roads"]  # replaced, not doubled
    entrances, compounds = read_layer(engine, "entrances"), read_layer(engine, "compounds")
    linked = entrances[entrances["compound_id"].notna()]
    assert len(linked) >= 1
    metric = compounds.estimate_utm_crs()
    for point, cid in zip(linked.to_crs(metric).geometry, linked["compound_id"], strict=True):
        assert point.distance(compounds.to_crs(metric).loc[cid, "geometry"]) <= 30.0
    buildings = read_layer(engine, "buildings")
    assert buildings["compound_id"].notna().sum() == pytest.approx(
        stats["buildings_inside_residential_polygons"], abs=5
    )


def test_not_an_osm_file(engine, tmp_path):
    from gridmap.errors import InputError

    path = tmp_path / "x.gpkg"
    path.write_text("x")
    with pytest.raises(InputError, match="not an OpenStreetMap extract"):
        read_osm(path)
