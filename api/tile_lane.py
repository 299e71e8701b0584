"""The quick lane of the busiest request: a well-formed ``GET /tiles/{layer}/{z}/{x}/{y}``
answered without FastAPI's parameter machinery or the middleware that only other requests need.

A map asks for tiles by the dozen at each move, and a shift's grid workers by the thousand:
checking a tile's parameters through FastAPI's dependencies took twice the CPU of the
answer itself, and passing through the service's layers of middleware (the body's limit,
errors caught, the router) a tenth more. This middleware, in front of the service's own,
takes a request only when every part of it is plain — the method GET, a zoom, column and row
in range written in ASCII digits, query parameters known, each once, of letters, digits and
``_`` — and gives it the documented route's answer (:func:`api.tiles.tile_response`), with the
headers and compression of every answer, and an error by the service's own handler of it.
Anything else goes on to the documented route (:func:`api.tiles.tile`), which checks it and
says what is wrong as always: the lane takes no request whose parameters that route would
refuse, and answers none differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import compile_path, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from api.analysis import KEPT_REF
from api.auth import token_of
from api.tiles import (
    CATEGORY_MAX_LENGTH,
    LEVEL_MAX,
    LEVEL_MIN,
    ROW,
    TILE_PATH,
    TileAsk,
    router,
    row_number,
    tile_response,
)
from gridmap.tiles import MAX_ZOOM

PATH = router.prefix + TILE_PATH
_ZOOM = re.compile(r"[0-9]{1,2}")
_COLUMN = re.compile(r"[0-9]{1,10}")
_ROW = re.compile(ROW)  # the documented route's pattern, whole
_PLAIN_VALUE = re.compile(rf"[A-Za-z0-9_]{{0,{CATEGORY_MAX_LENGTH}}}")
_LEVEL = re.compile(r"[0-9]{1,2}")
_KEPT = re.compile(KEPT_REF)  # whole: its "$" lets no line feed through
QUERY_NAMES = ("category", "level", "run", "scenario")


def plain_ask(path_params: dict[str, str], query: bytes) -> TileAsk | None:
    """The tile a plain request asks for, or None when any part of it is not plain (the
    documented route then checks it)."""
    z, x = path_params["z"], path_params["x"]
    if not (_ZOOM.fullmatch(z) and _COLUMN.fullmatch(x) and _ROW.fullmatch(path_params["y"])):
        return None
    zoom, column = int(z), int(x)
    if zoom > MAX_ZOOM or column > 2**MAX_ZOOM - 1:
        return None
    named: dict[str, Any] = {}
    for pair in query.split(b"&") if query else ():
        name, equals, raw = pair.partition(b"=")
        key, value = name.decode("latin-1"), raw.decode("latin-1")
        if not equals or key not in QUERY_NAMES or key in named or not _PLAIN_VALUE.fullmatch(value):
            return None
        named[key] = value
    if "level" in named:
        if not _LEVEL.fullmatch(named["level"]) or not LEVEL_MIN <= int(named["level"]) <= LEVEL_MAX:
            return None
        named["level"] = int(named["level"])
    if any(not _KEPT.fullmatch(named[k]) for k in ("run", "scenario") if k in named):
        return None
    return TileAsk(path_params["layer"], zoom, column, row_number(path_params["y"]), **named)


class TileLane:
    """ASGI middleware, in front of the service's own: a plain GET of a tile is answered by
    :func:`tile_response` and passes out through ``answer_middleware`` (the middleware every
    answer of the service passes through: its headers and compression), an error answered by
    the service's handler of it; any other request goes on to the service, whose documented
    route answers it (the lane is not in the OpenAPI document either)."""

    def __init__(self, app: ASGIApp, answer_middleware: Sequence[tuple[type, dict[str, Any]]]) -> None:
        self.app = app
        self.path_regex = compile_path(PATH)[0]
        answer: ASGIApp = _send_answer
        for middleware, options in answer_middleware:
            answer = middleware(answer, **options)
        self.answer = answer

    def take(self, scope: Scope) -> tuple[TileAsk, dict[str, str]] | None:
        """The tile a plain GET asks for and its two headers that matter (``authorization``,
        ``if-none-match``), or None for any other request."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        found = self.path_regex.match(get_route_path(scope))
        ask = found and plain_ask(found.groupdict(), scope.get("query_string", b""))
        if not ask:
            return None
        headers = [(k, v) for k, v in scope["headers"] if k in (b"authorization", b"if-none-match")]
        if len({k for k, _ in headers}) < len(headers):  # a header given twice
            return None
        return ask, {k.decode(): v.decode("latin-1") for k, v in headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        taken = self.take(scope)
        if taken is None:
            await self.app(scope, receive, send)
            return
        ask, headers = taken
        app = scope["app"].state.gridmap
        try:
            response = await tile_response(
                app, ask, token_of(headers.get("authorization")), headers.get("if-none-match")
            )
        except Exception as exc:  # refused or failed: said as the service says it for any request
            handler = _handler_of(scope["app"].exception_handlers, exc)
            if handler is None:  # none for it: the service's own catch-all answers (and logs it)
                await self.app(scope, receive, send)
                return
            response = await handler(Request(scope, receive), exc)
        await self.answer({**scope, _RESPONSE: response}, receive, send)


def _handler_of(handlers: Mapping[Any, Callable], exc: Exception) -> Callable | None:
    """The service's handler of ``exc``: the one of its nearest class that has one."""
    return next((handlers[kind] for kind in type(exc).__mro__ if kind in handlers), None)


#: where the lane puts its answer in the scope, for the answer's own middleware to pass on
_RESPONSE = "gridmap_tile_response"


async def _send_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await scope[_RESPONSE](scope, receive, send)
