"""One error contract for the whole service: every failure is a JSON problem body
(``{status, title, detail, problems?}``) with the status that fits it, from one table.

gridmap's own errors, request validation, the database's errors (integrity → 409, numbers out
of range → 422, lost connection → 503 with ``Retry-After``, a locked SQLite file → 503 "busy,
retry") and routes that do not exist all pass through it; anything else becomes a 500 with the
same body, logged, and the connection stays open.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridmap.errors import (
    AccessError,
    AuthError,
    ConflictError,
    DatabaseBusyError,
    DatabaseError,
    GridmapError,
    InputError,
    NotFoundError,
    StaleEditError,
    TagRequiredError,
    ThrottledError,
)
from gridmap.store.engine import is_busy

log = logging.getLogger("gridmap.api")

#: most specific first
STATUS: tuple[tuple[type[GridmapError], int, str], ...] = (
    (InputError, 422, "invalid input"),
    (NotFoundError, 404, "not found"),
    (AuthError, 401, "not signed in"),
    (AccessError, 403, "not allowed"),
    (StaleEditError, 412, "stale edit"),
    (TagRequiredError, 428, "entity tag required"),
    (ConflictError, 409, "conflict"),
    (ThrottledError, 429, "too many requests"),
    (DatabaseBusyError, 503, "database busy"),
    (DatabaseError, 503, "database unavailable"),
    (GridmapError, 400, "bad request"),
)


def status_of(exc: GridmapError) -> tuple[int, str]:
    for kind, status, title in STATUS:
        if isinstance(exc, kind):
            return status, title
    return 400, "bad request"


def problem(
    status: int, title: str, detail: str, problems: list[dict] | None = None, headers=None
) -> JSONResponse:
    body: dict = {"status": status, "title": title, "detail": detail}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status, headers=headers)


def _headers(exc: BaseException, status: int) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry = getattr(exc, "retry_after_s", None)
    if retry is None and status == 503:
        retry = 2
    if retry is not None:
        headers["Retry-After"] = str(int(retry))
    return headers or None


def problems_found(request: Request, count: int) -> str:
    """The head of a 422's detail: how many problems, and for a request that would have
    written, that nothing was (a read wrote nothing anyway)."""
    head = f"{count} problem{'s' if count != 1 else ''} found"
    return head + (":" if request.method in ("GET", "HEAD") else "; nothing was written:")


async def _gridmap(request: Request, exc: GridmapError) -> JSONResponse:
    status, title = status_of(exc)
    problems = None
    detail = str(exc)
    if isinstance(exc, InputError):
        detail = problems_found(request, len(exc.problems))
        problems = [
            {"message": p.message, "feature": p.file, "field": p.field, "feature_id": p.feature_id}
            for p in exc.problems
        ]
    return problem(status, title, detail, problems, _headers(exc, status))


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "")


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {"message": e.get("msg", "invalid"), "feature": None, "field": _location(tuple(e.get("loc", ()))),
         "feature_id": None}
        for e in exc.errors()
    ]  # fmt: skip
    return problem(422, "invalid input", problems_found(request, len(problems)), problems)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path (Starlette names only the
    first route that matched the path). Routers included in the app match as a whole."""
    return sorted(
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            r.matches({**request.scope, "method": method})[0] == Match.FULL for r in request.app.router.routes
        )
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    titles = {
        404: "not found",
        405: "method not allowed",
        401: "not signed in",
        403: "not allowed",
        413: "too large",
    }
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"there is nothing at {request.url.path}; /openapi.json lists the routes"
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not answered at {request.url.path}; these are: {', '.join(allowed)}"
    return problem(exc.status_code, titles.get(exc.status_code, "error"), detail, None, headers or None)


async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
    status, title, detail = database_problem(exc)
    if status >= 500 and status != 503:
        log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(status, title, detail, None, _headers(exc, status))


def database_problem(exc: BaseException) -> tuple[int, str, str]:
    """(status, title, detail) of a database error; the detail names no table or value."""
    if is_busy(exc):
        return 503, "database busy", "the database is busy with another write; retry shortly"
    if isinstance(exc, sa_exc.TimeoutError):  # the pool's connections all stayed in use
        return 503, "database busy", "every connection to the database is in use; retry shortly"
    if isinstance(exc, sa_exc.IntegrityError):
        return 409, "conflict", "the change conflicts with stored data (a duplicate or a missing reference)"
    if isinstance(exc, sa_exc.DataError):
        return 422, "invalid input", "a value is out of the range the database can store"
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError) or (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    ):
        return 503, "database unavailable", "the database cannot be reached; retry shortly"
    return 500, "internal error", "the database refused the request; it was logged"


class CatchAll:
    """Answers any exception no handler took with a 500 problem body, rather than letting the
    server drop the connection; the traceback goes to the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            response = problem(500, "internal error", "the service failed on this request; it was logged")
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Route every error through the table."""
    app.add_exception_handler(GridmapError, _gridmap)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _database)
    app.add_middleware(CatchAll)
