"""Coverage in parts equals coverage in one process: every home's walk and nearest facility,
every figure, gap and circle; parts that fail are sent again; a re-run walks only the parts
whose inputs changed."""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from same_run import assert_same_run
from shapely.geometry import LineString, Point, box

from gridmap.coverage import CoverageParams, CoverageResult, compute_coverage
from gridmap.scale import coverage as scale_coverage
from gridmap.scale.coverage import cut_for, halo_m, partitioned_coverage, run_params
from gridmap.scale.jobs import PartsFailedError
from gridmap.scale.partitions import OUTSIDE, Partitioning, by_district, by_tiles
from gridmap.scale.sources import (
    FrameSource,
    LayerSource,
    StoreSource,
    close_engines,
    extent,
    run_crs,
    write_parquet,
)
from gridmap.standards import load_checklist
from gridmap.store.engine import make_engine, write_transaction
from gridmap.store.inputs import load_inputs
from gridmap.store.layers import read_layer, update_rows
from gridmap.study_area import CoverageInputs, compounds_lived_in

CHECKLIST = load_checklist()
PARAMS = run_params(CoverageParams(), CHECKLIST)


@pytest.fixture(scope="module", params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def demo_url(request, demo_copy):
    yield demo_copy(request.param, "parts")
    close_engines()


@pytest.fixture(scope="module")
def demo_run(demo_url) -> CoverageResult:
    engine = make_engine(demo_url)
    try:
        return compute_coverage(load_inputs(engine), PARAMS, checklist=CHECKLIST)
    finally:
        engine.dispose()


def _cut(source: LayerSource, how: str) -> Partitioning:
    return cut_for(source, PARAMS, CHECKLIST, tile_m=None if how == "district" else 1500.0)


def test_the_demo_in_parts_is_the_demo_in_one_process(demo_url, demo_run):
    """Also the gaps of one home, drawn from the home's shape: the parts leave their homes'
    metric shapes out (the stored ones give them back), and the gathering process projects
    again those it draws a gap from, exactly as one process had them."""
    source = StoreSource(demo_url)
    cut = _cut(source, "district")  # tiles: the dense city below
    assert len(cut.parts) >= 5
    sent = []
    parts = partitioned_coverage(
        source,
        cut,
        PARAMS,
        checklist=CHECKLIST,
        on_part=lambda p: p.walks and sent.append(p.walks.homes.geometry),
    )
    assert_same_run(demo_run, parts)
    assert sent and all(shapes.isna().all() for shapes in sent)
    alone = [set(shapely.to_wkb(r.gaps.geometry.values[r.gaps["homes"] == 1])) for r in (demo_run, parts)]
    assert len(alone[0]) > 10 and alone[0] == alone[1]
    # homes on streets cut off from the main network are named as one process names them
    assert parts.report["homes_on_islands"] == demo_run.report["homes_on_islands"] != []
    islands = [sorted((i["km"], i["homes"], i["residents"], i["facilities"]) for i in r.report["islands_with_homes"])
               for r in (demo_run, parts)]  # fmt: skip
    assert islands[0] == islands[1] and all(" #" in i["island"] for i in parts.report["islands_with_homes"])
    walked = parts.report["partitions"]["parts"]
    assert sum(p["homes"] for p in walked) == len(demo_run.homes)
    assert sum(p["homes"] > 0 for p in walked) >= 4  # the homes really were spread over the parts


def test_figures_do_not_depend_on_walks_longer_than_any_counted(demo_url, demo_run):
    if demo_url.startswith("postgresql"):
        pytest.skip("an analysis of frames: the store does not enter into it")
    engine = make_engine(demo_url)
    unbounded = compute_coverage(load_inputs(engine), replace(PARAMS, reach_m=None), checklist=CHECKLIST)
    engine.dispose()
    pd.testing.assert_frame_equal(unbounded.summary, demo_run.summary)
    pd.testing.assert_frame_equal(unbounded.compounds, demo_run.compounds)
    for key, dist in demo_run.distances.items():
        counted = dist <= PARAMS.reach_m
        np.testing.assert_array_equal(unbounded.distances[key][counted], dist[counted])
        assert np.isinf(dist[~counted]).all() and (unbounded.distances[key][~counted] > PARAMS.reach_m).all()


# --- a dense city cut through its streets ---------------------------------------------------

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0
STREET_M = 100.0  # streets every 100 m both ways, 2.5 × 2.5 km
TILE_M = 500.0  # tile borders run along streets, and homes sit on some of them


def dense_city() -> CoverageInputs:
    rng = np.random.default_rng(5)
    side = 2500.0
    lines = [LineString([(X0 + x, Y0), (X0 + x, Y0 + side)]) for x in np.arange(0, side + 1, STREET_M)]
    lines += [LineString([(X0, Y0 + y), (X0 + side, Y0 + y)]) for y in np.arange(0, side + 1, STREET_M)]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=UTM)
    centres = [(X0 + x, Y0 + y) for x in np.arange(25, side, 50.0) for y in np.arange(25, side, 50.0)]
    centres += [(X0 + 500.0, Y0 + y) for y in np.arange(30, side, 170.0)]  # on a tile border
    buildings = gpd.GeoDataFrame(
        {"households": rng.integers(5, 60, len(centres)), "residents": 0},
        geometry=[
            box(x - 8, y - 8, x + 8, y + 8) if (x - X0) % 500 else Point(x, y).buffer(6, 4)
            for x, y in centres
        ],
        crs=UTM,
    )
    buildings["residents"] = buildings["households"] * 2
    categories = ["party_service_centre", "clinic", "grocery", "kindergarten", "elderly_care"]
    n = 40
    facilities = gpd.GeoDataFrame(
        {
            "categories": rng.choice(categories, n),
            "level": pd.array([pd.NA] * n, dtype="Int64"),
            "name": ["f"] * n,
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in rng.uniform(50, side - 50, (n, 2))],
        crs=UTM,
    )
    frames = {"roads": roads, "buildings": buildings, "facilities": facilities}
    for frame in frames.values():
        frame.index = np.arange(1, len(frame) + 1)
    return CoverageInputs(**{k: v.to_crs(4326) for k, v in frames.items()})


