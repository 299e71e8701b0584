"""Coverage runs are stored, read back and compared, on SpatiaLite and PostGIS."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from gridmap.coverage import CoverageParams, compute_coverage
from gridmap.errors import NotFoundError
from gridmap.store.inputs import load_inputs
from gridmap.store.layers import write_layer
from gridmap.store.runs import compare_runs, kept_homes, list_runs, read_run, save_run
from gridmap.store.tables import coverage_runs
from gridmap_cli.coverage_report import print_comparison

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def _frame(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=UTM).to_crs(4326)


def _load_street(engine):
    write_layer(
        engine,
        "roads",
        _frame({"highway": ["residential"]}, [LineString([(X0, Y0), (X0 + 1200, Y0)])]),
    )
    homes = [(0, 10), (300, 10), (900, 10)]
    write_layer(
        engine,
        "buildings",
        _frame(
            {"households": [100, 120, 80], "residents": [250, 300, 200]},
            [box(X0 + x - 5, Y0 + y - 5, X0 + x + 5, Y0 + y + 5) for x, y in homes],
        ),
    )
    write_layer(
        engine,
        "facilities",
        _frame({"categories": ["clinic"], "name": ["社区卫生服务站"]}, [Point(X0, Y0 - 5)]),
    )


def test_run_is_kept_read_back_and_compared(engine, capsys):
    _load_street(engine)
    params = CoverageParams(categories=("clinic",), levels=(5, 15))
    inputs = load_inputs(engine)
    first = compute_coverage(inputs, params)
    run_a = save_run(engine, first, inputs, user="planner1", label="before")

    stored = read_run(engine, run_a)
    assert stored.label == "before" and stored.created_by == "planner1"
    assert stored.params["levels"] == [5, 15] and stored.params["speed_mps"] == 1.1
    assert stored.inputs["facilities"] == {"version": 1, "features": 1}
    assert stored.method == "network"
    five = stored.results[stored.results["level"] == 5].sort_values("feature_id")
    assert five["distance_m"].tolist() == pytest.approx([15.0, 315.0, 915.0], abs=0.01)
    assert five["covered"].tolist() == [True, True, False]
    assert five["facility_id"].tolist() == [1, 1, 1]
    area = stored.summary[(stored.summary["scope"] == "area") & (stored.summary["level"] == 5)]
    assert area["residents_covered"].iloc[0] == 550
    assert len(stored.gaps) == len(first.gaps) == 1
    assert stored.gaps.geometry.iloc[0].equals(first.gaps.geometry.iloc[0])
    assert len(stored.circles) == 2
    # what its count of homes held is kept with it
    assert stored.inputs["homes"]["residents"] == {"given": 750}
    assert kept_homes(engine, run_a).said() == "750 residents: 100 % given"

    write_layer(engine, "facilities", _frame({"categories": ["clinic"]}, [Point(X0 + 1000, Y0 - 5)]))
    inputs = load_inputs(engine)
    second = compute_coverage(inputs, params)
    run_b = save_run(engine, second, inputs, label="with a new station")
    assert read_run(engine, run_b).inputs["facilities"] == {"version": 2, "features": 2}
    print_comparison(engine, run_a, run_b)
    assert "homes counted differ" not in capsys.readouterr().out  # the same count: the station did it

    table, changed = compare_runs(engine, run_a, run_b)
    row = table[(table["level"] == 5)].iloc[0]
    assert row["residents_covered_before"] == 550 and row["residents_covered_after"] == 750
    assert row["residents_gained"] == 200
    assert changed[["feature_id", "level", "newly_covered"]].values.tolist() == [[3, 5, True]]
    runs = list_runs(engine)
    assert runs["id"].tolist() == [run_b, run_a]
    assert runs["label"].tolist() == ["with a new station", "before"]
    assert runs["residents"].tolist() == [750, 750] and runs["estimated"].tolist() == [0.0, 0.0]


def test_missing_run_is_named(engine):
    with pytest.raises(NotFoundError, match="no coverage run 42"):
        read_run(engine, 42)
    with pytest.raises(NotFoundError, match="no coverage run 42"):
        kept_homes(engine, 42)
    with pytest.raises(NotFoundError, match="no coverage run 99999999999999999999"):
        kept_homes(engine, 99999999999999999999)


def test_a_comparison_says_when_the_homes_counted_moved(engine, capsys):
    """A committee's ledger between two runs moves their figures as a new station would: the
    comparison says that the count differs, and how; a run kept before the count was recorded
    says nothing of it."""
    _load_street(engine)
    params = CoverageParams(categories=("clinic",), levels=(15,))
    inputs = load_inputs(engine)
    before = save_run(engine, compute_coverage(inputs, params), inputs)
    buildings = inputs.buildings.assign(
        residents=[250, 300, 1200], households_from=["given", "given", "ledger"]
    )
    write_layer(engine, "buildings", buildings, mode="replace")
    inputs = load_inputs(engine)
    after = save_run(engine, compute_coverage(inputs, params), inputs)
    print_comparison(engine, before, after)
    out = capsys.readouterr().out
    assert (
        f"the homes counted differ, so part of any change is the count, not the services: run {before} 750 "
        f"residents: 100 % given; run {after} 1,750 residents: 69 % from committees' ledgers, 31 % given"
    ) in out
    with engine.begin() as conn:  # as kept before the count was recorded
        conn.execute(
            coverage_runs.update().where(coverage_runs.c.id == before).values(inputs='{"roads": {}}')
        )
    assert kept_homes(engine, before) is None
    listed = list_runs(engine).set_index("id")
    assert listed.loc[after, "residents"] == 1750 and pd.isna(listed.loc[before, "residents"])
    assert listed.loc[after, "estimated"] == 0.0 and pd.isna(listed.loc[before, "estimated"])
    print_comparison(engine, before, after)
    assert "homes counted" not in capsys.readouterr().out


def test_failed_save_keeps_nothing(engine, monkeypatch):
    _load_street(engine)
    inputs = load_inputs(engine)
    result = compute_coverage(inputs, CoverageParams(categories=("clinic",)))
    result.circles = result.circles.assign(limit_m=pd.NA)  # a NOT NULL column left empty
    with pytest.raises(Exception):  # noqa: B017 - the driver's integrity error
        save_run(engine, result, inputs)
    assert len(list_runs(engine)) == 0


def _plain(frame, columns):
    return [[None if pd.isna(v) else v for v in row] for row in frame[columns].itertuples(index=False)]


@pytest.mark.parametrize("circles_later", [False, True], ids=["drawn", "drawn-while-saved"])
def test_every_saved_table_reads_back_as_computed(engine, circles_later):
    """Also when the run is saved while its circles are still being drawn (as the command
    line does): they are written last, and the report says how long they took."""
    from gridmap.coverage import long_results

    _load_street(engine)
    inputs = load_inputs(engine)
    params = CoverageParams(categories=("clinic",), levels=(5, 15))
    result = compute_coverage(inputs, params, circles_later=circles_later)
    stored = read_run(engine, save_run(engine, result, inputs))
    assert len(stored.circles) == len(result.circles) > 0 and stored.report["timings_s"]["circles"] > 0
    for name, computed in (("results", long_results(result)), ("summary", result.summary),
                           ("compounds", result.compounds)):  # fmt: skip
        back = getattr(stored, name)
        columns = [c for c in back.columns if c in computed.columns and c != "geometry"]
        assert len(columns) >= 4 and len(back) == len(computed), name
        assert _plain(back, columns) == _plain(computed.reset_index(drop=True), columns), name
