"""Grid events over HTTP for the people who handle them: a move along the steps (a grid
leader within their own grids, an admin anywhere), an event's chain of states, and the
figures districts report. Residents file through Open311 (:mod:`api.open311`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, State, require, require_in_area
from api.geojson import frame_collection, records
from api.schemas import (
    AnswerRoute,
    Day,
    EventFigures,
    EventState,
    EventStep,
    EventStepBody,
    PathId,
    PhotoKept,
    VisitBody,
    VisitLogged,
)
from gridmap.errors import NotFoundError
from gridmap.events import ENDED, FIGURES, STAFF, event_figures
from gridmap.io.edits import create_feature
from gridmap.io.events import MAX_PHOTO_BYTES, add_photo, event_history_of, move_event, photo
from gridmap.values import json_value

router = APIRouter(prefix="/events", tags=["grid events"], route_class=AnswerRoute)


def _in_scope(app: State, user: CurrentUser, event_id: int) -> None:
    """NotFoundError for an event the caller may not handle: outside a grid leader's grids
    it is as if it did not exist (its existence is not told)."""
    if event_id not in app.layers.frame("events").index:
        raise NotFoundError(f"no event {event_id}")
    require_in_area(app, user, "events", event_id, f"no event {event_id}")


@router.get("/counts", summary="open and closed events per grid, for everyone (counts only)")
def counts(app: State, user: CurrentUser) -> Response:
    require(user, "event_counts", what="the events' counts")
    versions = app.layers.versions()
    body = app.layers.derived(("event counts",), ("grids", "events"), _counts_collection, versions)
    return Response(body, media_type="application/geo+json")


def _counts_collection(frames: dict) -> str:
    grids, events = frames["grids"], frames["events"]
    closed = events["state"].isin(ENDED).to_numpy()
    open_, done = (events[rows].groupby("grid_id").size() for rows in (~closed, closed))
    out = grids[["code", "geometry"]].assign(
        open=[int(open_.get(g, 0)) for g in grids.index], closed=[int(done.get(g, 0)) for g in grids.index]
    )
    return frame_collection(out)


@router.post("/{event_id}/steps", response_model=EventState, summary="move an event along its steps")
async def step(event_id: PathId, body: EventStepBody, app: State, user: CurrentUser) -> dict:
    require(user, "event_steps", what="moving an event")
    _in_scope(app, user, event_id)
    event = await run_in_threadpool(
        move_event, app.engine, event_id, body.to, by=STAFF, user=user.name, note=body.note,
        rating=body.rating, assignee=body.assignee,
    )  # fmt: skip
    return {"id": event_id, "state": event["state"], "level": event["level"],
            "assignee": json_value(event["assignee"]), "due_at": json_value(event["due_at"])}  # fmt: skip


@router.get("/{event_id}/history", response_model=list[EventStep], summary="an event's chain of states")
def history(event_id: PathId, app: State, user: CurrentUser) -> list[dict]:
    require(user, "event_steps", what="an event's history")
    _in_scope(app, user, event_id)
    return records(event_history_of(app.engine, event_id))


@router.post(
    "/{event_id}/photos", status_code=201, response_model=PhotoKept, summary="add a photo to an event"
)
async def add_photo_route(event_id: PathId, file: UploadFile, app: State, user: CurrentUser) -> dict:
    require(user, "event_steps", what="adding a photo")
    _in_scope(app, user, event_id)
    data = await file.read(MAX_PHOTO_BYTES + 1)
    photo_id = await run_in_threadpool(add_photo, app.engine, event_id, data, user=user.name)
    return {"id": photo_id, "event_id": event_id, "size": len(data)}


@router.get(
    "/{event_id}/photos/{photo_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}, "description": "the photo"}
    },
    summary="a photo of an event",
)
def photo_route(event_id: PathId, photo_id: PathId, app: State, user: CurrentUser) -> Response:
    require(user, "event_steps", what="an event's photos")
    _in_scope(app, user, event_id)
    kind, data = photo(app.engine, event_id, photo_id)
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    "/report", response_model=EventFigures, summary="响应率, 办结率, 满意率 … per grid, community or street"
)
def report(
    app: State,
    user: CurrentUser,
    by: Annotated[Literal["grid", "community", "street"], Query(description="the unit")] = "grid",
    start: Annotated[Day | None, Query(alias="from", description="filed from this day")] = None,
    end: Annotated[Day | None, Query(alias="to", description="filed before this day")] = None,
) -> dict:
    require(user, "event_figures", what="the events' figures")
    figures = event_figures(
        app.layers.frame("events"), by=f"{by}_id",
        start=dt.datetime.combine(start, dt.time()) if start else None,
        end=dt.datetime.combine(end, dt.time()) if end else None,
    )  # fmt: skip
    return {"by": by, "rows": records(figures), "labels": dict(FIGURES)}


visits_router = APIRouter(prefix="/visits", tags=["grid events"], route_class=AnswerRoute)


@visits_router.post("", status_code=201, response_model=VisitLogged, summary="log a visit to a household")
async def log_visit(body: VisitBody, app: State, user: CurrentUser) -> dict:
    require(user, "log_visits", what="logging a visit")
    require_in_area(app, user, "households", body.household_id, f"no household {body.household_id}")
    day = body.visited_on or dt.date.today()
    values = {"household_id": body.household_id, "visited_on": day, "visitor": user.name, "kind": body.kind,
              "note": body.note}  # fmt: skip
    visit_id, _ = await run_in_threadpool(create_feature, app.engine, "visits", values, user=user.name)
    return {"id": visit_id, "household_id": body.household_id, "visited_on": day.isoformat()}