@dataclass
class FailingOnce:
    """A source whose reads of one box fail the first time (across processes: a marker
    file); with ``kill`` the process reading it dies instead, as a worker killed mid-part."""

    inner: LayerSource
    box: tuple[float, float, float, float]
    marker: Path
    always: bool = False
    kill: bool = False

    def read(self, bbox, layers=None):
        if bbox == self.box and (self.always or not self.marker.exists()):
            self.marker.touch()
            if self.kill:  # after a moment, so that what the worker last said (a part that
                time.sleep(1)  # failed in it) has reached the scheduler, as it does but for an
                os._exit(9)  # instant death
            raise ConnectionError("the database went away")
        return self.inner.read(bbox) if layers is None else self.inner.read(bbox, layers)

    def bounds(self, layer):
        return self.inner.bounds(layer)

    def compounds_lived_in(self):
        return self.inner.compounds_lived_in()


def test_a_dense_city_cut_through_its_streets_and_a_part_that_fails_once(tmp_path):
    inputs = dense_city()
    params = replace(
        PARAMS, categories=("party_service_centre", "clinic", "grocery", "kindergarten", "elderly_care")
    )
    params = run_params(params, CHECKLIST)
    one = compute_coverage(inputs, params, checklist=CHECKLIST)
    source = FrameSource(inputs)
    cut = by_tiles(extent(source), run_crs(source), TILE_M, halo_m(params, CHECKLIST))
    assert len(cut.parts) >= 25 and cut.halo_m > 2 * TILE_M  # walks cross several parts
    flaky = FailingOnce(source, cut.parts[7].reads, tmp_path / "failed")
    told = []
    parts = partitioned_coverage(flaky, cut, params, checklist=CHECKLIST, progress=lambda *a: told.append(a))
    assert_same_run(one, parts)
    # homes whose nearest facility another part owns, and homes on a border owned by one part
    homes = parts.homes.to_crs(UTM)
    owner = cut.owners(shapely.point_on_surface(homes.geometry.values))
    facilities = inputs.facilities.to_crs(UTM)
    fac_owner = pd.Series(cut.owners(facilities.geometry.values), index=facilities.index)
    near = parts.nearest[("clinic", 15)]
    across = (near >= 0) & (fac_owner.reindex(near).to_numpy() != owner)
    assert across.sum() > 100
    assert (owner >= 0).all()
    # the part that failed was sent again, and said so
    failed = [p for p in parts.report["partitions"]["parts"] if p["failures"]]
    assert [p["key"] for p in failed] == [cut.parts[7].key] and "went away" in failed[0]["failures"][0]
    assert any(what.startswith("failed") for _, _, _, what in told)

    always = FailingOnce(source, cut.parts[3].reads, tmp_path / "again", always=True)
    with pytest.raises(
        PartsFailedError, match=rf"{cut.parts[3].key}: ConnectionError: the database went away \(3 attempts\)"
    ):
        partitioned_coverage(always, cut, params, checklist=CHECKLIST, retries=2)


