"""The gridmap web service: ``create_app(settings)`` builds the FastAPI app.

Routes: the web map and OGC API landing page (:mod:`api.web`), sign-in (:mod:`api.auth`),
features and edits (:mod:`api.features`), vector tiles (:mod:`api.tiles`), assignments
(:mod:`api.who`), coverage and siting (:mod:`api.analysis`) and map downloads
(:mod:`api.maps`). The database (SpatiaLite or PostGIS, by URL) is opened in the lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from api import (
    analysis,
    auth,
    errors,
    events,
    features,
    gridwork,
    maps,
    open311,
    openapi,
    party,
    tiles,
    web,
    who,
)
from api.body_limit import BodyLimit
from api.security import SecurityHeaders
from api.state import AppState
from api.tile_lane import TileLane
from gridmap.collector import kept_out
from gridmap.errors import DatabaseError
from gridmap.settings import Settings, shown_url
from gridmap.store.engine import POSTGRES_POOL_SIZE, make_engine, open_pool
from gridmap.store.failures import explained
from gridmap.store.revision import current_revision, head_revision


def served_engine(settings: Settings) -> Engine:
    """An engine on ``settings.database_url`` for the service, once the database is known to
    answer and to be at the current schema; DatabaseError says what is wrong (the URL without
    its password)."""
    engine = make_engine(settings.database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise explained(error, settings.database_url) or error from None
    if revision != head_revision():
        engine.dispose()
        raise DatabaseError(
            f"the database {shown_url(settings.database_url)} is at schema {revision or 'none'}, not "
            f"{head_revision()}; run 'gridmap db upgrade' (or 'gridmap demo build')"
        )
    return engine


#: the middleware every answer passes through on its way out, the innermost first: compressed
#: at zlib's own default level (Starlette's 9 took 3.4 times the CPU for a layer's GeoJSON,
#: 31 against 9 ms for the demo's buildings, 65 against 19 ms its roads, to send 2-5 % less),
#: then the security headers
ANSWER_MIDDLEWARE: tuple[tuple[type, dict[str, Any]], ...] = (
    (GZipMiddleware, {"minimum_size": 1024, "compresslevel": 6}),
    (SecurityHeaders, {}),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service over ``settings.database_url`` (which must be initialised and current)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = served_engine(settings)
        if settings.open_pool_at_start:
            try:
                open_pool(engine)
            except DBAPIError as error:
                engine.dispose()
                raise DatabaseError(
                    f"the database refused the service's connections ({str(error.orig).strip()}): each "
                    f"process keeps {POSTGRES_POOL_SIZE}, which PostgreSQL's max_connections (and any "
                    "connection limit of the role) must cover for every process"
                ) from None
        app.state.gridmap = AppState(settings, engine)
        # a full pass over what start-up made was the slowest request in a hundred under load
        with kept_out():
            try:
                yield
            finally:
                app.state.gridmap.shutdown()
                engine.dispose()

    app = FastAPI(
        title="gridmap",
        description="Grids, compounds, party organisation and the 15-minute service circle: "
        "features (OGC API – Features), vector tiles, assignments, coverage and siting.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by api.web from local assets
        redoc_url=None,
    )
    errors.install(app)
    openapi.install(app)
    for middleware, options in ANSWER_MIDDLEWARE:
        app.add_middleware(middleware, **options)
    app.add_middleware(BodyLimit, limit_mb=settings.max_request_mb)
    app.add_middleware(TileLane, answer_middleware=ANSWER_MIDDLEWARE)  # in front: a plain tile request
    # the routers under a prefix of their own first, the busiest first: a request is matched
    # against each route in turn, and none of theirs can shadow another router's
    for router in (
        tiles.router,
        open311.router,
        events.router,
        events.visits_router,
        auth.router,
        maps.router,
    ):
        app.include_router(router)
    for module in (web, features, who, analysis, gridwork, party):
        app.include_router(module.router)
    return app
