"""Grid map integrity and party-building figures over HTTP: the findings of ``gridmap
validate``, the organisation report with what is missing (and a map layer of it), how two
grid networks align, and a proposed drawing of a community's grids.

The organisation figures are aggregates and open to every reader; what is missing, leaders'
loads, skills, findings, alignment and drawings are for planners and admins.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.auth import CurrentUser, State, require
from api.geojson import frame_collection, records
from api.pool import on_heavy_pool
from api.schemas import Alignment, AnswerRoute, OrgReport
from gridmap.errors import InputError, NotFoundError
from gridmap.gridplan import community_named, propose_grids
from gridmap.organisation import FIGURES, ORG_LAYERS, organisation_report
from gridmap.scope import may
from gridmap.topology import CHECKED_LAYERS, Tolerances, check_grid_map, grid_alignment

router = APIRouter(tags=["grid map and organisation"], route_class=AnswerRoute)

GEOJSON = "application/geo+json"


def _report(app: State):
    return app.layers.derived(("org report",), ORG_LAYERS, organisation_report)


@router.get(
    "/org/report",
    response_model=OrgReport,
    summary="party-building figures per area, street and community, with what is missing",
)
def org_report(
    app: State,
    user: CurrentUser,
    scope: Annotated[
        Literal["area", "street", "community"] | None,
        Query(description="area, street or community (default: all)"),
    ] = None,
) -> dict:
    report = _report(app)
    figures = report.figures if scope is None else report.figures[report.figures["scope"] == scope]
    reader = may(user.role, "organisation_details")
    if not reader:  # the public sees the shares, not which features lack what
        figures = figures.drop(columns=["missing"])
    out = {
        "figures": records(figures),
        "labels": {k: {"zh": zh, "short": short} for k, (zh, short, _) in FIGURES.items()},
        "missing_layers": sorted(report.missing),
    }
    if reader:
        out["leader_load"] = records(report.leader_load)
        out["skills"] = records(report.skills)
    return out


@router.get("/org/missing/{figure}", summary="a map layer of the features that lack a figure (GeoJSON)")
def org_missing(app: State, user: CurrentUser, figure: str) -> Response:
    require(user, "organisation_details", what="which features lack a party-building figure")
    report = _report(app)
    if figure not in FIGURES:
        raise NotFoundError(f"there is no figure {figure!r}; figures: {', '.join(FIGURES)}")
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
        float, Query(ge=0, le=1000, description="borders this close coincide (metres)")
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
            existing=existing, households=(lo, hi), fresh=fresh,
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
