"""The planners' maps (folium, offline HTML) as downloads, within the caller's role."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.auth import CurrentUser, State, require
from api.pool import on_heavy_pool
from gridmap.errors import AccessError, InputError
from gridmap.model import INT_RANGE
from gridmap.scope import GRID_STAFF, visible_frame

router = APIRouter(prefix="/maps", tags=["maps"])


@router.get(
    "/{kind}.html", summary="a shareable map that opens offline: grids, coverage, gaps, siting or area"
)
@on_heavy_pool
def map_page(
    kind: Literal["grids", "coverage", "gaps", "siting", "area"],
    app: State,
    user: CurrentUser,
    category: str | None = None,
    level: Annotated[int, Query(ge=1, le=60, description="a life-circle level (5, 10, 15)")] = 15,
    grid: Annotated[str | None, Query(description="area map: the grid code")] = None,
    scenario: Annotated[
        int | None, Query(ge=1, le=INT_RANGE[1], description="siting map: a kept scenario")
    ] = None,
    basemap: Literal["none", "osm", "tianditu"] = "none",
) -> Response:
    from maps import compose  # folium: imported by the first map asked for, not at start-up
    from maps.cli import AREA_LAYERS, GRID_LAYERS, MAPS, build_map

    if kind not in MAPS:
        raise InputError(f"unknown map '{kind}'; one of {', '.join(MAPS)}")
    options = {"basemap": basemap, "tianditu_key": app.settings.tianditu_key}
    area = app.layers.area(user)

    def layers(names):
        return {n: visible_frame(n, app.layers.frame(n), user.role, area) for n in names}

    if kind == "area":
        require(user, "area_map", what="the area map")
        grid = grid or (user.grid_codes[0] if user.grid_codes else None)
        if not grid:
            raise InputError("the area map needs ?grid=CODE")
        if user.role in GRID_STAFF and grid not in user.grid_codes:
            raise AccessError(f"grid {grid} is not yours; your grids: {', '.join(user.grid_codes)}")
        m = compose.area_map(layers(AREA_LAYERS), grid, **options)
    elif kind == "grids":
        require(user, "grid_map", what="the grid map")
        m = compose.grid_map(layers(GRID_LAYERS), **options)
    else:
        require(user, "analysis_maps", what=f"the {kind} map")
        from gridmap.coverage import CoverageParams

        params = CoverageParams.from_settings(app.settings)
        m = build_map(
            kind, app.engine, coverage=params, category=category, level=level, scenario=scenario, **options
        )
    name = f"{kind}-{grid}.html" if kind == "area" else f"{kind}.html"
    return Response(
        compose.render_html(m, offline=True),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
