"""Coverage runs kept in the database: parameters, the data used, and the results.

A run is written in one transaction (:func:`save_run`), read back whole (:func:`read_run`),
listed (:func:`list_runs`) and compared with another run (:func:`compare_runs`), e.g. before
and after a new facility.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, Table, insert, select, update

from gridmap.errors import NotFoundError
from gridmap.households import ESTIMATE, HomeOrigins, home_origins
from gridmap.model import CATEGORY_NAMES_ZH, INT_RANGE
from gridmap.store.engine import write_transaction
from gridmap.store.inputs import INPUT_LAYERS, stored_home_origins
from gridmap.store.layers import layer_counts, layer_versions_now, read_layer
from gridmap.store.records import insert_frame, read_rows
from gridmap.store.tables import (
    coverage_circles,
    coverage_compounds,
    coverage_gaps,
    coverage_results,
    coverage_runs,
    coverage_summary,
)
from gridmap.values import plain_value
from gridmap.walking import params_record

if TYPE_CHECKING:  # the analysis (SciPy with it) is loaded by what saves a run, not by what reads one
    from gridmap.coverage import CoverageParams, CoverageResult, HomeWalks
    from gridmap.study_area import CoverageInputs

RUNNING = "running"  # the method of a run whose parts are still coming in
FAILED = "failed"  # the method of a run that stopped before its figures


@dataclass
class StoredRun:
    """A coverage run as read back from the database."""

    id: int
    created_at: dt.datetime
    created_by: str
    label: str | None
    method: str
    checklist_version: int
    params: dict[str, Any]
    inputs: dict[str, Any]
    report: dict[str, Any]
    summary: pd.DataFrame
    results: pd.DataFrame
    compounds: pd.DataFrame
    gaps: gpd.GeoDataFrame
    circles: gpd.GeoDataFrame


def inputs_used(inputs: CoverageInputs) -> dict[str, Any]:
    """The version counter and feature count of each input layer, the facility ids, and what
    the homes' count holds (``homes``: :meth:`~gridmap.households.HomeOrigins.record`)."""
    names = [f.name for f in dataclasses.fields(inputs) if f.name != "versions"]
    used: dict[str, Any] = {
        name: {"version": inputs.versions.get(name, 0), "features": len(frame)}
        for name in names
        if (frame := getattr(inputs, name)) is not None
    }
    used["facility_ids"] = sorted(int(i) for i in inputs.facilities.index)
    used["homes"] = home_origins(inputs.buildings, inputs.compounds).record()
    return used


def save_run(
    engine: Engine,
    result: CoverageResult,
    inputs: CoverageInputs | dict[str, Any],
    *,
    user: str = "system",
    label: str | None = None,
) -> int:
    """Store a run with its parameters, what it read (the inputs, or what :func:`inputs_used`
    says of them: layer versions and counts, the homes' count) and all results."""
    from gridmap.coverage import long_results

    used = inputs if isinstance(inputs, dict) else inputs_used(inputs)
    with write_transaction(engine) as conn:
        run_id = _insert_run(conn, result.params, used, result.checklist_version, user, label)
        _insert_results(conn, run_id, long_results(result))
        _insert_figures(conn, run_id, result)
    return run_id


def start_run(
    engine: Engine,
    params: CoverageParams,
    used: dict[str, Any],
    checklist_version: int,
    *,
    user: str = "system",
    label: str | None = None,
) -> int:
    """Open a run whose results come in parts (:func:`save_walks`, then
    :func:`finish_run`): it is listed at once, its method ``running`` until it ends, and the
    results of its homes can be read as each part arrives."""
    with write_transaction(engine) as conn:
        return _insert_run(conn, params, used, checklist_version, user, label)


def save_walks(
    engine: Engine, run_id: int, walks: HomeWalks, thresholds: dict[tuple[str, int], float]
) -> None:
    """Add the results of some of a run's homes, from their walks (metres within
    ``thresholds`` count as covered)."""
    from gridmap.coverage import pair_rows

    rows = pair_rows(walks.homes, walks.distances, walks.nearest, thresholds)
    with write_transaction(engine) as conn:
        _insert_results(conn, run_id, rows)


def finish_run(engine: Engine, run_id: int, result: CoverageResult) -> None:
    """Close a run opened by :func:`start_run`: its summary, compound checks, gaps, circles,
    method and report (its homes' results are already in)."""
    with write_transaction(engine) as conn:
        _insert_figures(conn, run_id, result)


