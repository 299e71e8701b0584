"""Coverage on a hand-built street plan (UTM 48N metres) and on the demo district."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from gridmap.coverage import (
    CoverageInputs,
    CoverageParams,
    compute_coverage,
    facility_sets,
    facility_table,
    threshold_m,
)
from gridmap.standards import load_checklist
from gridmap.walking import WalkingParams

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0
# 1.1 m/s: 5 min = 330 m, 10 min = 660 m, 15 min = 990 m


def _line(*xy):
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def _roads():
    # a 1.2 km street along y=0 with a 200 m side street to the north at x=600
    return gpd.GeoDataFrame(
        {"highway": ["residential", "residential", "footway"]},
        geometry=[_line((0, 0), (600, 0)), _line((600, 0), (1200, 0)), _line((600, 0), (600, 200))],
        crs=UTM,
    )


def _buildings(points, households=100, residents=250, compound_ids=None):
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "households": [households] * n,
            "residents": [residents] * n,
            "compound_id": pd.array(compound_ids or [pd.NA] * n, dtype="Int64"),
        },
        geometry=[box(X0 + x - 1, Y0 + y - 1, X0 + x + 1, Y0 + y + 1) for x, y in points],
        index=range(1, n + 1),
        crs=UTM,
    )


def _facilities(rows):
    """rows: (x, y, categories, level or None)."""
    return gpd.GeoDataFrame(
        {
            "categories": [r[2] for r in rows],
            "level": pd.array([r[3] for r in rows], dtype="Int64"),
        },
        geometry=[Point(X0 + r[0], Y0 + r[1]) for r in rows],
        index=range(101, 101 + len(rows)),
        crs=UTM,
    )


def _run(buildings, facilities, roads=None, **params):
    """Coverage with ``params``; the walking ones (speed_mps, detour_factor, …) go into walking."""
    params.setdefault("categories", ("clinic",))
    walking = {k: params.pop(k) for k in list(params) if k in WalkingParams.__dataclass_fields__}
    inputs = CoverageInputs(buildings=buildings, facilities=facilities, roads=roads)
    return compute_coverage(inputs, CoverageParams(**params, walking=WalkingParams(**walking)))


def test_minutes_and_coverage_by_level():
    homes = _buildings([(0, 10), (300, 10), (900, 10), (600, 150)])
    res = _run(homes, _facilities([(600, -5, "clinic", None)]), _roads())
    d = res.distances[("clinic", 15)]
    assert d.tolist() == pytest.approx([10 + 600 + 5, 10 + 300 + 5, 10 + 300 + 5, 150 + 5])
    assert res.minutes("clinic", 5)[3] == pytest.approx(155 / 1.1 / 60)
    assert res.covered("clinic", 5).tolist() == [False, True, True, True]
    assert res.covered("clinic", 15).all()
    area = res.area_summary().set_index("level")
    assert area.loc[5, "households_covered"] == 300 and area.loc[5, "households"] == 400
    assert area.loc[5, "share_residents"] == pytest.approx(0.75)
    assert area.loc[15, "share_households"] == pytest.approx(1.0)
    assert res.nearest[("clinic", 5)].tolist() == [101] * 4
    assert set(res.summary["method"]) == {"network"}


def test_levels_are_not_nested():
    homes = _buildings([(300, 10)])
    facilities = _facilities([(350, 5, "clinic", 15), (1200, 5, "clinic", 5)])
    res = _run(homes, facilities, _roads())
    # the 15-minute clinic is 65 m away but does not serve the 5-minute need
    assert res.distances[("clinic", 15)][0] == pytest.approx(10 + 50 + 5)
    assert res.distances[("clinic", 5)][0] == pytest.approx(10 + 900 + 5)
    assert not res.covered("clinic", 5)[0]
    assert res.covered("clinic", 15)[0]
    # the 10-minute level has no clinic at all
    assert np.isinf(res.distances[("clinic", 10)][0])


def test_speed_changes_minutes_not_metres():
    homes = _buildings([(0, 10)])
    fac = _facilities([(300, 5, "clinic", None)])
    walk = _run(homes, fac, _roads(), levels=(5,))
    slow = _run(homes, fac, _roads(), levels=(5,), speed_mps=0.8)
    assert walk.distances[("clinic", 5)][0] == slow.distances[("clinic", 5)][0] == pytest.approx(315)
    assert walk.covered("clinic", 5)[0]  # 315 m ≤ 330 m
    assert not slow.covered("clinic", 5)[0]  # 315 m > 240 m
    assert slow.minutes("clinic", 5)[0] == pytest.approx(315 / 0.8 / 60)


def test_radius_measure_uses_the_standards_radius():
    checklist = load_checklist()
    params = CoverageParams(measure="radius")
    assert threshold_m(checklist, params, "kindergarten", 5) == 300
    assert threshold_m(checklist, params, "primary_school", 10) == 500
    assert threshold_m(checklist, params, "food", 15) == 1000  # no item radius: the level's band
    assert threshold_m(checklist, CoverageParams(), "food", 15) == pytest.approx(990)


def test_unattached_homes_and_facilities_are_reported():
    homes = _buildings([(0, 10), (300, 900)])
    res = _run(homes, _facilities([(600, -5, "clinic", None), (0, 2000, "clinic", None)]), _roads())
    assert res.report["homes_unattached"] == ["building 2"]
    assert res.report["facilities_unattached"] == [102]
    assert np.isinf(res.distances[("clinic", 15)][1])
    assert not res.covered("clinic", 15)[1]


def test_straight_line_fallback_is_labelled():
    homes = _buildings([(0, 0), (400, 300)])
    res = _run(homes, _facilities([(0, 100, "clinic", None)]), roads=None, detour_factor=1.25)
    assert res.distances[("clinic", 15)].tolist() == pytest.approx([125.0, np.hypot(400, 200) * 1.25])
    label = "straight line × 1.25 detour (no street layer)"
    assert res.method == label
    for frame in (res.summary, res.homes, res.gaps):
        assert set(frame["method"]) == {label}, frame.columns
    assert len(res.circles) == 0  # circles need a street network


def test_compound_mode_starts_from_the_gates():
    homes = _buildings([(100, 100), (120, 100), (900, 10)], compound_ids=[1, 1, None])
    compounds = gpd.GeoDataFrame(
        {"name": ["甲小区"]}, geometry=[box(X0 + 50, Y0 + 50, X0 + 200, Y0 + 150)], index=[1], crs=UTM
    )
    gates = gpd.GeoDataFrame(
        {"compound_id": [1, 1]}, geometry=[Point(X0 + 100, Y0 + 50), Point(X0 + 200, Y0 + 100)], crs=UTM
    )
    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "residential"]},
        geometry=[_line((0, 0), (1200, 0)), _line((300, 0), (300, 100))],
        crs=UTM,
    )
    fac = _facilities([(300, -5, "clinic", None), (1200, -5, "elderly_care", None)])
    inputs = CoverageInputs(
        buildings=homes, facilities=fac, roads=roads, compounds=compounds, entrances=gates
    )
    by_building = compute_coverage(inputs, CoverageParams(categories=("clinic",)))
    by_gate = compute_coverage(
        inputs,
        CoverageParams(categories=("clinic", "elderly_care"), walking=WalkingParams(origin="compound")),
    )
    d = by_gate.distances[("clinic", 15)]
    # the east gate (200,100) meets the side street after 100 m; then 100 m south, 5 m access
    assert d[0] == d[1] == pytest.approx(100 + 100 + 5)
    assert d[2] == pytest.approx(by_building.distances[("clinic", 15)][2])
    assert by_building.distances[("clinic", 15)][0] == pytest.approx(100 + 200 + 5)
    checks = by_gate.compounds.set_index(["check", "level"])
    # judged on the categories computed: the clinic is near, elderly care is not
    assert not checks.loc[("GB50180-15min", 15), "passes"]
    assert checks.loc[("GB50180-15min", 15), "missing"] == "elderly_care"
    assert checks.loc[("GB50180-15min", 15), "missing_zh"] == "养老服务"


def test_compound_without_buildings_is_an_origin():
    compounds = gpd.GeoDataFrame(
        {"name": ["空小区"]}, geometry=[box(X0 + 280, Y0 + 20, X0 + 320, Y0 + 60)], index=[5], crs=UTM
    )
    homes = _buildings([(900, 10)])
    inputs = CoverageInputs(
        buildings=homes,
        facilities=_facilities([(0, -5, "clinic", None)]),
        roads=_roads(),
        compounds=compounds,
    )
    res = compute_coverage(inputs, CoverageParams(categories=("clinic",)))
    row = res.homes[res.homes["kind"] == "compound"]
    assert row["feature_id"].tolist() == [5]
    assert res.distances[("clinic", 15)][1] == pytest.approx(40 + 300 + 5)


def test_circle_follows_the_streets():
    homes = _buildings([(0, 10)])
    # at 0.5 m/s the 5-minute circle is 150 m: from the side street it reaches the junction
    # and 50 m each way along the main street
    res = _run(homes, _facilities([(600, 100, "clinic", None)]), _roads(), speed_mps=0.5, levels=(5,))
    circle = res.circles.to_crs(UTM)
    assert len(circle) == 1 and circle.iloc[0]["limit_m"] == pytest.approx(150)
    shape = circle.geometry.iloc[0]
    assert shape.contains(Point(X0 + 600, Y0 + 190))
    assert shape.contains(Point(X0 + 560, Y0 + 0))
    assert not shape.contains(Point(X0 + 500, Y0 + 0))  # a 200 m walk
    assert not shape.contains(Point(X0 + 700, Y0 + 100))  # 100 m away, but no street goes there
    assert shape.area < shapely.buffer(Point(X0 + 600, Y0 + 100), 150).area / 2


def test_gaps_are_clusters_not_one_hull():
    west = [(0, 10), (20, 10), (40, 10)]
    east = [(1150, 10), (1180, 10)]
    res = _run(_buildings(west + east), _facilities([(600, -5, "clinic", None)]), _roads(), levels=(5,))
    gaps = res.gaps.to_crs(UTM)
    assert len(gaps) == 2
    assert sorted(gaps["homes"]) == [2, 3]
    assert sorted(gaps["households"]) == [200, 300]
    assert not gaps.geometry.intersects(Point(X0 + 600, Y0 + 10)).any()


def test_gap_clusters_are_the_touching_cells_scipy_labels():
    """Oracle: ``scipy.ndimage.label`` over the occupied cells (squares counted from the
    CRS's origin, as every part of a run counts them), eight neighbours touching, numbered in
    the same order (by x, then y, of each cluster's first cell)."""
    from scipy import ndimage

    from gridmap.coverage import gap_clusters

    rng = np.random.default_rng(7)
    for n, extent in [(1, 10), (2, 300), (40, 1_000), (500, 5_000), (3_000, 20_000), (3_000, 200_000)]:
        xy = rng.uniform(0, extent, (n, 2)) + rng.uniform(-1e6, 1e6, 2)
        cell = np.floor(xy / 250).astype(np.int64)
        cell -= cell.min(axis=0)
        grid = np.zeros(tuple(cell.max(axis=0) + 1), dtype=bool)
        grid[cell[:, 0], cell[:, 1]] = True
        labels, _ = ndimage.label(grid, structure=np.ones((3, 3), dtype=bool))
        assert (gap_clusters(xy, 250) == labels[cell[:, 0], cell[:, 1]] - 1).all(), (n, extent)
    # a chain of cells touching corner to corner is one cluster; a gap of one empty cell parts them
    chain = np.array([[0, 0], [260, 260], [520, 10], [1_030, 10]], dtype=float)
    assert gap_clusters(chain, 250).tolist() == [0, 0, 0, 1]
    # the cells do not move with the points: 200 and 600 m lie in cells 0 and 2, apart; 300 and
    # 700 m in cells 1 and 2, touching
    assert gap_clusters(np.array([[200.0, 0], [600, 0]]), 250).tolist() == [0, 1]
    assert gap_clusters(np.array([[300.0, 0], [700, 0]]), 250).tolist() == [0, 0]


@pytest.fixture(scope="module")
def demo_inputs(demo_data):
    return CoverageInputs.from_layers(demo_data.layers)


def test_circles_drawn_beside_the_figures_are_those_drawn_in_turn_and_homes_keep_their_stored_shapes(
    demo_inputs,
):
    """A run draws its circles in a second thread while it sums the figures and outlines the
    gaps: the same circles, gaps and figures as drawing them in turn, also when the result
    comes before the circles are drawn; the homes of the result are the buildings' shapes as
    stored, not projected there and back."""
    from gridmap.coverage import coverage_figures, resolved, walk_homes

    checklist = load_checklist()
    params = resolved(CoverageParams(categories=("clinic", "elderly_care"), levels=(5, 15)), checklist)
    beside = compute_coverage(demo_inputs, params, checklist=checklist)
    walks = walk_homes(demo_inputs, params, checklist=checklist)
    assert walks.drawing is None
    in_turn = coverage_figures(walks, demo_inputs, params, checklist=checklist)
    assert len(beside.circles) > 20 and beside.report["timings_s"]["circles"] > 0
    for name in ("circles", "gaps", "summary", "compounds"):
        pd.testing.assert_frame_equal(getattr(beside, name), getattr(in_turn, name), check_exact=True)
    # or given while they are still drawn: the circles are waited for when asked for
    later = compute_coverage(demo_inputs, params, checklist=checklist, circles_later=True)
    pd.testing.assert_frame_equal(later.circles, beside.circles, check_exact=True)
    assert later.report["timings_s"]["circles"] > 0
    built = beside.homes[beside.homes["kind"] == "building"]
    stored = demo_inputs.buildings.geometry.loc[built["feature_id"].to_numpy()]
    assert shapely.equals_exact(built.geometry.values, stored.values, tolerance=0).all()


@pytest.mark.slow
def test_gap_disappears_when_a_facility_is_added(demo_inputs):
    params = CoverageParams(categories=("elderly_care",), levels=(5,), circles=False, gap_cluster_m=50)
    before = compute_coverage(demo_inputs, params)
    homes = before.homes.to_crs(before.report["crs"])
    gaps = before.gaps.to_crs(before.report["crs"])
    uncovered = homes[~before.covered("elderly_care", 5)]
    tried = 0
    # small gaps (every home within 60 m of the middle one), a station at the middle home
    for gap in gaps.itertuples():
        inside = uncovered[uncovered.intersects(gap.geometry)]
        if len(inside) < 2:
            continue
        middle = inside.geometry.representative_point()
        centre = middle.iloc[int(np.argmin(middle.distance(middle.union_all().centroid)))]
        if middle.distance(centre).max() >= 60:
            continue
        assert gaps.intersects(centre).any()
        station = gpd.GeoDataFrame(
            {"categories": ["elderly_care"], "level": pd.array([5], dtype="Int64")},
            geometry=[centre],
            index=[9999],
            crs=before.report["crs"],
        ).to_crs(4326)
        facilities = pd.concat([demo_inputs.facilities, station])
        after = compute_coverage(CoverageInputs(**{**demo_inputs.__dict__, "facilities": facilities}), params)
        tried += 1
        if after.covered("elderly_care", 5)[inside.index].all():
            assert not after.gaps.to_crs(before.report["crs"]).intersects(centre).any()
            gained = (
                after.area_summary()["residents_covered"].iloc[0]
                - before.area_summary()["residents_covered"].iloc[0]
            )
            assert gained >= inside["residents"].sum()
            return
        if tried == 5:
            break
    pytest.fail(f"no small gap closed by a station at its middle ({tried} tried)")


@pytest.mark.slow
def test_demo_district_every_category_and_level(demo_inputs):
    res = compute_coverage(demo_inputs)
    area = res.area_summary()
    assert len(area) == len(res.params.categories) * 3
    assert area["homes"].eq(len(res.homes)).all()
    # the demo has no childcare at all, and food is everywhere
    child = area[area["category"] == "childcare"]
    assert (child["residents_covered"] == 0).all()
    food = area[(area["category"] == "food") & (area["level"] == 15)]
    assert food["share_residents"].iloc[0] > 0.8
    # shares per community add up to the whole
    comm = res.summary[(res.summary["scope"] == "community") & (res.summary["category"] == "food")]
    for level, part in comm.groupby("level"):
        whole = area[(area["category"] == "food") & (area["level"] == level)].iloc[0]
        assert part["residents_covered"].sum() + 0 <= whole["residents_covered"]
    assert res.report["islands"] > 0
    assert len(res.circles) > 0 and res.circles.geometry.is_valid.all()
    assert len(res.gaps) > 0 and res.gaps.geometry.is_valid.all()
    assert res.report["shortest_path_passes"] <= len(res.params.categories) * 3


def test_islands_of_the_network_are_reported_with_their_homes():
    island = gpd.GeoDataFrame({"highway": ["footway"]}, geometry=[_line((0, 800), (200, 800))], crs=UTM)
    roads = gpd.GeoDataFrame(pd.concat([_roads(), island], ignore_index=True), crs=UTM)
    homes = _buildings([(0, 10), (100, 810), (150, 790)])
    res = _run(homes, _facilities([(600, -5, "clinic", None)]), roads)
    assert res.report["islands"] == 1 and res.report["homes_on_islands"] == ["building 2", "building 3"]
    assert res.report["islands_with_homes"] == [
        {"island": 1, "km": 0.2, "homes": 2, "residents": 500, "facilities": 0}
    ]
    assert not res.covered("clinic", 15)[1:].any()  # the clinic is on the main part only
    # a compound mapped without buildings is a home too, and named as one: compound 2 is not building 2
    bare = gpd.GeoDataFrame(geometry=[box(X0 + 40, Y0 + 790, X0 + 60, Y0 + 810)], index=[2], crs=UTM)
    inputs = CoverageInputs(buildings=homes, facilities=_facilities([(600, -5, "clinic", None)]), roads=roads,
                            compounds=bare)  # fmt: skip
    both = compute_coverage(inputs, CoverageParams(categories=("clinic",)))
    assert both.report["homes_on_islands"] == ["building 2", "building 3", "compound 2"]


def test_homes_are_named_once_each_buildings_first_by_number():
    """A report's lists of homes (on islands, unattached) as the labels' own order has them,
    for a city's worth of homes at once: each label once, buildings before compounds, and
    building 9 before building 10 (not as text sorts them)."""
    from gridmap.coverage import home_label_order, home_labels

    rng = np.random.default_rng(5)
    homes = pd.DataFrame({"kind": rng.choice(["compound", "building"], 5000),
                          "feature_id": rng.integers(1, 200, 5000)})  # fmt: skip
    homes.loc[:1, ["kind", "feature_id"]] = [["building", 10], ["building", 9]]
    for positions in (np.zeros(0, dtype=np.int64), np.array([0, 1, 0]), rng.integers(0, 5000, 20_000)):
        named = {f"{k} {i}" for k, i in zip(homes["kind"].to_numpy()[positions],
                                           homes["feature_id"].to_numpy()[positions], strict=True)}  # fmt: skip
        assert home_labels(homes, positions) == sorted(named, key=home_label_order)
    assert home_labels(homes, np.array([0, 1, 0])) == ["building 9", "building 10"]
    same_number = pd.DataFrame({"kind": ["compound", "building"], "feature_id": [3, 3]})
    assert home_labels(same_number, np.array([0, 1, 1])) == ["building 3", "compound 3"]  # two homes


def test_a_gap_of_the_same_homes_for_several_categories_is_drawn_once_and_alike():
    from gridmap.coverage import _cluster_shapes, _drawn_clusters

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 500, (40, 2))
    xy = xy[np.lexsort((xy[:, 1], xy[:, 0]))]  # each cluster's points by x, then y, as gaps give them
    footprints = shapely.buffer(shapely.points(xy), 5)
    # three (category, level) pairs: the first two leave the same homes uncovered, in two clusters
    # each; the third a different set; plus a lone home
    homes = np.r_[np.arange(0, 20), np.arange(0, 20), np.arange(10, 40), [7]]
    label = np.r_[np.repeat([0, 1], 10), np.repeat([2, 3], 10), np.repeat([4, 5], 15), [6]]
    looked_up: list[int] = []

    def footprint(at):
        looked_up.extend(at.tolist())
        return footprints[at]

    shared = _cluster_shapes(xy, footprint, label, 25.0, homes)
    assert looked_up == [7]  # the lone home's footprint only
    alone = _drawn_clusters(xy[homes], lambda lone: footprints[homes][lone], label, 25.0)  # each by itself
    assert len(shared) == len(alone) == 7
    assert all(a.equals_exact(b, 0) for a, b in zip(shared, alone, strict=True))
    assert shared[0] is shared[2] and shared[1] is shared[3]  # drawn once, shared
    projected: list[int] = []

    def project(shapes):  # to another CRS, as the gaps go to EPSG:4326: each outline once
        projected.append(len(shapes))
        return shapely.transform(shapes, lambda c: c * 2)

    moved = _cluster_shapes(xy, footprint, label, 25.0, homes, project=project)
    assert projected == [5]  # 7 gaps, 5 of them distinct
    assert all(
        m.equals_exact(shapely.transform(a, lambda c: c * 2), 0) for m, a in zip(moved, alone, strict=True)
    )


def test_clusters_of_the_same_homes_in_any_order_are_one_set_and_others_are_not():
    from gridmap.coverage import _same_members

    homes = np.r_[[1, 2, 3], [3, 1, 2], [1, 2, 4], [5], [5], [1, 2]]
    label = np.r_[[0] * 3, [1] * 3, [2] * 3, [3], [4], [5] * 2]
    first, same_as = _same_members(label, homes)
    assert same_as.tolist() == [0, 0, 1, 2, 2, 3]
    assert first.tolist() == [True] * 3 + [False] * 3 + [True] * 3 + [True, False] + [True] * 2


def test_the_facilities_of_each_category_and_level_are_those_a_filtered_frame_gives():
    """Each (category, level): the facilities of the category without a level or at that
    level, each once, ascending; a category without facilities, or no facility at all, none."""
    facilities = gpd.GeoDataFrame(
        {"categories": ["clinic,elderly_care", "clinic", None, "elderly_care", "clinic , school"],
         "level": [None, 15, 5, "10", 15]},
        geometry=[Point(i, 0) for i in range(5)], crs="EPSG:4326",
    )  # fmt: skip
    categories, levels = ("clinic", "elderly_care", "school", "library"), (5, 10, 15)
    for frame in (facilities, facilities.iloc[:0]):
        table = facility_table(frame, categories)
        sets = facility_sets(table, categories, levels)
        assert list(sets) == [(c, lv) for c in categories for lv in levels]
        for (cat, lv), got in sets.items():
            rows = table[table["category"] == cat]
            wanted = np.unique(
                rows.loc[rows["level"].isna() | (rows["level"] == lv), "pos"].to_numpy(np.int64)
            )
            assert got.dtype == np.int64 and got.tolist() == wanted.tolist(), (cat, lv)
    sets = facility_sets(facility_table(facilities, categories), categories, levels)
    assert sets[("clinic", 15)].tolist() == [0, 1, 4] and sets[("clinic", 5)].tolist() == [0]
    assert sets[("elderly_care", 10)].tolist() == [0, 3] and sets[("school", 5)].tolist() == []