def test_homes_outside_every_district_have_a_part_of_their_own(monkeypatch):
    inputs = dense_city()
    w, s, e, n = inputs.buildings.total_bounds
    half = gpd.GeoDataFrame(
        {"code": ["D1"], "name": ["西区"]},
        geometry=[box(w - 0.01, s - 0.01, (w + e) / 2, n + 0.01)],
        crs=4326,
    )
    half.index = [1]
    source = FrameSource(inputs)
    cut = by_district(half, extent(source), run_crs(source), halo_m(PARAMS, CHECKLIST))
    assert cut.parts[0].key == "D1" and len(cut.parts) > 1
    assert all(p.key.startswith(OUTSIDE) for p in cut.parts[1:])
    params = run_params(replace(PARAMS, categories=("clinic",), circles=False), CHECKLIST)
    frozen: list[int] = []
    walk = scale_coverage.walk_homes
    monkeypatch.setattr(
        scale_coverage, "walk_homes", lambda *a, **k: (frozen.append(gc.get_freeze_count()), walk(*a, **k))[1]
    )
    at_figures: list[tuple[int, int]] = []
    figures = scale_coverage.coverage_figures
    monkeypatch.setattr(
        scale_coverage, "coverage_figures",
        lambda walks, *a, **k: (at_figures.append((gc.get_freeze_count(), len(walks.homes))), figures(walks, *a, **k))[1],
    )  # fmt: skip
    parts = partitioned_coverage(source, cut, params, checklist=CHECKLIST)
    assert_same_run(compute_coverage(inputs, params, checklist=CHECKLIST), parts)
    # the walks gathered (three shapes a home, each a tracked object) are out of the full passes too
    ((count, homes),) = at_figures
    assert count > min(frozen) + homes
    walked = parts.report["partitions"]["parts"]
    assert walked[0]["homes"] > 0 and sum(p["homes"] for p in walked[1:]) > 0
    # each part walks with what the process held before it out of the collector's full
    # passes (a third of the walking time at 8 × 8 copies), and gives it back after
    assert len(frozen) == len(cut.parts) and min(frozen) > 100_000 and gc.get_freeze_count() == 0