def fail_run(engine: Engine, run_id: int, error: BaseException) -> None:
    """Mark a run opened by :func:`start_run` as failed, with the error; the results of its
    homes that came in stay."""
    report = {"error": f"{type(error).__name__}: {error}"}
    with write_transaction(engine) as conn:
        conn.execute(
            update(coverage_runs)
            .where(coverage_runs.c.id == run_id)
            .values(method=FAILED, report=json.dumps(report))
        )


def stored_inputs_used(engine: Engine) -> dict[str, Any]:
    """Like :func:`inputs_used`, from the database without reading the layers' shapes."""
    counts, versions = layer_counts(engine), layer_versions_now(engine)
    used: dict[str, Any] = {
        name: {"version": versions.get(name, 0), "features": counts[name]} for name in INPUT_LAYERS
    }
    used["facility_ids"] = sorted(int(i) for i in read_layer(engine, "facilities", columns=[]).index)
    used["homes"] = stored_home_origins(engine).record()
    return used


def _insert_run(conn, params: CoverageParams, used: dict[str, Any], checklist_version: int, user: str,
                label: str | None) -> int:  # fmt: skip
    """A new run, ``running`` until its figures are written."""
    run_id = conn.execute(
        insert(coverage_runs)
        .values(
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            created_by=user,
            label=label,
            method=RUNNING,
            checklist_version=checklist_version,
            params=json.dumps(params_record(params), ensure_ascii=False),
            inputs=json.dumps(used),
            report=json.dumps({}),
        )
        .returning(coverage_runs.c.id)
    ).scalar_one()
    return int(run_id)


def _insert_results(conn, run_id: int, rows: pd.DataFrame) -> None:
    result_cols = ["home_kind", "feature_id", "households", "residents", "category", "level"]
    result_cols += ["distance_m", "facility_id", "covered"]
    insert_frame(conn, coverage_results, rows, result_cols, run_id=run_id)


def _insert_figures(conn, run_id: int, result: CoverageResult) -> None:
    """The figures of a run, the circles last (they may still be being drawn: written after
    all else, they are waited for last) and then its report, which says how long they took."""
    summary_cols = [c.name for c in coverage_summary.c if c.name not in ("id", "run_id")]
    insert_frame(conn, coverage_summary, result.summary, summary_cols, run_id=run_id)
    if len(result.compounds):
        cols = ["compound_id", "check", "level", "passes", "missing"]
        insert_frame(conn, coverage_compounds, result.compounds, cols, run_id=run_id)
    gap_cols = ["category", "level", "homes", "households", "residents"]
    insert_frame(conn, coverage_gaps, result.gaps, gap_cols, "MULTIPOLYGON", run_id=run_id)
    circle_cols = ["category", "level", "facility_id", "limit_m"]
    insert_frame(conn, coverage_circles, result.circles, circle_cols, "MULTIPOLYGON", run_id=run_id)
    conn.execute(
        update(coverage_runs)
        .where(coverage_runs.c.id == run_id)
        .values(
            method=result.method, report=json.dumps(result.report, ensure_ascii=False, default=plain_value)
        )
    )


