"""Mapbox Vector Tiles per layer at ``/tiles/{layer}/{z}/{x}/{y}`` with TileJSON.

Tiles are cut from layers held in memory and cached under an entity tag: a keyed hash (under
the service's secret) of the layer's version (or the run or scenario they show), the caller's
scope and the tile address. An edit
bumps the version, so the next request gets a new tag and a fresh tile; tiles are sent with
``no-cache`` so that browsers always revalidate (a 304 costs nothing). Tiles that need a
sign-in are ``private``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from api.analysis import KEPT_REF, home_minutes, select_rows, stored_run, stored_scenario
from api.auth import BearerToken, CurrentUser, State, require
from api.features import base_url
from api.schemas import AnswerRoute, TileJSON
from api.state import AppState
from gridmap.accounts import PUBLIC, User, user_and_versions
from gridmap.errors import AccessError, InputError, NotFoundError
from gridmap.model import UserRole
from gridmap.scope import PUBLIC_LAYERS, analysis_ids, readable_layers, visible_ids
from gridmap.store.engine import is_sqlite
from gridmap.store.mvt import postgis_tile
from gridmap.store.secret import service_secret
from gridmap.tiles import MAX_ZOOM, TileSource, check_tile, encode_tile, lonlat_bounds

router = APIRouter(prefix="/tiles", tags=["vector tiles"], route_class=AnswerRoute)
MVT = "application/vnd.mapbox-vector-tile"

#: the properties each layer's tiles carry (what a map shows and a click lists)
LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "districts": ("code", "name"),
    "streets": ("code", "name"),
    "communities": ("code", "name"),
    "grids": ("code", "name", "level", "kind", "community_id", "households"),
    "compounds": ("name", "kind", "branch_id", "community_id", "property_company"),
    "buildings": ("name", "use", "levels", "households", "residents", "compound_id"),
    "facilities": ("name", "kind", "categories", "level", "capacity"),
    "roads": ("highway", "name"),
    "entrances": ("kind", "name", "compound_id"),
    "coop_units": ("name", "kind"),
    "events": ("category", "state", "level", "grid_id"),
    "needs": ("kind", "category", "state", "grid_id"),  # no one named: who asks stays off tiles
}
#: layers computed by coverage runs and siting scenarios, and what their tiles carry
ANALYSIS_LAYERS = ("coverage", "gaps", "circles", "proposals")
COVERAGE_COLUMNS = ("name", "households", "residents", "minutes", "covered")
SHAPE_COLUMNS = ("category", "level", "homes", "households", "residents", "facility_id", "limit_m")
PROPOSAL_COLUMNS = ("rank", "name", "source", "residents_new", "households_new", "buildings_new",
                    "nearest_station_m", "scenario_id")  # fmt: skip


def _in_database(app, layer: str) -> bool:
    """Whether the database encodes the layer's tiles: a stored layer, on PostGIS."""
    return layer in LAYER_COLUMNS and not is_sqlite(app.engine)


def _stored_source(app, layer: str, versions: dict[str, int]) -> TileSource:
    """A stored layer held in memory to tile, with the columns its tiles carry."""
    return app.layers.tile_source(layer, LAYER_COLUMNS[layer], versions)


