"""A ceiling on the size of a request's body: one over it is answered 413 before a route reads
it (by its Content-Length) or as soon as it passes the ceiling while it streams in, so that no
request holds the service's memory and time with a body no client of ours sends (the largest is
a changeset of many features; a photo is at most 5 MB)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem


class BodyLimit:
    """Refuses (413) a request whose body is over ``limit_mb`` MiB."""

    def __init__(self, app: ASGIApp, limit_mb: float) -> None:
        self.app = app
        self.limit = int(limit_mb * 2**20)
        self.said = (
            f"the request's body is over the {limit_mb:g} MiB this service takes (GRIDMAP_MAX_REQUEST_MB)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await problem(413, "too large", self.said)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # a body sent in chunks, without a length
                    raise HTTPException(413, self.said)
            return message

        await self.app(scope, counted, send)
