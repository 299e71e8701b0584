"""Assignments: who is responsible at a point, a grid leader's own area, and the admin
endpoints that assign and reassign leaders and branches (history is kept)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query

from api.auth import CurrentUser, State, require, require_in_area
from api.geojson import frame_collection, records
from api.schemas import (
    AnswerRoute,
    Assigned,
    Assignment,
    Branch,
    BranchAssigned,
    Day,
    End,
    Ended,
    MyArea,
    PathId,
    Post,
    Term,
    Who,
)
from gridmap.care import visits_due
from gridmap.errors import InputError, Problem
from gridmap.events import AWAITING_OTHERS
from gridmap.io.assign import assign, assign_branch, end_assignment
from gridmap.model import INT_RANGE
from gridmap.orgcatalogue import org_catalogue
from gridmap.scope import masked_answer

router = APIRouter(tags=["assignments"], route_class=AnswerRoute)


@router.get(
    "/who",
    response_model=Who,
    summary="who is responsible here: areas, party organisations and people in charge",
)
def who(
    app: State,
    user: CurrentUser,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="longitude, EPSG:4326")],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="latitude, EPSG:4326")],
    at: Annotated[Day | None, Query(description="the day (default today), YYYY-MM-DD")] = None,
) -> dict:
    answer = app.layers.responsibility().at(lon, lat, at)
    return masked_answer(answer, user.role, app.layers.area(user))


@router.get(
    "/my-area",
    response_model=MyArea,
    summary="a grid leader's own grids, buildings, households, members and duties",
)
def my_area(app: State, user: CurrentUser) -> dict:
    require(user, "my_area", what="'my area'")
    versions = app.layers.versions()  # one reading of the versions for every layer

    def visible(layer: str) -> pd.DataFrame:
        return app.layers.visible(layer, user, versions)

    out: dict[str, Any] = {"user": user.name, "grid_codes": list(user.grid_codes)}
    frames = {n: visible(n) for n in ("grids", "compounds", "buildings")}
    grids = frames["grids"]
    out["bounds"] = [round(float(v), 7) for v in grids.total_bounds] if len(grids) else None
    for layer, frame in frames.items():
        out[layer] = json.loads(frame_collection(frame))
    mine = visible("households")
    out["households"] = records(mine)
    for layer in ("members", "party_orgs"):
        out[layer] = records(visible(layer))
    duties = visible("assignments")
    out["duties"] = records(duties[duties["valid_to"].isna()])
    out["history"] = records(duties[duties["valid_to"].notna()])
    events = visible("events")
    waiting = events[~events["state"].isin(AWAITING_OTHERS)].sort_values("due_at")  # the leader's to-do
    out["events"] = records(
        waiting.drop(columns=["geometry"]).assign(lon=waiting.geometry.x, lat=waiting.geometry.y)
    )
    out["visits_due"] = records(visits_due(mine, visible("visits"), dt.date.today()))
    households = out["households"]
    out["totals"] = {
        "grids": len(grids),
        "buildings": len(out["buildings"]["features"]),
        "households": len(households),
        "residents": int(sum(h.get("residents") or 0 for h in households)),
        "members": len(out["members"]),
        "open_events": len(waiting),
        "visits_due": len(out["visits_due"]),
        "overdue_events": int((waiting["due_at"] < pd.Timestamp.now(tz="UTC").tz_localize(None)).sum()),
    }
    return out


@router.post(
    "/assignments",
    status_code=201,
    response_model=Assigned,
    summary="assign a person to an area; ends the predecessor's term (admins; street and community "
    "admins within their area)",
)
def assign_route(body: Assignment, app: State, user: CurrentUser) -> dict:
    require(user, "assign_people", what="assigning people")
    require_in_area(
        app, user, body.target_layer, body.target_id, f"no feature {body.target_id} in {body.target_layer}"
    )
    if body.member_id is not None:
        require_in_area(app, user, "members", body.member_id, f"no member {body.member_id}")
    new_id, ended = assign(app.engine, user=user.name, **body.model_dump())
    return {"id": new_id, "ended": ended}


@router.post(
    "/assignments/{assignment_id}/end",
    response_model=Ended,
    summary="end a term; it stays as history (admins; street and community admins within their area)",
)
def end_route(assignment_id: PathId, body: End, app: State, user: CurrentUser) -> dict:
    require(user, "assign_people", what="ending assignments")
    require_in_area(app, user, "assignments", assignment_id, f"no assignment {assignment_id}")
    end_assignment(app.engine, assignment_id, user=user.name, on=body.on)
    return {"id": assignment_id, "ended_on": (body.on or dt.date.today()).isoformat()}


@router.get("/assignments/posts", response_model=list[Post], summary="the posts a person may hold, and where")
def posts() -> list[dict]:
    return [
        {"id": r.id, "name_zh": r.name_zh, "held_for": list(r.held_for), "single": r.single}
        for r in org_catalogue().roles.values()
    ]


@router.get(
    "/assignments/history",
    response_model=list[Term],
    summary="every term for an area, current and past",
)
def history(
    app: State, user: CurrentUser, target_layer: str, target_id: Annotated[int, Query(ge=1, le=INT_RANGE[1])]
) -> list[dict]:
    require(user, "assignment_history", what="assignment history")
    frame = app.layers.visible("assignments", user)
    frame = frame[(frame["target_layer"] == target_layer) & (frame["target_id"] == target_id)]
    return records(frame.sort_values("valid_from"))


@router.post(
    "/branches",
    response_model=BranchAssigned,
    summary="make a branch responsible for compounds, or build it on grids (admin)",
)
def branch_route(body: Branch, app: State, user: CurrentUser) -> dict:
    require(user, "assign_branches", what="assigning branches")
    if bool(body.compound_ids) == bool(body.grid_ids):
        raise InputError([Problem("name compounds or grids, one of them", field="compound_ids")])
    layer, ids = ("compounds", body.compound_ids) if body.compound_ids else ("grids", body.grid_ids)
    for ident in ids:
        require_in_area(app, user, layer, ident, f"no feature {ident} in {layer}")
    if body.branch_id is not None:
        require_in_area(app, user, "party_orgs", body.branch_id, f"no party organisation {body.branch_id}")
    count = assign_branch(app.engine, ids, body.branch_id, user=user.name, layer=layer)
    return {layer: count, "branch_id": body.branch_id}