def test_a_gap_inside_a_part_is_drawn_there_and_one_across_a_border_where_all_are_gathered():
    """Two districts side by side, no clinic: a gap well inside each is drawn by its part
    (one a single home's footprint); a gap whose homes lie on both sides of the border, or
    beside it, is left to the gathering, which draws it whole. All as one process draws them."""
    west, east = box(X0, Y0, X0 + 3000, Y0 + 3000), box(X0 + 3000, Y0, X0 + 6000, Y0 + 3000)
    at = {"west inside": [(1000, 1500), (1100, 1500), (1100, 1600)], "lone": [(1500, 800)],
          "across": [(2900, 1500), (3100, 1500)], "east inside": [(5000, 1500), (5000, 1700)]}  # fmt: skip
    points = [xy for group in at.values() for xy in group]
    homes = gpd.GeoDataFrame({"households": 10, "residents": 25},
                             geometry=[box(X0 + x - 6, Y0 + y - 6, X0 + x + 6, Y0 + y + 6) for x, y in points],
                             index=np.arange(1, len(points) + 1), crs=UTM)  # fmt: skip
    pharmacy = gpd.GeoDataFrame({"categories": ["pharmacy"], "name": ["药房"]}, geometry=[Point(X0 + 10, Y0 + 10)],
                                index=[1], crs=UTM)  # fmt: skip
    districts = gpd.GeoDataFrame({"code": ["W", "E"], "name": ["西", "东"]}, geometry=[west, east], index=[1, 2],
                                 crs=UTM).to_crs(4326)  # fmt: skip
    inputs = CoverageInputs(
        buildings=homes.to_crs(4326), facilities=pharmacy.to_crs(4326), districts=districts
    )
    params = run_params(replace(PARAMS, categories=("clinic",), levels=(15,), circles=False), CHECKLIST)
    source = FrameSource(inputs)
    cut = by_district(districts, extent(source), run_crs(source), halo_m(params, CHECKLIST))
    came = {}
    parts = partitioned_coverage(source, cut, params, checklist=CHECKLIST,
                                 on_part=lambda p: came.update({p.key: p.walks}))  # fmt: skip
    one = compute_coverage(inputs, params, checklist=CHECKLIST)
    assert_same_run(one, parts)
    assert sorted(one.gaps["homes"]) == [1, 2, 2, 3]
    drawn = {key: sorted(w.gaps_drawn["homes"]) for key, w in came.items() if w is not None}
    left = {key: int(w.gaps_left[("clinic", 15)].sum()) for key, w in came.items() if w is not None}
    assert drawn == {"W": [1, 3], "E": [2]} and left == {"W": 1, "E": 1}
    assert parts.gaps.set_index("homes").loc[2, "residents"].tolist() == [50, 50]


def test_a_rerun_after_one_districts_edit_walks_that_district_only(demo_url, demo_run, tmp_path):
    if demo_url.startswith("postgresql"):
        pytest.skip("kept parts are files; a run reading PostGIS in parts is tested on a cluster")
    source = StoreSource(demo_url)
    cut = _cut(source, "district")
    cache = tmp_path / "parts"
    first = partitioned_coverage(source, cut, PARAMS, checklist=CHECKLIST, cache=cache)
    assert not any(p["reused"] for p in first.report["partitions"]["parts"])
    again = partitioned_coverage(source, cut, PARAMS, checklist=CHECKLIST, cache=cache)
    assert all(p["reused"] for p in again.report["partitions"]["parts"])
    assert_same_run(demo_run, again)
    # one home near a district border gets more residents
    engine = make_engine(demo_url)
    buildings = read_layer(engine, "buildings")
    homes = buildings[buildings["residents"].fillna(0) > 0]
    districts = read_layer(engine, "districts")
    borders = shapely.union_all(districts.boundary.values)
    home_id = int(homes.index[np.argmin(shapely.distance(homes.geometry.values, borders))])
    with write_transaction(engine) as conn:
        update_rows(
            conn,
            "buildings",
            pd.DataFrame({"id": [home_id], "residents": [int(homes.loc[home_id, "residents"]) + 500]}),
            ["residents"],
        )
    try:
        edited = partitioned_coverage(source, cut, PARAMS, checklist=CHECKLIST, cache=cache)
        walked = [p["key"] for p in edited.report["partitions"]["parts"] if not p["reused"]]
        owner = cut.parts[int(cut.owners(shapely.point_on_surface(
            gpd.GeoSeries([buildings.geometry.loc[home_id]], crs=4326).to_crs(cut.crs).values))[0])].key  # fmt: skip
        assert walked == [owner]
        mine = edited.homes["feature_id"] == home_id
        assert edited.homes.loc[mine, "residents"].iloc[0] == homes.loc[home_id, "residents"] + 500
        pd.testing.assert_frame_equal(edited.compounds, again.compounds)
    finally:
        with write_transaction(engine) as conn:
            update_rows(
                conn,
                "buildings",
                pd.DataFrame({"id": [home_id], "residents": [int(homes.loc[home_id, "residents"])]}),
                ["residents"],
            )
        engine.dispose()


