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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select

from gridmap.coverage import CoverageInputs, CoverageResult, long_results
from gridmap.errors import NotFoundError
from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.store.layers import add_wkb, insert_values, with_geometry, wkb_select
from gridmap.store.tables import (
    GEOMETRY_COLUMN,
    coverage_circles,
    coverage_compounds,
    coverage_gaps,
    coverage_results,
    coverage_runs,
    coverage_summary,
)


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


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _rows(frame: pd.DataFrame, columns: list[str], run_id: int) -> list[dict[str, Any]]:
    values = [frame[c].tolist() for c in columns]
    return [
        {"run_id": run_id, **{c: _plain(v[i]) for c, v in zip(columns, values, strict=True)}}
        for i in range(len(frame))
    ]


def _insert_shapes(conn, table, frame: gpd.GeoDataFrame, columns: list[str], run_id: int) -> None:
    if len(frame) == 0:
        return
    rows = _rows(frame, columns, run_id)
    add_wkb(rows, frame.geometry.values, "MULTIPOLYGON")
    conn.execute(insert(table).values(insert_values(["run_id", *columns], spatial=True)), rows)


def save_run(
    engine: Engine,
    result: CoverageResult,
    inputs: CoverageInputs,
    *,
    user: str = "system",
    label: str | None = None,
) -> int:
    """Store a run with its parameters, input layer versions and counts, and all results."""
    params = dataclasses.asdict(result.params)
    used = {
        name: {"version": inputs.versions.get(name, 0), "features": len(frame)}
        for name in (
            "buildings",
            "facilities",
            "roads",
            "compounds",
            "entrances",
            "communities",
            "grids",
            "streets",
        )
        if (frame := getattr(inputs, name)) is not None
    }
    used["facility_ids"] = sorted(int(i) for i in inputs.facilities.index)
    results = long_results(result)
    results = results.merge(
        result.homes[["kind", "feature_id", "households", "residents"]].rename(columns={"kind": "home_kind"}),
        on=["home_kind", "feature_id"],
        how="left",
    )
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(coverage_runs)
            .values(
                created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                created_by=user,
                label=label,
                method=result.method,
                checklist_version=result.checklist_version,
                params=json.dumps(params, ensure_ascii=False),
                inputs=json.dumps(used),
                report=json.dumps(result.report, ensure_ascii=False, default=_plain),
            )
            .returning(coverage_runs.c.id)
        ).scalar_one()
        result_cols = ["home_kind", "feature_id", "households", "residents", "category", "level"]
        result_cols += ["distance_m", "facility_id", "covered"]
        conn.execute(insert(coverage_results), _rows(results, result_cols, run_id))
        summary_cols = [c.name for c in coverage_summary.c if c.name not in ("id", "run_id")]
        conn.execute(insert(coverage_summary), _rows(result.summary, summary_cols, run_id))
        if len(result.compounds):
            cols = ["compound_id", "check", "level", "passes", "missing"]
            conn.execute(insert(coverage_compounds), _rows(result.compounds, cols, run_id))
        _insert_shapes(
            conn,
            coverage_gaps,
            result.gaps,
            ["category", "level", "homes", "households", "residents"],
            run_id,
        )
        _insert_shapes(
            conn, coverage_circles, result.circles, ["category", "level", "facility_id", "limit_m"], run_id
        )
    return int(run_id)


def _frame(conn, table, run_id: int) -> pd.DataFrame:
    cols = [c for c in table.c if c.name not in ("id", "run_id", GEOMETRY_COLUMN)]
    spatial = GEOMETRY_COLUMN in table.c
    if spatial:
        cols.append(wkb_select(table))
    result = conn.execute(select(*cols).where(table.c.run_id == run_id).order_by(table.c.id))
    frame = pd.DataFrame.from_records(result.all(), columns=list(result.keys()))
    if spatial:
        frame = with_geometry(frame)
    if "category" in frame.columns:
        frame.insert(
            frame.columns.get_loc("category") + 1, "category_zh", frame["category"].map(CATEGORY_NAMES_ZH)
        )
    return frame


def read_run(engine: Engine, run_id: int) -> StoredRun:
    """Read a stored run back whole; NotFoundError when there is no such run."""
    with engine.connect() as conn:
        row = conn.execute(select(coverage_runs).where(coverage_runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"there is no coverage run {run_id}; 'gridmap coverage runs' lists them")
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
            summary=_frame(conn, coverage_summary, run_id),
            results=_frame(conn, coverage_results, run_id),
            compounds=_frame(conn, coverage_compounds, run_id),
            gaps=_frame(conn, coverage_gaps, run_id),
            circles=_frame(conn, coverage_circles, run_id),
        )


def list_runs(engine: Engine) -> pd.DataFrame:
    """Every stored run, newest first: id, when, who, label, method, homes."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                coverage_runs.c.id,
                coverage_runs.c.created_at,
                coverage_runs.c.created_by,
                coverage_runs.c.label,
                coverage_runs.c.method,
                coverage_runs.c.params,
            ).order_by(coverage_runs.c.id.desc())
        ).all()
    frame = pd.DataFrame(rows, columns=["id", "created_at", "created_by", "label", "method", "params"])
    params = frame.pop("params").map(json.loads)
    frame["levels"] = params.map(lambda p: ",".join(str(v) for v in p["levels"]))
    frame["speed_mps"] = params.map(lambda p: p["speed_mps"])
    frame["origin"] = params.map(lambda p: p["origin"])
    return frame


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
