"""The OpenAPI document, completed: every route declares the error answers the service can
give (one problem body for all of them, :class:`api.schemas.ProblemBody`), edits their tag and
conflict answers, and signing in is optional where the public may call a route. Routes that
answer GeoJSON, tiles or HTML name their answers here, by the models of :mod:`api.schemas`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.schemas import (
    Feature,
    FeatureCollection,
    FindingCollection,
    GridProposal,
    JobStarted,
    Landing,
    MissingCollection,
    ProblemBody,
)

GEOJSON = "application/geo+json"

#: every route may answer these
ERRORS: dict[int, str] = {
    400: "bad request",
    401: "not signed in, the token is unknown or expired, or the sign-in is locked for a while",
    403: "signed in, but the role does not cover this",
    404: "nothing of that name or id (or none that the caller may read)",
    422: "invalid input; each problem names its field",
    429: "too many requests of this kind; retry after Retry-After seconds",
    500: "an internal error, logged",
    503: "the database is busy or cannot be reached; retry after Retry-After seconds",
}
#: routes that change data may also answer these
EDIT_ERRORS: dict[int, str] = {
    409: "the change conflicts with stored data",
    412: "the entity tag in If-Match is not the feature's current one: read it again",
    428: "the change needs the entity tag it is based on, in If-Match",
}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}


Schema = dict[str, Any] | type[BaseModel]


def content(kind: str, description: str, schema: Schema | None = None) -> dict[str, Any]:
    """A success answer of one media type; a model stands for its schema in the components."""
    return {"description": description, "content": {kind: {"schema": schema or {}}}}


def geojson_answer(
    description: str = "GeoJSON (EPSG:4326)", status: int = 200, model: type[BaseModel] = FeatureCollection
) -> dict[int, Any]:
    return {status: content(GEOJSON, description, model)}


_GEO = geojson_answer
_HTML = "text/html"
#: the success answers of routes that answer other media types than JSON (or more than one)
SUCCESS: dict[tuple[str, str], dict[int, Any]] = {
    ("get", "/"): {200: {"description": "the web map (HTML), or the landing page (JSON, ?f=json)",
                         "content": {_HTML: {"schema": {"type": "string"}}, "application/json": {"schema": Landing}}}},
    ("get", "/collections/{layer}/items"): _GEO("a page of features (FeatureCollection)"),
    ("get", "/collections/{layer}/items/{feature_id}"): _GEO("one feature; its tag in ETag", model=Feature),
    ("post", "/collections/{layer}/items"): _GEO("the feature added; its tag in ETag", 201, model=Feature),
    ("put", "/collections/{layer}/items/{feature_id}"): _GEO("the feature as stored now; its new tag in ETag", model=Feature),
    ("patch", "/collections/{layer}/items/{feature_id}"): _GEO("the feature as stored now; its new tag in ETag", model=Feature),
    ("post", "/collections/{layer}/items/{feature_id}/revert"): _GEO("the feature after the undo; its new tag in ETag", model=Feature)
    | {204: {"description": "the undo deleted the feature (its last change had made it)"}},
    ("get", "/collections/{layer}/schema"): {200: content("application/schema+json", "the layer's fields as JSON Schema",
                                                         {"type": "object"})},
    ("get", "/tiles/{layer}/{z}/{x}/{y}"): {
        200: content("application/vnd.mapbox-vector-tile", "the tile", {"type": "string", "format": "binary"}),
        304: {"description": "the tile named in If-None-Match is still current"},
    },
    ("get", "/maps/{kind}.html"): {200: content(_HTML, "the map, as one HTML file that opens offline",
                                                {"type": "string"})},
    ("get", "/org/missing/{figure}"): _GEO("the features that lack the figure", model=MissingCollection),
    ("get", "/grid-map/findings"): _GEO("the findings, each with the features involved", model=FindingCollection),
    ("get", "/grids/proposal"): _GEO("the proposed grids, with their lineage", model=GridProposal),
    ("post", "/grids/redraw"): _GEO("the community's grids after the redraw, with their lineage (and what was applied)",
                                    model=GridProposal),
    ("get", "/coverage/runs/{run}/gaps"): _GEO("the run's service gaps"),
    ("get", "/coverage/runs/{run}/circles"): _GEO("the run's service circles"),
    ("get", "/siting/scenarios/{scenario}/sites"): _GEO("the scenario's proposed sites"),
    ("get", "/events/counts"): _GEO("every grid with its open and closed events (counts only)"),
    ("get", "/org/map/{layer}"): _GEO("the features of the organisation's layer: branches, central households "
                                      "or sponsored compounds"),
    ("post", "/coverage/runs"): {202: content("application/json", "the job, to poll at Location", JobStarted)},
    ("post", "/siting/scenarios"): {202: content("application/json", "the job, to poll at Location", JobStarted)},
}  # fmt: skip


def _problem(description: str, status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemBody"}}},
    }
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def completed(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the error answers and optional sign-in added."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _register(schemas, ProblemBody)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    paths = doc.get("paths", {})
    for (method, path), answers in SUCCESS.items():
        if method not in paths.get(path, {}):
            raise AssertionError(f"api.openapi.SUCCESS names {method.upper()} {path}, which is no route")
        declared = paths[path][method].setdefault("responses", {})
        for status in answers:  # replace FastAPI's default JSON answer of the same status
            declared.pop(str(status), None)
        declared.update({str(k): _resolved(schemas, v) for k, v in answers.items()})
    for item in paths.values():
        for method, operation in item.items():
            answers = operation.setdefault("responses", {})
            errors = ERRORS | (EDIT_ERRORS if method in ("post", "put", "patch", "delete") else {})
            for status, text in errors.items():
                answers[str(status)] = _problem(text, status)
            if operation.get("security"):
                operation["security"] = [{}, *operation["security"]]  # the public may call it too
    app.openapi_schema = doc
    return doc


def _register(schemas: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Put ``model``'s schema (and those it uses) in the components; a reference to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _resolved(schemas: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """A SUCCESS answer with each model replaced by a reference to its registered schema."""
    media = {
        kind: {"schema": _register(schemas, body["schema"])} if isinstance(body.get("schema"), type) else body
        for kind, body in answer.get("content", {}).items()
    }
    return {**answer, "content": media} if media else answer


def install(app: FastAPI) -> None:
    app.openapi = lambda: completed(app)  # type: ignore[method-assign]
