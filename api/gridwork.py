"""Grid map integrity and party-building figures over HTTP: the findings of ``gridmap
validate``, the organisation report with what is missing (and a map layer of it), how two
grid networks align, and a proposed drawing of a community's grids.

The organisation figures are aggregates and open to every reader; what is missing, leaders'
loads, skills, findings, alignment and drawings are for planners and admins.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

import pandas as pd
import shapely
import shapely.geometry
from fastapi import APIRouter, Depends, Query, Response

from api.auth import CurrentUser, State, require
from api.features import check_edit
from api.geojson import frame_collection, records
from api.pool import on_heavy_pool
from api.schemas import Alignment, AnswerRoute, Day, GridRedrawBody
from api.schemas import OrgReport as OrgReportAnswer
from gridmap.errors import InputError, NotFoundError, Problem
from gridmap.io.export import write_workbook
from gridmap.organisation import ORG_LAYERS, OrgReport, ReportOptions, figures_by_unit, organisation_report
from gridmap.scope import may
from gridmap.topology import CHECKED_LAYERS, MAX_TOLERANCE_M, Tolerances, check_grid_map, grid_alignment

router = APIRouter(tags=["grid map and organisation"], route_class=AnswerRoute)

GEOJSON = "application/geo+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(app: State, options: ReportOptions | None = None) -> OrgReport:
    options = options or ReportOptions()
    return app.layers.derived(("org report", options), ORG_LAYERS, lambda f: organisation_report(f, options))


def report_options(
    on: Annotated[Day | None, Query(description="figures as on this day (default: today's terms)")] = None,
    base: Annotated[
        Literal["all", "property", "households"],
        Query(
            description="the compounds branch coverage counts: all, with a property company, of N+ households"
        ),
    ] = "all",
    min_households: Annotated[
        int | None, Query(ge=0, le=100_000, description="base=households: at least this many households")
    ] = None,
) -> ReportOptions:
    if min_households is not None and base != "households":
        raise InputError([Problem("min_households goes with base=households", field="min_households")])
    return ReportOptions(on=on, base=base, min_households=min_households or 0)


Options = Annotated[ReportOptions, Depends(report_options)]
Scope = Literal["area", "district", "street", "community", "grid"]


@router.get(
    "/org/report",
    response_model=OrgReportAnswer,
    summary="party-building figures for the whole area and per district, street, community and grid",
)
def org_report(
    app: State,
    user: CurrentUser,
    options: Options,
    scope: Annotated[
        Scope | None, Query(description="area, district, street, community or grid (default: all)")
    ] = None,
    missing: Annotated[
        bool, Query(description="list what is missing (planners, admins; it can be long)")
    ] = True,
) -> dict:
    report = _report(app, options)
    figures = report.figures if scope is None else report.figures[report.figures["scope"] == scope]
    reader = may(user.role, "organisation_details")
    if not reader or not missing:  # the public sees the counts and shares, not which features lack what
        figures = figures.drop(columns=["missing"])
    out = {
        "on": options.on,
        "base": options.base,
        "figures": records(figures),
        "labels": {
            k: {"zh": zh, "short": short, "what": what} for k, (zh, short, what) in report.labels.items()
        },
        "missing_layers": sorted(report.missing),
    }
    if reader and missing:
        out["leader_load"] = records(report.leader_load)
        out["skills"] = records(report.skills)
    return out


@router.get(
    "/org/report.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the report as a spreadsheet"}},
    summary="the party-building report as a spreadsheet: every figure, a table per unit, what is missing",
)
def org_report_workbook(
    app: State,
    user: CurrentUser,
    options: Options,
    by: Annotated[Scope, Query(description="the units of the table sheet")] = "community",
) -> Response:
    require(user, "organisation_details", what="the party-building report with what is missing")
    report = _report(app, options)
    frames = {"figures": report.figures, f"by {by}": figures_by_unit(report, by),
              "leader load": report.leader_load, "skills": report.skills}  # fmt: skip
    frames |= {
        f"missing {k}": v.reset_index(drop="id" in v.columns, names="id") for k, v in report.missing.items()
    }
    book = io.BytesIO()
    write_workbook(frames, book)
    name = f"org-report-{options.on or 'today'}-by-{by}.xlsx"
    return Response(book.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/org/missing/{figure}", summary="a map layer of the features that lack a figure (GeoJSON)")
def org_missing(app: State, user: CurrentUser, figure: str, options: Options) -> Response:
    require(user, "organisation_details", what="which features lack a party-building figure")
    report = _report(app, options)
    if figure not in report.labels:
        raise NotFoundError(f"there is no figure {figure!r}; figures: {', '.join(report.labels)}")
    if figure not in report.missing:
        raise NotFoundError(f"figure {figure!r} has no map layer; its missing ids are in /org/report")
    frame = report.missing[figure]
    columns = [c for c in ("code", "name", "community_id", "households") if c in frame.columns]
    return Response(frame_collection(frame, columns, figure=figure), media_type=GEOJSON)


@router.get(
    "/grid-map/findings", summary="integrity findings of the grid map, as `gridmap validate` (GeoJSON)"
)
@on_heavy_pool
def findings(
    app: State,
    user: CurrentUser,
    severity: Annotated[
        Literal["error", "warning"] | None, Query(description="error or warning (default: both)")
    ] = None,
) -> Response:
    require(user, "grid_findings", what="the grid map's findings")
    tolerances = Tolerances.from_settings(app.settings)
    found = app.layers.derived(
        ("findings", tolerances), CHECKED_LAYERS, lambda f: check_grid_map(f, tolerances)
    )
    if severity is not None:
        if severity not in ("error", "warning"):
            raise InputError(f"severity {severity!r}: expected error or warning")
        found = found[found["severity"] == severity]
    errors = int((found["severity"] == "error").sum())
    return Response(
        frame_collection(found.reset_index(drop=True), errors=errors, warnings=len(found) - errors),
        media_type=GEOJSON,
    )


@router.get("/grids/alignment", response_model=Alignment, summary="how two grid networks align (多网合一)")
@on_heavy_pool
def alignment(
    app: State,
    user: CurrentUser,
    a: Annotated[str, Query(description="a grid kind, e.g. party")],
    b: Annotated[str, Query(description="another grid kind, e.g. comprehensive")],
    tolerance_m: Annotated[
        float,
        Query(
            ge=0, le=MAX_TOLERANCE_M, allow_inf_nan=False, description="borders this close coincide (metres)"
        ),
    ] = 5.0,
) -> dict:
    require(user, "grid_alignment", what="grid alignment")
    layers = ("grids", "buildings")
    result = app.layers.derived(
        ("alignment", a, b, tolerance_m), layers,
        lambda f: grid_alignment(f["grids"], a, b, f["buildings"], tolerance_m=tolerance_m),
    )  # fmt: skip
    return {
        "boundary_m": {a: result.boundary_a_m, b: result.boundary_b_m},
        "shared_m": result.shared_m,
        "shared_share": {a: result.shared_share_a, b: result.shared_share_b},
        "grids": records(result.grids.drop(columns="geometry", errors="ignore")),
        "split_buildings": records(result.split_buildings.drop(columns="geometry", errors="ignore")),
    }


@router.get("/grids/proposal", summary="a proposed drawing of a community's grids, with lineage (GeoJSON)")
@on_heavy_pool
def grids_proposal(
    app: State,
    user: CurrentUser,
    community: Annotated[str, Query(description="the community's name or 12-digit code")],
    households_min: Annotated[
        int | None, Query(ge=1, le=100_000, description="households per grid, lower")
    ] = None,
    households_max: Annotated[
        int | None, Query(ge=1, le=100_000, description="households per grid, upper")
    ] = None,
    kind: Annotated[str, Query(max_length=30, description="the grid kind to draw")] = "comprehensive",
    level: Annotated[int, Query(ge=1, le=5, description="the grid level to draw")] = 1,
    fresh: Annotated[bool, Query(description="redraw every grid, not only unsound ones")] = False,
) -> Response:
    require(user, "grid_drawings", what="grid drawings")
    from gridmap.gridplan import community_named, grid_kind, propose_grids  # SciPy: not at start-up

    grid_kind(kind)
    lo = households_min or app.settings.grid_households_min
    hi = households_max or app.settings.grid_households_max
    names = ("communities", "grids", "buildings", "compounds", "roads")

    def draw(f):
        found = community_named(f["communities"], community)
        grids = f["grids"]
        existing = grids[
            (grids["community_id"] == int(found["id"].iloc[0]))
            & (grids["kind"] == kind)
            & (grids["level"] == level)
        ]
        return propose_grids(
            found, f["buildings"], compounds=f["compounds"], roads=f["roads"],
            existing=existing, households=(lo, hi), fresh=fresh, taken=grids["code"],
        )  # fmt: skip

    plan = app.layers.derived(("proposal", community, lo, hi, kind, level, fresh), names, draw)
    return Response(
        frame_collection(
            plan.grids,
            community=plan.community_code,
            households_range=list(plan.households_range),
            lineage=records(plan.lineage),
            retired=plan.retired,
            notes=plan.notes,
        ),
        media_type=GEOJSON,
    )


@router.post(
    "/grids/redraw",
    summary="split a grid along a line or merge neighbouring grids, keeping codes and lineage as "
    "`gridmap grids propose` does (GeoJSON of the plan; applied with apply=true)",
)
def grids_redraw(body: GridRedrawBody, app: State, user: CurrentUser) -> Response:
    require(user, "edit_features", what="redrawing grids")
    from gridmap.gridplan import redraw_grids  # SciPy: not at start-up
    from gridmap.store.gridplans import apply_grid_plan

    if bool(body.split) == bool(body.merge):
        raise InputError(
            [Problem("name one grid to split (with a line) or the grids to merge", field="split")]
        )
    grids = app.layers.frame("grids")
    named = [body.split] if body.split else list(body.merge)
    chosen = grids[grids["code"].isin(named)]
    if len(chosen) != len(set(named)):
        raise NotFoundError(f"no grid has the code(s) {', '.join(sorted(set(named) - set(chosen['code'])))}")
    for gid in chosen.index:
        check_edit(app, user, "grids", stored_id=int(gid))
    first = chosen.iloc[0]
    same = (grids["community_id"] == first["community_id"]) & (
        grids["kind"].fillna("") == (first["kind"] or "")
    )
    same &= grids["level"].fillna(1) == (first["level"] if pd.notna(first["level"]) else 1)
    if (chosen["community_id"] != first["community_id"]).any():
        raise InputError([Problem("grids of different communities do not merge", field="merge")])
    communities = app.layers.frame("communities")
    community = communities.loc[[int(first["community_id"])]]
    line = None
    if body.split:
        if body.line is None or body.line.type != "LineString":
            raise InputError([Problem("a split needs a LineString across the grid", field="line")])
        line = shapely.geometry.shape(body.line.model_dump())
    plan = redraw_grids(community, app.layers.frame("buildings"), grids[same],
                        split=(body.split, line) if body.split else None, merge=tuple(body.merge),
                        households=(app.settings.grid_households_min, app.settings.grid_households_max),
                        taken=grids["code"])  # fmt: skip
    applied = None
    if body.apply:
        done = apply_grid_plan(app.engine, plan, community_id=int(first["community_id"]), kind=first["kind"],
                               level=int(first["level"]) if pd.notna(first["level"]) else None, user=user.name,
                               end_terms=body.end_terms)  # fmt: skip
        applied = {"kept": done.kept, "added": done.added, "retired": done.retired, "ended_terms": done.ended_terms,
                   "accounts": done.accounts}  # fmt: skip
    body_text = frame_collection(plan.grids, community=plan.community_code,
                                 households_range=list(plan.households_range), lineage=records(plan.lineage),
                                 retired=plan.retired, notes=plan.notes, applied=applied)  # fmt: skip
    return Response(body_text, media_type=GEOJSON)
