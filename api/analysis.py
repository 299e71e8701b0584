"""Coverage runs and siting scenarios over HTTP: start one in the background, poll it, read
summaries by area, community, street and grid, and get gaps, circles and proposals as GeoJSON
(tiles of them are in :mod:`api.tiles`)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select

from api.auth import CurrentUser, State, require
from api.geojson import GEOJSON, frame_collection, records
from api.jobs import Job
from api.schemas import (
    AnswerRoute,
    CompoundCheck,
    CoverageRequest,
    JobStatus,
    Run,
    RunListed,
    Scenario,
    ScenarioListed,
    SitingRequest,
    SummaryRow,
)
from gridmap.errors import InputError, NotFoundError
from gridmap.households import HomeOrigins
from gridmap.model import INT_RANGE
from gridmap.scope import PUBLIC_SUMMARY_SCOPES, analysis_ids, may
from gridmap.standards import load_checklist
from gridmap.store.engine import reading
from gridmap.store.runs import StoredRun, list_runs, read_run, save_run
from gridmap.store.scenarios import StoredScenario, list_scenarios, read_scenario, save_scenario
from gridmap.store.tables import coverage_runs, siting_scenarios
from gridmap.walking import walk_minutes

router = APIRouter(tags=["coverage and siting"], route_class=AnswerRoute)
#: the areas of a coverage summary (gridmap.model.SUMMARY_SCOPES)
Scope = Literal["area", "street", "community", "grid"]
CategoryQuery = Annotated[str | None, Query(max_length=50, description="a service category id")]
LevelQuery = Annotated[int | None, Query(ge=1, le=60, description="a life-circle level (5, 10, 15)")]
#: a run or scenario by number, or the newest
KEPT_REF = r"^(latest|[0-9]{1,18})$"
RunRef = Annotated[str, Path(pattern=KEPT_REF, description="a number, or 'latest'")]


#: what the kept tables hold: (short name, full name)
_KEPT_NAMES = {
    coverage_runs.name: ("run", "coverage run"),
    siting_scenarios.name: ("scenario", "siting scenario"),
}


def _kept_id(app, text: str, table) -> int:
    """The id of a kept run or scenario (``table``) from its number or ``latest``."""
    noun, what = _KEPT_NAMES[table.name]
    if text == "latest":
        with reading(app.engine) as conn:  # one statement
            value = conn.execute(select(func.max(table.c.id))).scalar_one_or_none()
        if value is None:
            raise NotFoundError(f"there is no {what} yet; start one with POST")
        return int(value)
    if not (text.isascii() and text.isdigit()):
        raise InputError(f"{noun} '{text[:40]}' is neither a {noun} number nor 'latest'")
    if int(text) > INT_RANGE[1]:
        raise NotFoundError(f"there is no {what} {text[:40]}")
    return int(text)


def stored_run(app, run: str) -> StoredRun:
    """A kept run (runs never change, so they are cached by id)."""
    run_id = _kept_id(app, run, coverage_runs)
    return app.kept.get_or(("run", run_id), lambda: read_run(app.engine, run_id))


def stored_scenario(app, scenario: str) -> StoredScenario:
    """A kept scenario by number or ``latest`` (cached by id, as runs are)."""
    scenario_id = _kept_id(app, scenario, siting_scenarios)
    return app.kept.get_or(("scenario", scenario_id), lambda: read_scenario(app.engine, scenario_id))


def select_rows(frame: pd.DataFrame, category: str | None, level: int | None) -> pd.DataFrame:
    if category is not None:
        frame = frame[frame["category"] == category]
    if level is not None:
        frame = frame[frame["level"] == level]
    return frame


def home_minutes(kept: StoredRun, category: str, level: int) -> pd.DataFrame:
    """Per building of a run: walking minutes to the nearest facility and whether covered."""
    res = kept.results
    res = res[(res["home_kind"] == "building") & (res["category"] == category) & (res["level"] == level)]
    if len(res) == 0:
        raise NotFoundError(f"run {kept.id} has no results for {category} at the {level}-minute level")
    speed = float(kept.params["speed_mps"])  # every run keeps the speed it walked at
    return pd.DataFrame(
        {
            "minutes": walk_minutes(res["distance_m"], speed).round(1).to_numpy(),
            "covered": res["covered"].astype(bool).to_numpy(),
            "facility_id": res["facility_id"].to_numpy(),
        },
        index=res["feature_id"].astype(int).to_numpy(),
    )


# --- runs ----------------------------------------------------------------------------------


def _created(request: Request, job: Job) -> Response:
    body = job.public()
    body["links"] = [{"rel": "status", "href": str(request.url_for("job", job_id=job.id))}]
    return Response(
        json.dumps(body, ensure_ascii=False),
        202,
        {"Location": body["links"][0]["href"]},
        media_type="application/json",
    )


@router.post("/coverage/runs", status_code=202, summary="start a coverage run (planner, admin)")
def start_run(body: CoverageRequest, request: Request, app: State, user: CurrentUser) -> Response:
    require(user, "runs", what="starting a coverage run")
    from gridmap.coverage import CoverageParams, compute_coverage  # SciPy: not at start-up
    from gridmap.store.inputs import load_inputs

    params = CoverageParams.from_settings(
        app.settings,
        levels=tuple(sorted(set(body.levels))) if body.levels else None,
        categories=tuple(dict.fromkeys(body.categories)) if body.categories else None,
        speed_mps=body.speed_mps,
        origin=body.origin,
    )
    params.check(load_checklist())  # refuse bad parameters now, not in the job

    def work(job: Job) -> dict[str, Any]:
        inputs = load_inputs(app.engine)
        result = compute_coverage(inputs, params, progress=job.progress)
        run_id = save_run(app.engine, result, inputs, user=user.name, label=body.label)
        return {"run_id": run_id, "homes": len(result.homes)}

    return _created(request, app.jobs.start("coverage", user.name, work))


@router.get("/jobs/{job_id}", name="job", response_model=JobStatus, summary="how far a background job got")
def job(job_id: str, app: State, user: CurrentUser) -> dict:
    found = app.jobs.get(job_id)
    if found is None or (found.created_by != user.name and not user.is_admin):
        raise NotFoundError(f"there is no job {job_id} of yours")
    return found.public()


@router.get("/coverage/runs", response_model=list[RunListed], summary="the kept coverage runs, newest first")
def runs(app: State, user: CurrentUser) -> list[dict]:
    return records(list_runs(app.engine))


@router.get(
    "/coverage/runs/{run}",
    response_model=Run,
    summary="a run's parameters, inputs and report ('latest' for the newest)",
)
def run(run: RunRef, app: State, user: CurrentUser) -> dict:
    kept = stored_run(app, run)
    return {
        **_kept(kept),
        "method": kept.method,
        "checklist_version": kept.checklist_version,
        "params": kept.params,
        "inputs": {k: v for k, v in kept.inputs.items() if k not in ("facility_ids", "homes")},
        "report": kept.report if may(user.role, "runs") else None,
    }


@router.get(
    "/coverage/runs/{run}/summary",
    response_model=list[SummaryRow],
    summary="coverage shares by area, street, community or grid",
)
def summary(
    run: RunRef,
    app: State,
    user: CurrentUser,
    scope: Annotated[Scope, Query(description="area, street, community or grid")] = "community",
    category: CategoryQuery = None,
    level: LevelQuery = None,
) -> list[dict]:
    if scope not in PUBLIC_SUMMARY_SCOPES:
        require(user, "grid_summaries", what="coverage by grid")
    rows = select_rows(stored_run(app, run).summary, category, level)
    rows = rows[rows["scope"] == scope]
    keep = analysis_ids("grid_summaries", user.role, app.layers.area(user)) if scope == "grid" else None
    if keep is not None:
        rows = rows[rows["unit_id"].isin(keep)]
    return records(rows.drop(columns=["id", "run_id"], errors="ignore"))


@router.get(
    "/coverage/runs/{run}/compounds",
    response_model=list[CompoundCheck],
    summary="each compound's pass or fail against the checklist",
)
def compounds(run: RunRef, app: State, user: CurrentUser) -> list[dict]:
    require(user, "compound_checks", what="compound checks")
    rows = stored_run(app, run).compounds
    keep = analysis_ids("compound_checks", user.role, app.layers.area(user))
    if keep is not None:
        rows = rows[rows["compound_id"].isin(keep)]
    return records(rows.drop(columns=["id", "run_id"], errors="ignore"))


def _shapes(frame: pd.DataFrame, category: str | None, level: int | None) -> Response:
    chosen = select_rows(frame, category, level)
    columns = [c for c in chosen.columns if c not in ("id", "geometry")]
    return Response(frame_collection(chosen, columns, numberReturned=len(chosen)), media_type=GEOJSON)


@router.get(
    "/coverage/runs/{run}/gaps", summary="service gaps with their residents, as GeoJSON (planner, admin)"
)
def gaps(
    run: RunRef, app: State, user: CurrentUser, category: CategoryQuery = None, level: LevelQuery = None
) -> Response:
    require(user, "gaps", what="service gaps")
    return _shapes(stored_run(app, run).gaps, category, level)


@router.get(
    "/coverage/runs/{run}/circles", summary="service circles per facility, as GeoJSON (planner, admin)"
)
def circles(
    run: RunRef, app: State, user: CurrentUser, category: CategoryQuery = None, level: LevelQuery = None
) -> Response:
    require(user, "circles", what="service circles")
    return _shapes(stored_run(app, run).circles, category, level)


# --- siting ----------------------------------------------------------------------------------


@router.post(
    "/siting/scenarios", status_code=202, summary="propose new stations in the background (planner, admin)"
)
def start_scenario(body: SitingRequest, request: Request, app: State, user: CurrentUser) -> Response:
    require(user, "proposals", what="siting proposals")
    from gridmap.siting.candidates import CandidateRules  # SciPy, HiGHS: not at start-up
    from gridmap.siting.proposal import SitingParams, propose_sites
    from gridmap.store.inputs import load_inputs

    rules = {k: v for k, v in {"sources": tuple(body.sources) if body.sources else None,
                               "grids": tuple(body.grids) if body.grids else None,
                               "min_spacing_m": body.min_spacing_m}.items() if v is not None}  # fmt: skip
    params = SitingParams.from_settings(
        app.settings,
        categories=tuple(dict.fromkeys(body.categories)),
        model=body.model,
        count=body.count,
        minutes=body.minutes,
        levels=tuple(sorted(set(body.levels))) if body.levels else None,
        share=body.share,
        capacity=body.capacity,
        rules=CandidateRules(**rules),
    )
    params.check(load_checklist())

    def work(job: Job) -> dict[str, Any]:
        job.progress("reading layers", 0, 3)
        inputs = load_inputs(app.engine)
        job.progress("building the network and solving", 1, 3)
        proposal = propose_sites(inputs, params)
        job.progress("storing the scenario", 2, 3)
        scenario_id = save_scenario(app.engine, proposal, inputs, user=user.name, label=body.label)
        job.progress("done", 3, 3)
        return {"scenario_id": scenario_id, "sites": len(proposal.sites), "status": proposal.solution.status}

    return _created(request, app.jobs.start("siting", user.name, work))


@router.get(
    "/siting/scenarios",
    response_model=list[ScenarioListed],
    summary="the kept siting scenarios, newest first (planner, admin)",
)
def scenarios(app: State, user: CurrentUser) -> list[dict]:
    require(user, "proposals", what="siting scenarios")
    return records(list_scenarios(app.engine))


@router.get(
    "/siting/scenarios/{scenario}",
    response_model=Scenario,
    summary="a scenario: parameters, solver result, coverage before and after",
)
def scenario(scenario: RunRef, app: State, user: CurrentUser, scope: Scope = "area") -> dict:
    require(user, "proposals", what="siting scenarios")
    kept = stored_scenario(app, scenario)
    coverage = kept.coverage[kept.coverage["scope"] == scope] if scope else kept.coverage
    return {
        **_kept(kept),
        "model": kept.model,
        "categories": kept.categories,
        "levels": kept.levels,
        "method": kept.method,
        "status": kept.status,
        "solver": kept.solver,
        "objective": kept.objective,
        "bound": kept.bound,
        "gap": kept.gap,
        "seconds": kept.seconds,
        "params": kept.params,
        "sites": records(kept.sites),
        "coverage": records(coverage.drop(columns=["id", "scenario_id"], errors="ignore")),
    }


def _kept(kept: StoredRun | StoredScenario) -> dict[str, Any]:
    """What a kept run or scenario says of itself (:class:`~api.schemas.Kept`)."""
    said = {"id": kept.id, "created_at": kept.created_at.isoformat(), "created_by": kept.created_by,
            "label": kept.label}  # fmt: skip
    if "homes" in kept.inputs:
        origins = HomeOrigins.from_record(kept.inputs["homes"])
        said["homes"] = {**origins.record(), "said": origins.said(), "said_zh": origins.said_zh()}
    return said


@router.get(
    "/siting/scenarios/{scenario}/sites", summary="a scenario's proposed sites as GeoJSON (planner, admin)"
)
def sites(scenario: RunRef, app: State, user: CurrentUser) -> Response:
    require(user, "proposals", what="siting proposals")
    kept = stored_scenario(app, scenario)
    columns = [c for c in kept.sites.columns if c not in ("id", "geometry")]
    return Response(frame_collection(kept.sites, columns, numberReturned=len(kept.sites)), media_type=GEOJSON)