def read_run(engine: Engine, run_id: int) -> StoredRun:
    """Read a stored run back whole; NotFoundError when there is no such run."""
    with engine.connect() as conn:
        row = (
            conn.execute(select(coverage_runs).where(coverage_runs.c.id == run_id)).mappings().first()
            if INT_RANGE[0] <= run_id <= INT_RANGE[1]  # past it the driver fails: there is none
            else None
        )
        if row is None:
            raise not_kept(coverage_runs, run_id)
        return StoredRun(
            id=row["id"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            label=row["label"],
            method=row["method"],
            checklist_version=row["checklist_version"],
            params=json.loads(row["params"]),
            inputs=json.loads(row["inputs"]),
            report=json.loads(row["report"]),
            summary=read_rows(conn, coverage_summary, "run_id", run_id),
            results=read_rows(conn, coverage_results, "run_id", run_id),
            compounds=read_rows(conn, coverage_compounds, "run_id", run_id),
            gaps=read_rows(conn, coverage_gaps, "run_id", run_id),
            circles=read_rows(conn, coverage_circles, "run_id", run_id),
        )


def list_runs(engine: Engine) -> pd.DataFrame:
    """Every stored run, newest first: id, when, who, label, method, its parameters, and the
    residents its homes counted with the share of them estimated (missing for runs kept
    before that was recorded)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                coverage_runs.c.id,
                coverage_runs.c.created_at,
                coverage_runs.c.created_by,
                coverage_runs.c.label,
                coverage_runs.c.method,
                coverage_runs.c.params,
                coverage_runs.c.inputs,
            ).order_by(coverage_runs.c.id.desc())
        ).all()
    frame = pd.DataFrame(
        rows, columns=["id", "created_at", "created_by", "label", "method", "params", "inputs"]
    )
    params = frame.pop("params").map(json.loads)
    frame["levels"] = params.map(lambda p: ",".join(str(v) for v in p["levels"]))
    frame["speed_mps"] = params.map(lambda p: p["speed_mps"])
    frame["origin"] = params.map(lambda p: p["origin"])
    return with_homes_counted(frame)


def with_homes_counted(frame: pd.DataFrame) -> pd.DataFrame:
    """Kept runs or scenarios (their ``inputs`` as stored JSON) with the residents each counted
    and the share of them estimated (missing where kept before that was recorded) in place
    of their inputs."""
    homes = [
        None if record is None else HomeOrigins.from_record(record)
        for record in frame.pop("inputs").map(lambda text: json.loads(text).get("homes"))
    ]
    frame["residents"] = pd.array([None if h is None else h.total_residents for h in homes], dtype="Int64")
    frame["estimated"] = [None if h is None else h.share(ESTIMATE) for h in homes]
    return frame


#: what a kept run or scenario is called, and the command that lists them
_KEPT = {"coverage_runs": ("coverage run", "gridmap coverage runs"),
         "siting_scenarios": ("siting scenario", "gridmap site scenarios")}  # fmt: skip


def not_kept(table: Table, kept_id: int) -> NotFoundError:
    """The error of a number that names no kept run or scenario (of ``table``)."""
    what, lists = _KEPT[table.name]
    return NotFoundError(f"there is no {what} {kept_id}; '{lists}' lists them")


def kept_homes(engine: Engine, kept_id: int, table: Table = coverage_runs) -> HomeOrigins | None:
    """What the homes' count of a kept run (or, with ``table``, scenario) held, read alone:
    None for one kept before it was recorded; NotFoundError when there is no such one."""
    inputs = None
    if INT_RANGE[0] <= kept_id <= INT_RANGE[1]:  # past it the driver fails: there is none
        with engine.connect() as conn:
            inputs = conn.execute(select(table.c.inputs).where(table.c.id == kept_id)).scalar()
    if inputs is None:
        raise not_kept(table, kept_id)
    record = json.loads(inputs).get("homes")
    return None if record is None else HomeOrigins.from_record(record)


def compare_runs(engine: Engine, before: int, after: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare two runs: whole-area coverage per (category, level) before and after, and the
    homes whose status changed (``newly_covered`` True or False)."""
    a, b = read_run(engine, before), read_run(engine, after)
    keys = ["category", "level"]
    cols = ["households", "households_covered", "residents", "residents_covered", "share_residents"]
    sa = a.summary[a.summary["scope"] == "area"][keys + cols]
    sb = b.summary[b.summary["scope"] == "area"][keys + cols]
    table = sa.merge(sb, on=keys, how="outer", suffixes=("_before", "_after"))
    table["residents_gained"] = table["residents_covered_after"].fillna(0) - table[
        "residents_covered_before"
    ].fillna(0)
    table["households_gained"] = table["households_covered_after"].fillna(0) - table[
        "households_covered_before"
    ].fillna(0)
    table.insert(1, "category_zh", table["category"].map(CATEGORY_NAMES_ZH))
    home = ["home_kind", "feature_id", *keys]
    ra = a.results[[*home, "covered", "households", "residents"]]
    rb = b.results[[*home, "covered"]]
    joined = ra.merge(rb, on=home, suffixes=("_before", "_after"))
    changed = joined[joined["covered_before"] != joined["covered_after"]].copy()
    changed["newly_covered"] = changed["covered_after"].astype(bool)
    changed = changed.drop(columns=["covered_before", "covered_after"]).reset_index(drop=True)
    return table.sort_values(keys).reset_index(drop=True), changed