def test_the_command_line_refuses_a_cut_it_cannot_make_and_keeps_no_run(demo_db, capsys):
    from gridmap.store.runs import list_runs
    from gridmap_cli import main

    engine = make_engine(demo_db)
    before = len(list_runs(engine))
    for args, said in (
        (["--workers", "0"], "--workers 0: expected 1 to"),
        (["--workers", "99999999999999999999"], "processes on this machine"),  # tried to start them all
        (
            ["compare", "99999999999999999999", "2"],
            "there is no coverage run 99999999999999999999",
        ),  # overflowed
        (
            ["--workers", "1", "--tile-km", "-1"],
            "--tile-km -1: expected more than 0 and at most 1000 kilometres",
        ),
        (["--workers", "1", "--tile-km", "inf"], "--tile-km inf: expected more than 0"),  # was a traceback
        (["--workers", "1", "--tile-km", "nan"], "--tile-km nan: expected more than 0"),  # was NaN to integer
        (["--tile-km", "3"], "give --workers N or --cluster ADDRESS"),
        (["--workers", "1", "--district", "510108"], "a run in parts covers the whole database"),
    ):
        assert main(["--db", demo_db, "coverage", *args]) == 2
        assert said in capsys.readouterr().err
    assert len(list_runs(engine)) == before
    engine.dispose()


def test_a_compound_whose_home_lies_beyond_the_halo_is_no_home_itself():
    """The compound's outline lies in one corner, its one home in the far corner, beyond the
    halo of the part that owns the outline: that part must not take it for a compound
    without buildings (a home of its own), as one process does not."""
    inputs = dense_city()
    corner = box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60)  # between the buildings of the first block
    compounds = gpd.GeoDataFrame({"name": ["远院", "空院"]}, geometry=[corner, corner.buffer(-2)], crs=UTM)
    compounds.index = [1, 2]  # 2 holds no building: a home itself, in either run
    buildings = inputs.buildings.to_crs(UTM)
    far = buildings.geometry.centroid.x.add(buildings.geometry.centroid.y).idxmax()
    buildings["compound_id"] = pd.array([1 if i == far else pd.NA for i in buildings.index], dtype="Int64")
    inputs = replace(inputs, buildings=buildings.to_crs(4326), compounds=compounds.to_crs(4326))
    params = run_params(replace(PARAMS, categories=("clinic",), circles=False), CHECKLIST)
    source = FrameSource(inputs)
    cut = by_tiles(extent(source), run_crs(source), TILE_M, halo_m(params, CHECKLIST))
    reads = cut.parts[int(cut.owners(shapely.centroid(np.array([corner])))[0])].reads
    assert not shapely.box(*reads).intersects(shapely.centroid(buildings.geometry.to_crs(4326).loc[far]))
    one = compute_coverage(inputs, params, checklist=CHECKLIST)
    parts = partitioned_coverage(source, cut, params, checklist=CHECKLIST)
    assert_same_run(one, parts)
    compound_homes = parts.homes.loc[parts.homes["kind"] == "compound", "feature_id"].tolist()
    assert compound_homes == [2]


def test_each_source_names_the_compounds_lived_in_as_the_layers_do(demo_url, tmp_path):
    engine = make_engine(demo_url)
    inputs = load_inputs(engine)
    engine.dispose()
    expected = compounds_lived_in(inputs.buildings)
    assert len(expected) > 0
    for source in (StoreSource(demo_url), FrameSource(inputs), write_parquet(inputs, tmp_path / "files")):
        np.testing.assert_array_equal(source.compounds_lived_in(), expected)
