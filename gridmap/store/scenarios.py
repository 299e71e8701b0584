"""Siting proposals kept as scenarios: parameters, the data used, the proposed sites, the homes
each newly brings into the circle, and coverage before and after.

A scenario is written in one transaction (:func:`save_scenario`), read back whole
(:func:`read_scenario`), listed (:func:`list_scenarios`) and compared with another
(:func:`compare_scenarios`), e.g. three sites by MCLP against the fewest sites by LSCP.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, insert, select

from gridmap.crs import metric_crs_for
from gridmap.model import CATEGORY_NAMES_ZH, INT_RANGE
from gridmap.store.engine import write_transaction
from gridmap.store.records import insert_frame, read_rows
from gridmap.store.runs import inputs_used, not_kept, with_homes_counted
from gridmap.store.tables import siting_coverage, siting_scenarios, siting_site_homes, siting_sites
from gridmap.values import plain_value
from gridmap.walking import params_record

if TYPE_CHECKING:  # the analysis (SciPy, HiGHS) is loaded by what saves a scenario, not by what reads one
    from gridmap.siting.proposal import Proposal
    from gridmap.study_area import CoverageInputs

SITE_COLUMNS = [c.name for c in siting_sites.c if c.name not in ("id", "scenario_id", "geom")]
HOME_COLUMNS = [c.name for c in siting_site_homes.c if c.name not in ("id", "scenario_id")]
COVERAGE_COLUMNS = [c.name for c in siting_coverage.c if c.name not in ("id", "scenario_id")]


@dataclass
class StoredScenario:
    """A siting scenario as read back from the database."""

    id: int
    created_at: dt.datetime
    created_by: str
    label: str | None
    model: str
    categories: list[str]
    levels: list[int]
    method: str
    status: str
    solver: str
    objective: float
    bound: float
    gap: float
    seconds: float
    note: str | None
    params: dict[str, Any]
    inputs: dict[str, Any]
    report: dict[str, Any]
    sites: gpd.GeoDataFrame
    site_homes: pd.DataFrame
    coverage: pd.DataFrame


def save_scenario(
    engine: Engine,
    proposal: Proposal,
    inputs: CoverageInputs | dict[str, Any],
    *,
    user: str = "system",
    label: str | None = None,
) -> int:
    """Store a proposal as a scenario with the inputs it read (or what :func:`inputs_used`
    says of them); returns its id. Nothing is kept when a write fails."""
    sol = proposal.solution
    params = params_record(proposal.params)
    with write_transaction(engine) as conn:
        scenario_id = conn.execute(
            insert(siting_scenarios)
            .values(
                created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                created_by=user,
                label=label,
                model=sol.model,
                categories=",".join(proposal.params.categories),
                levels=",".join(str(v) for v in proposal.params.levels),
                method=proposal.method,
                status=sol.status,
                solver=sol.solver,
                objective=float(sol.objective),
                bound=float(sol.bound),
                gap=float(sol.gap),
                seconds=round(float(sol.seconds), 4),
                note=sol.note or None,
                params=json.dumps(params, ensure_ascii=False, default=plain_value),
                inputs=json.dumps(inputs if isinstance(inputs, dict) else inputs_used(inputs)),
                report=json.dumps(proposal.report, ensure_ascii=False, default=plain_value),
            )
            .returning(siting_scenarios.c.id)
        ).scalar_one()
        insert_frame(conn, siting_sites, proposal.sites, SITE_COLUMNS, "POINT", scenario_id=scenario_id)
        insert_frame(conn, siting_site_homes, proposal.site_homes, HOME_COLUMNS, scenario_id=scenario_id)
        insert_frame(conn, siting_coverage, proposal.coverage, COVERAGE_COLUMNS, scenario_id=scenario_id)
    return int(scenario_id)


def read_scenario(engine: Engine, scenario_id: int) -> StoredScenario:
    """Read a stored scenario back whole; NotFoundError when there is no such scenario."""
    with engine.connect() as conn:
        row = (
            conn.execute(select(siting_scenarios).where(siting_scenarios.c.id == scenario_id))
            .mappings()
            .first()
            if INT_RANGE[0] <= scenario_id <= INT_RANGE[1]  # past it the driver fails: there is none
            else None
        )
        if row is None:
            raise not_kept(siting_scenarios, scenario_id)
        return StoredScenario(
            id=row["id"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            label=row["label"],
            model=row["model"],
            categories=row["categories"].split(","),
            levels=[int(v) for v in row["levels"].split(",")],
            method=row["method"],
            status=row["status"],
            solver=row["solver"],
            objective=row["objective"],
            bound=row["bound"],
            gap=row["gap"],
            seconds=row["seconds"],
            note=row["note"],
            params=json.loads(row["params"]),
            inputs=json.loads(row["inputs"]),
            report=json.loads(row["report"]),
            sites=read_rows(conn, siting_sites, "scenario_id", scenario_id),
            site_homes=read_rows(conn, siting_site_homes, "scenario_id", scenario_id),
            coverage=read_rows(conn, siting_coverage, "scenario_id", scenario_id),
        )


def list_scenarios(engine: Engine) -> pd.DataFrame:
    """Every stored scenario, newest first, with the residents it counted and the share of
    them estimated."""
    t = siting_scenarios.c
    cols = [t.id, t.created_at, t.created_by, t.label, t.model, t.categories, t.levels, t.status, t.objective,
            t.inputs]  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(t.id.desc())).all()
        counts = conn.execute(select(siting_sites.c.scenario_id)).scalars().all()
    frame = pd.DataFrame(rows, columns=[c.name for c in cols])
    frame.insert(
        5, "sites", frame["id"].map(pd.Series(counts, dtype="int64").value_counts()).fillna(0).astype(int)
    )
    return with_homes_counted(frame)


def compare_scenarios(engine: Engine, first: int, second: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare two scenarios: whole-area coverage per (category, level) after each, with the
    sites each needs; and each site of the first with the nearest site of the second (metres)."""
    a, b = read_scenario(engine, first), read_scenario(engine, second)
    keys = ["category", "level"]
    cols = ["residents", "residents_covered_before", "share_residents_before"]
    cols += ["residents_covered_after", "share_residents_after"]
    ca = a.coverage[a.coverage["scope"] == "area"][keys + cols]
    cb = b.coverage[b.coverage["scope"] == "area"][
        [*keys, "residents_covered_after", "share_residents_after"]
    ]
    table = ca.merge(cb, on=keys, how="outer", suffixes=(f"_{first}", f"_{second}"))
    table.insert(1, "category_zh", table["category"].map(CATEGORY_NAMES_ZH))
    table[f"sites_{first}"] = len(a.sites)
    table[f"sites_{second}"] = len(b.sites)
    table["residents_difference"] = table[f"residents_covered_after_{second}"].fillna(0) - table[
        f"residents_covered_after_{first}"
    ].fillna(0)
    sites = pd.DataFrame(
        {
            "rank": a.sites["rank"].to_numpy() if len(a.sites) else [],
            "residents_new": a.sites["residents_new"].to_numpy() if len(a.sites) else [],
        }
    )
    if len(a.sites) and len(b.sites):
        metric = metric_crs_for(a.sites)
        pa = shapely.get_coordinates(a.sites.geometry.to_crs(metric).values)
        pb = shapely.get_coordinates(b.sites.geometry.to_crs(metric).values)
        d = np.linalg.norm(pa[:, None, :] - pb[None, :, :], axis=2)
        nearest = d.argmin(axis=1)
        sites[f"nearest_rank_in_{second}"] = b.sites["rank"].to_numpy()[nearest]
        sites["apart_m"] = np.round(d[np.arange(len(pa)), nearest], 1)
    return table.sort_values(keys).reset_index(drop=True), sites
