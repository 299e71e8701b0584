"""import-osm on the demo extract reproduces the counts recorded in its stats.json."""

import json
import re

import pytest

from gridmap.io.osm import read_osm
from gridmap.io.osm_import import import_osm
from gridmap.store.layers import layer_counts, read_layer
from gridmap_cli import main

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
    report = import_osm(engine, demo_dir / "osm_source.osm.gz", bbox=tuple(stats["aoi_bbox"]))
    counts = report.counts
    assert layer_counts(engine)["buildings"] == stats["buildings"] == counts["buildings"]
    assert all(p.counts["added"] == counts[n] for n, p in report.plans.items())
    again = import_osm(engine, demo_dir / "osm_source.osm.gz", bbox=tuple(stats["aoi_bbox"]))
    assert (
        again.counts == counts and layer_counts(engine)["roads"] == counts["roads"]
    )  # replaced, not doubled
    assert {n: p.counts["unchanged"] for n, p in again.plans.items()} == counts  # the same extract: no change
    assert layer_counts(engine)["entrances"] == counts["entrances"]  # entrances too
    entrances, compounds = read_layer(engine, "entrances"), read_layer(engine, "compounds")
    assert set(entrances["source"]) == {"osm"}
    linked = entrances[entrances["compound_id"].notna()]
    assert len(linked) >= 1
    metric = compounds.estimate_utm_crs()
    for point, cid in zip(linked.to_crs(metric).geometry, linked["compound_id"], strict=True):
        assert point.distance(compounds.to_crs(metric).loc[cid, "geometry"]) <= 30.0
    buildings = read_layer(engine, "buildings")
    assert buildings["compound_id"].notna().sum() == pytest.approx(
        stats["buildings_inside_residential_polygons"], abs=5
    )


def test_every_imported_building_has_homes_stated_as_estimates(engine, demo_dir, stats):
    import_osm(engine, demo_dir / "osm_source.osm.gz", bbox=tuple(stats["aoi_bbox"]))
    b = read_layer(engine, "buildings")
    homes = b["households"] > 0
    assert homes.sum() > 100 and b["households"].notna().all() and b["residents"].notna().all()
    assert set(b["households_from"]) == {"estimate"} and b["estimated"].all()
    assert (b["floor_area_m2"] > 0).all() and b["levels"].notna().all()
    mapped = b["levels_from"] == "osm building:levels"
    assert mapped.sum() == stats["buildings_with_levels"]
    assert set(b.loc[~mapped, "levels_from"]) <= {"city default", "osm height"} | {
        f"usual for building={u}" for u in b["use"]
    }
    offices = b["use"].isin(["commercial", "office", "retail", "school", "university", "hospital"])
    assert offices.any() and (b.loc[offices, "households"] == 0).all()


def _halves(stats):
    w, s, e, n = stats["aoi_bbox"]
    middle = round((w + e) / 2, 4)
    return (w, s, middle, n), (middle, s, e, n)


def test_two_areas_stay_whole_and_hand_set_values_survive_a_reimport(engine, demo_dir, stats, capsys):
    west, east = _halves(stats)
    path = demo_dir / "osm_source.osm.gz"
    first = import_osm(engine, path, bbox=west, network_buffer_m=0)
    west_ids = set(read_layer(engine, "buildings")["id"])
    homes = read_layer(engine, "buildings").sort_values("floor_area_m2").iloc[-1]
    from gridmap.store.engine import write_transaction
    from gridmap.store.layers import update_rows

    with write_transaction(engine) as conn:  # a committee's count, set by hand
        update_rows(conn, "buildings", homes.to_frame().T.assign(households=123, residents=300,
                    households_from="given", estimated=False), ["households", "residents", "households_from",
                    "estimated"])  # fmt: skip
    second = import_osm(engine, path, bbox=east, network_buffer_m=0)
    assert second.plans["buildings"].counts["removed"] == 0
    both = read_layer(engine, "buildings")
    assert west_ids <= set(both["id"])
    assert len(both) == first.counts["buildings"] + second.counts["buildings"]
    assert len(read_layer(engine, "compounds")) == first.counts["compounds"] + second.counts["compounds"]
    again = import_osm(engine, path, bbox=west, network_buffer_m=0)
    assert again.plans["buildings"].counts == {"added": 0, "updated": 0, "removed": 0,
                                               "unchanged": first.counts["buildings"]}  # fmt: skip
    kept = read_layer(engine, "buildings").loc[homes["id"]]
    assert (kept["households"], kept["residents"], kept["households_from"]) == (123, 300, "given")
    assert len(read_layer(engine, "buildings")) == len(both)
    # coverage of either city: the homes of its box, walking across its edge
    db = ["--db", engine.url.render_as_string(hide_password=False)]
    said = {}
    for name, box in (("west", west), ("east", east), ("both", None)):
        where = ["--bbox", ",".join(map(str, box))] if box else []
        assert main([*db, "coverage", *where, "--category", "grocery", "--level", "15", "--no-save",
                     "--no-circles"]) == 0  # fmt: skip
        said[name] = int(
            re.search(r"coverage of ([\d,]+) homes", capsys.readouterr().out)[1].replace(",", "")
        )
    assert said["west"] + said["east"] == said["both"] and min(said["west"], said["east"]) > 0


def test_not_an_osm_file(engine, tmp_path):
    from gridmap.errors import InputError

    path = tmp_path / "x.gpkg"
    path.write_text("x")
    with pytest.raises(InputError, match="not an OpenStreetMap extract"):
        read_osm(path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"bbox": (10.0, 10.0, 10.01, 10.01)},
            "the extract holds no roads, buildings, compounds, facilities",
        ),
        ({"network_buffer_m": -5.0}, "--network-buffer -5: expected 0 to 20,000 metres"),
        ({"network_buffer_m": float("nan")}, "--network-buffer nan: expected 0 to 20,000 metres"),
        ({"source": "  "}, "--source '': expected a name of 1 to 100 characters"),
    ],
)
def test_an_import_of_nothing_or_with_options_out_of_range_is_refused(engine, demo_dir, options, message):
    """A box off the extract imported zero of everything without a word; a negative buffer and
    an empty name of the import were taken as given."""
    from gridmap.errors import InputError

    with pytest.raises(InputError, match=re.escape(message)):
        import_osm(engine, demo_dir / "osm_source.osm.gz", dry_run=True, **options)
    assert layer_counts(engine)["roads"] == 0
