"""One table from gridmap's errors to HTTP statuses; the body names what was wrong."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gridmap.errors import (
    AccessError,
    AuthError,
    ConflictError,
    DatabaseError,
    GridmapError,
    InputError,
    NotFoundError,
    StaleEditError,
    TagRequiredError,
)

#: most specific first
STATUS: tuple[tuple[type[GridmapError], int, str], ...] = (
    (InputError, 422, "invalid input"),
    (NotFoundError, 404, "not found"),
    (AuthError, 401, "not signed in"),
    (AccessError, 403, "not allowed"),
    (StaleEditError, 412, "stale edit"),
    (TagRequiredError, 428, "entity tag required"),
    (ConflictError, 409, "conflict"),
    (DatabaseError, 503, "database unavailable"),
    (GridmapError, 400, "bad request"),
)


def status_of(exc: GridmapError) -> tuple[int, str]:
    for kind, status, title in STATUS:
        if isinstance(exc, kind):
            return status, title
    return 400, "bad request"


def _body(exc: GridmapError, status: int, title: str) -> dict:
    body: dict = {"status": status, "title": title}
    if isinstance(exc, InputError):
        body["detail"] = str(exc).splitlines()[0]
        body["problems"] = [
            {"message": p.message, "feature": p.file, "field": p.field, "feature_id": p.feature_id}
            for p in exc.problems
        ]
    else:
        body["detail"] = str(exc)
    return body


async def _handle(request: Request, exc: GridmapError) -> JSONResponse:
    status, title = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(_body(exc, status, title), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Route every GridmapError through the table."""
    app.add_exception_handler(GridmapError, _handle)