def _source(app, versions: dict[str, int], layer: str, run: str, category, level, scenario: str):
    """(tile source, version key) of a stored or analysis layer, at the layer ``versions``
    the request read (no source where the database encodes the tiles)."""
    if layer in LAYER_COLUMNS:
        source = None if _in_database(app, layer) else _stored_source(app, layer, versions)
        return source, ("v", versions.get(layer, 0))
    if layer == "proposals":
        kept = stored_scenario(app, scenario)
        key = ("proposals", kept.id)

        def sites() -> TileSource:
            frame = kept.sites.set_index(kept.sites["rank"].astype(int) + 1000 * kept.id)
            return TileSource.from_frame("proposals", frame.assign(scenario_id=kept.id), PROPOSAL_COLUMNS)

        return app.kept.get_or(key, sites), key
    kept = stored_run(app, run)
    if layer == "coverage":
        if category is None or level is None:
            raise NotFoundError("coverage tiles need ?category=…&level=…")
        key = ("coverage", kept.id, category, level, versions.get("buildings", 0))

        def homes() -> TileSource:
            buildings = app.layers.frame("buildings", versions)
            frame = buildings.join(home_minutes(kept, category, level), how="inner")
            return TileSource.from_frame("coverage", frame, COVERAGE_COLUMNS)

        return app.kept.get_or(key, homes), key
    key = (layer, kept.id, category, level)
    shapes = kept.gaps if layer == "gaps" else kept.circles
    return app.kept.get_or(
        key, lambda: TileSource.from_frame(layer, select_rows(shapes, category, level), SHAPE_COLUMNS)
    ), key


def _keep(app, versions: dict[str, int], user: User, layer: str):
    """The ids the user may see in ``layer`` (None: all); AccessError when none at all."""
    if layer in ANALYSIS_LAYERS:
        require(user, layer, what=f"'{layer}' tiles")
        return analysis_ids(layer, user.role, app.layers.area(user, versions))
    if layer not in LAYER_COLUMNS:
        raise NotFoundError(
            f"there are no tiles of '{layer}'; layers: {', '.join((*LAYER_COLUMNS, *ANALYSIS_LAYERS))}"
        )
    if layer not in readable_layers(user.role):
        raise AccessError(f"'{layer}' tiles need a sign-in with a role that reads them")
    return visible_ids(layer, user.role, app.layers.area(user, versions))


def _scope_key(user: User, keep) -> str:
    """What the tile's contents depend on besides the data: everything, or the user's grids."""
    return "all" if keep is None else "grids:" + ",".join(map(str, sorted(user.grid_ids)))


#: a tile's address after the router's prefix, and the bounds of its parameters (which the quick
#: lane, :mod:`api.tile_lane`, keeps to as well)
TILE_PATH = "/{layer}/{z}/{x}/{y}"
ROW = r"[0-9]{1,8}(\.(mvt|pbf))?"
CATEGORY_MAX_LENGTH = 50
LEVEL_MIN, LEVEL_MAX = 1, 60

Category = Annotated[
    str | None,
    Query(max_length=CATEGORY_MAX_LENGTH, description="coverage, gaps, circles: service category id"),
]
Level = Annotated[
    int | None,
    Query(ge=LEVEL_MIN, le=LEVEL_MAX, description="coverage, gaps, circles: life-circle level (5, 10, 15)"),
]
Run = Annotated[str, Query(pattern=KEPT_REF, description="coverage, gaps, circles: run number or 'latest'")]
Scenario = Annotated[str, Query(pattern=KEPT_REF, description="proposals: scenario number or 'latest'")]


@router.get(TILE_PATH, summary="one Mapbox Vector Tile of a layer (WebMercatorQuad)")
async def tile(
    layer: str,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1)],
    y: Annotated[str, Path(pattern=f"^{ROW}$", description="row, optionally with .mvt")],
    app: State,
    token: BearerToken,
    category: Category = None,
    level: Level = None,
    run: Run = "latest",
    scenario: Scenario = "latest",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The documented route of a tile: its parameters checked by FastAPI (the busiest
    requests, well formed, take :mod:`api.tile_lane` instead, to the same answer)."""
    ask = TileAsk(layer, z, x, row_number(y), category, level, run, scenario)
    return await tile_response(app, ask, token, if_none_match)


def row_number(y: str) -> int:
    """The row a tile's last path segment names (``12`` or ``12.mvt``), -1 for none."""
    digits = y.split(".")[0]
    return int(digits) if digits.isdigit() else -1


