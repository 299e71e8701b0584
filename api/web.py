"""The web map at ``/`` (and the OGC API landing page, by content negotiation), its static
files, and MapLibre GL JS served from the npm install — nothing comes from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from api.auth import State
from api.features import base_url
from api.schemas import AnswerRoute, WebConfig
from gridmap.errors import NotFoundError
from gridmap.events import load_catalogue
from gridmap.model import CATEGORY_NAMES_ZH, ServiceCategory

router = APIRouter(tags=["web map"], route_class=AnswerRoute)
STATIC = Path(__file__).with_name("static")
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
#: files of npm packages the page loads, by the name it asks for
VENDOR = {
    "maplibre-gl.js": "maplibre-gl/dist/maplibre-gl.js",
    "maplibre-gl.css": "maplibre-gl/dist/maplibre-gl.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "terra-draw.js": "terra-draw/dist/terra-draw.umd.js",
    "terra-draw-maplibre-gl-adapter.js": "terra-draw-maplibre-gl-adapter/dist/terra-draw-maplibre-gl-adapter.umd.js",
}


def _wants_json(request: Request) -> bool:
    if request.query_params.get("f") == "json":
        return True
    if request.query_params.get("f") == "html":
        return False
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


@router.get("/", summary="the web map (HTML) or the OGC API landing page (JSON, ?f=json)")
def landing(request: Request, app: State) -> Response:
    if not _wants_json(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
    base = base_url(request)
    return JSONResponse(
        {
            "title": "gridmap",
            "description": "Grids, compounds, party organisation and the 15-minute service circle",
            "links": [
                {
                    "href": f"{base}/?f=json",
                    "rel": "self",
                    "type": "application/json",
                    "title": "this document",
                },
                {"href": f"{base}/?f=html", "rel": "alternate", "type": "text/html", "title": "the web map"},
                {
                    "href": f"{base}/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "the API definition",
                },
                {
                    "href": f"{base}/docs",
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "the API documentation",
                },
                {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json"},
                {"href": f"{base}/collections", "rel": "data", "type": "application/json"},
            ],
        }
    )


@router.get("/docs", include_in_schema=False)
def docs() -> Response:
    """The API documentation (Swagger UI, served from the npm install like MapLibre)."""
    return FileResponse(STATIC / "docs.html", headers={"Cache-Control": "no-cache"})


@router.get(
    "/config.json",
    response_model=WebConfig,
    summary="what the web map needs to know: extent, categories, basemap key",
)
def config(app: State) -> dict:
    extent = None
    for layer in ("districts", "communities", "roads"):
        frame = app.layers.frame(layer)
        if len(frame):
            extent = [round(float(v), 6) for v in frame.total_bounds]
            break
    return {
        "bounds": extent,
        "categories": [{"id": c, "name": CATEGORY_NAMES_ZH.get(c, c)} for c in ServiceCategory],
        "event_categories": [{"id": c.id, "name": c.name_zh} for c in load_catalogue().categories.values()],
        "tianditu_key": app.settings.tianditu_key,
        "attribution": "© OpenStreetMap contributors",
    }


@router.get("/vendor/{name}", include_in_schema=False)
def vendor(name: str) -> Response:
    if name not in VENDOR:
        raise NotFoundError(f"no vendored file '{name}'")
    path = NODE_MODULES / VENDOR[name]
    if not path.exists():
        raise NotFoundError(f"{VENDOR[name]} is not installed; run 'npm ci' (./dev does)")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or not path.is_file():
        raise NotFoundError(f"no static file '{name}'")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})
