"""The floor under the service's tiles on this machine: an ASGI application that does only
what any answer of a signed-in tile must, and nothing of the rest.

For each request it reads the caller's token and every layer's version in the statement the
service runs (:data:`gridmap.accounts.TOKEN_ACCOUNT_AND_VERSIONS`), on a connection of a
pool of psycopg's, and answers the same bytes (``BENCH_BARE_TILE_BYTES`` of them, the mean
size of the tiles the service answered); no parameter checks, no scope, no tag, no cache, no
middleware, no access log. ``bench/scale.py`` runs it under uvicorn on the same event loop
as the service (Python's own), with the same wrk load: what two processes of it answer, at
what latency, is the most the service's code could reach here.

    GRIDMAP_DATABASE_URL=postgresql://… uvicorn bench.bare_tiles:app --workers 2 --loop asyncio
"""

from __future__ import annotations

import os

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects import postgresql
from starlette.types import Receive, Scope, Send

from gridmap.accounts import TOKEN_ACCOUNT_AND_VERSIONS, token_hash

#: connections each process keeps, as the service keeps its pool's
CONNECTIONS = 16
STATEMENT = TOKEN_ACCOUNT_AND_VERSIONS.compile(dialect=postgresql.psycopg.dialect())
TILE = b"\x1a" * int(os.environ.get("BENCH_BARE_TILE_BYTES", "4000"))
HEADERS = [(b"content-type", b"application/vnd.mapbox-vector-tile")]


class _State:
    pool: AsyncConnectionPool


state = _State()


async def _open() -> None:
    url = os.environ["GRIDMAP_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    state.pool = AsyncConnectionPool(
        url, min_size=CONNECTIONS, max_size=CONNECTIONS, kwargs={"autocommit": True}, open=False
    )
    await state.pool.open(wait=True)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await _open()
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
    params = STATEMENT.construct_params({"token_hash": token_hash(authorization[7:].decode())})
    async with state.pool.connection() as conn:
        cursor = await conn.execute(STATEMENT.string, params, prepare=True)
        rows = await cursor.fetchall()
    known = rows[0][0] is not None  # the account's id: none for a token not known
    await send({"type": "http.response.start", "status": 200 if known else 401, "headers": HEADERS})
    await send({"type": "http.response.body", "body": TILE if known else b""})