@dataclass(frozen=True)
class TileAsk:
    """What a tile request names besides its caller: the layer, the tile's address
    (WebMercatorQuad zoom, column and row; a row of -1 names no tile) and, for the analysis
    layers, the run or scenario, the service category and the life-circle level (minutes)."""

    layer: str
    z: int
    x: int
    y: int
    category: str | None = None
    level: int | None = None
    run: str = "latest"
    scenario: str = "latest"


async def tile_response(
    app: AppState, ask: TileAsk, token: str | None, if_none_match: str | None
) -> Response:
    """One trip to a tile thread: the caller's token looked up and the layer versions read
    in one statement (for the scope and the source alike), the tag, then the tile from the cache or
    encoded (by the database on PostGIS), unless the client's copy is current (304). No
    connection is held while another is taken: a full pool would wait on itself."""
    user, tag, data = await app.tile_threads.run(_answer, app, ask, token, if_none_match)
    private = user.role != UserRole.PUBLIC and ask.layer not in PUBLIC_LAYERS
    headers = {
        "ETag": f'"{tag}"',
        "Cache-Control": ("private" if private else "public") + ", no-cache",
        "Vary": "Authorization",
    }
    if data is None:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


def _answer(
    app: AppState, ask: TileAsk, token: str | None, if_none_match: str | None
) -> tuple[User, str, bytes | None]:
    """(caller, tag, tile), the tile None when the client's copy is current."""
    # the token and the layer versions in one statement: a bad token is refused before anything else
    if token is None:
        user, versions = PUBLIC, app.layers.versions()
    else:
        user, versions = user_and_versions(app.engine, token)
    layer, z, x, y = ask.layer, ask.z, ask.x, ask.y
    try:
        check_tile(z, x, y)
    except InputError as exc:  # an address off the grid names no tile (OGC API – Tiles: 404)
        raise NotFoundError(str(exc.problems[0].message)) from None
    keep = _keep(app, versions, user, layer)
    source, version = _source(app, versions, layer, ask.run, ask.category, ask.level, ask.scenario)
    text = repr((layer, version, _scope_key(user, keep), z, x, y))
    tag = hmac.new(service_secret(app.engine), text.encode(), hashlib.sha256).hexdigest()[:32]
    if if_none_match and tag in if_none_match:
        return user, tag, None
    data = app.tiles.get(tag)
    if data is None:
        if source is None:
            data = postgis_tile(app.engine, layer, LAYER_COLUMNS[layer], z, x, y, keep)
        else:
            data = encode_tile([(source, keep)], z, x, y)
        app.tiles.put(tag, data)
    return user, tag, data


@router.get("/{layer}.json", response_model=TileJSON, summary="TileJSON of a layer's tiles")
def tilejson(
    layer: str,
    request: Request,
    app: State,
    user: CurrentUser,
    category: Category = None,
    level: Level = None,
    run: Run = "latest",
    scenario: Scenario = "latest",
) -> dict:
    versions = app.layers.versions()
    _keep(app, versions, user, layer)
    if layer in LAYER_COLUMNS:  # the fields its features carry, wherever its tiles are encoded
        source = _stored_source(app, layer, versions)
    else:
        source, _ = _source(app, versions, layer, run, category, level, scenario)
    query = {"category": category, "level": level, "run": run if layer in ("coverage", "gaps", "circles") else None,
             "scenario": scenario if layer == "proposals" else None}  # fmt: skip
    params = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
    url = f"{base_url(request)}/tiles/{layer}/{{z}}/{{x}}/{{y}}" + (f"?{params}" if params else "")
    frame = app.layers.frame(layer) if layer in LAYER_COLUMNS else None
    bounds = lonlat_bounds(frame) if frame is not None else None
    out = {
        "tilejson": "3.0.0",
        "name": layer,
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "attribution": "© OpenStreetMap contributors",
        "vector_layers": [{"id": layer, "fields": source.fields, "minzoom": 0, "maxzoom": MAX_ZOOM}],
    }
    if bounds:
        out["bounds"] = bounds
    return out
