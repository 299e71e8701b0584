"""Layers as OGC API – Features (Part 1: Core, GeoJSON), and single-feature edits.

``/collections`` lists the layers the caller may read; ``/collections/{layer}/items`` pages
through them with ``bbox``, ``limit``, ``offset`` and equality filters on any property;
``/collections/{layer}/items/{id}`` gives one feature with its entity tag. Admins create
(POST), replace (PUT), change (PATCH) and delete features; PUT, PATCH and DELETE need the tag
in ``If-Match``. Every edit is audited.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import pandas as pd
import shapely
import shapely.geometry
from fastapi import APIRouter, Body, Header, Query, Request, Response
from sqlalchemy import select

from api.auth import CurrentUser, State, require, require_in_area, require_layer
from api.geojson import GEOJSON, feature_texts, frame_collection, records
from api.schemas import (
    AnswerRoute,
    AuditEntry,
    ChangesetBody,
    CollectionInfo,
    Collections,
    Conformance,
    FeatureIn,
    FeatureVersion,
    PathId,
    SavedChangeset,
    SearchHit,
)
from gridmap.errors import AccessError, InputError, NotFoundError, Problem
from gridmap.io.changesets import (
    Change,
    feature_timeline,
    grid_map_check,
    revert_feature,
    save_changeset,
    version_shape,
)
from gridmap.io.edits import create_feature, delete_feature, feature_etag, update_feature
from gridmap.model import FIELD_NAMES_ZH, INT_RANGE, LAYER_SPECS, layer_spec
from gridmap.orgcatalogue import org_catalogue
from gridmap.scope import edit_refusal, readable_layers
from gridmap.store.engine import reading
from gridmap.store.secret import service_secret
from gridmap.store.tables import audit_log
from gridmap.topology import Tolerances

router = APIRouter(tags=["features (OGC API)"], route_class=AnswerRoute)

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
RESERVED = {"bbox", "limit", "offset", "f", "datetime"}
MAX_LIMIT = 10000


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _check_layer(layer: str, user) -> None:
    if layer not in LAYER_SPECS:
        raise NotFoundError(f"there is no collection '{layer}'; /collections lists them")
    require_layer(user, layer)


def check_edit(app, user, layer: str, *, stored_id: int | None = None, values=None, geometry=None) -> None:
    """Refuse an edit the access table does not give the user where it lies (AccessError
    naming what lies outside their area); a feature grid staff cannot read is not found."""
    if user.has_area and stored_id is not None:
        require_in_area(app, user, layer, stored_id, f"no feature {stored_id} in '{layer}'")
    area = app.layers.area(user)
    why = edit_refusal(user.role, area, layer, stored_id=stored_id, values=values, geometry=geometry,
                       communities=app.layers.frame("communities"))  # fmt: skip
    if why:
        raise AccessError(why)


def _collection(base: str, layer: str, app) -> dict[str, Any]:
    spec = LAYER_SPECS[layer]
    frame = app.layers.frame(layer)
    out: dict[str, Any] = {
        "id": layer,
        "title": spec.title_zh or layer,
        "description": f"{layer} ({spec.title_zh})" if spec.title_zh else layer,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{layer}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{layer}/items", "rel": "items", "type": GEOJSON},
        ],
    }
    if spec.geometry:
        out["links"].append(
            {"href": f"{base}/tiles/{layer}.json", "rel": "tiles", "type": "application/json"}
        )
        if len(frame):
            out["extent"] = {
                "spatial": {"bbox": [[round(float(v), 7) for v in frame.total_bounds]], "crs": CRS84}
            }
    return out


@router.get("/conformance", response_model=Conformance, summary="the conformance classes implemented")
def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", response_model=Collections, summary="the layers you may read")
def collections(request: Request, app: State, user: CurrentUser) -> dict:
    base = base_url(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        "collections": [_collection(base, layer, app) for layer in readable_layers(user.role)],
    }


@router.get("/collections/{layer}", response_model=CollectionInfo, summary="one layer's description")
def collection(layer: str, request: Request, app: State, user: CurrentUser) -> dict:
    _check_layer(layer, user)
    return _collection(base_url(request), layer, app)


_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "date": "string",
               "datetime": "string"}  # fmt: skip


@router.get("/collections/{layer}/schema", summary="the layer's fields as JSON Schema, for forms (OGC API "
            "Features part 5)")  # fmt: skip
def schema(layer: str, app: State, user: CurrentUser) -> Response:
    _check_layer(layer, user)
    spec = layer_spec(layer)
    properties: dict[str, Any] = {}
    for column in spec.columns:
        entry: dict[str, Any] = {
            "type": _JSON_TYPES[column.kind],
            "title": FIELD_NAMES_ZH.get(column.name, column.name),
        }
        if column.kind in ("date", "datetime"):
            entry["format"] = "date" if column.kind == "date" else "date-time"
        choices = column.choices or (org_catalogue().ids(column.catalogue) if column.catalogue else None)
        if choices:
            entry["enum"] = list(choices)
        if column.kind == "str":
            entry["maxLength"] = column.max_length
        if column.pattern:
            entry["pattern"] = f"^(?:{column.pattern})$"
            entry["description"] = column.pattern_says
        if column.minimum is not None:
            entry["minimum"], entry["maximum"] = column.minimum, column.maximum
        if any(r.column == column.name for r in spec.references):
            entry["x-references"] = next(r.layer for r in spec.references if r.column == column.name)
        properties[column.name] = entry
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": spec.title_zh,
            "properties": properties, "required": [c.name for c in spec.columns if c.required],
            "x-geometry": spec.geometry, "x-personal": list(spec.personal)}  # fmt: skip
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/schema+json")


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6):
        raise InputError([Problem(f"bbox '{text}' is not minlon,minlat,maxlon,maxlat", field="bbox")])
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    west, south, east, north = values
    if not all(-180 <= x <= 180 for x in (west, east)) or not all(-90 <= y <= 90 for y in (south, north)):
        raise InputError(  # NaN too, which every comparison passed before
            [
                Problem(
                    f"bbox '{text}': expected longitudes within -180…180 and latitudes within -90…90",
                    field="bbox",
                )
            ]
        )
    if values[0] > values[2] or values[1] > values[3]:
        raise InputError([Problem(f"bbox '{text}' has its minimum above its maximum", field="bbox")])
    return values[0], values[1], values[2], values[3]


@router.get(
    "/collections/{layer}/items", summary="features of a layer, paged, filtered by bbox and properties"
)
def items(
    layer: str,
    request: Request,
    app: State,
    user: CurrentUser,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (EPSG:4326)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT_RANGE[1])] = 0,
) -> Response:
    _check_layer(layer, user)
    frame = app.layers.visible(layer, user)
    spec = layer_spec(layer)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    unknown = [k for k in filters if k not in spec.column_names and k != "id"]
    if unknown:
        raise InputError(
            [
                Problem(
                    f"'{k}' is not a property of '{layer}'; filter on: {', '.join(spec.column_names)}",
                    field=k,
                )
                for k in unknown
            ]
        )
    if bbox is not None:
        if not spec.geometry:
            raise InputError([Problem(f"'{layer}' has no geometry to filter by bbox", field="bbox")])
        hits = frame.sindex.query(shapely.box(*_bbox(bbox)), predicate="intersects")
        frame = frame.iloc[sorted(hits)]
    for key, value in filters.items():
        column = frame.index.to_series() if key == "id" else frame[key]
        frame = frame[column.astype(str).str.lower() == value.lower()]
    matched = len(frame)
    page = frame.iloc[offset : offset + limit]
    url = request.url
    links = [{"href": str(url), "rel": "self", "type": GEOJSON}]
    if offset + limit < matched:
        links.append(
            {
                "href": str(url.include_query_params(offset=offset + limit, limit=limit)),
                "rel": "next",
                "type": GEOJSON,
            }
        )
    if offset > 0:
        links.append(
            {
                "href": str(url.include_query_params(offset=max(0, offset - limit), limit=limit)),
                "rel": "prev",
                "type": GEOJSON,
            }
        )
    text = frame_collection(
        page,
        spec.column_names,
        numberMatched=matched,
        numberReturned=len(page),
        timeStamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        links=links,
    )
    return Response(text, media_type=GEOJSON)


def _feature_response(app, user, layer: str, feature_id: int, status: int = 200, headers=None) -> Response:
    """One feature as the caller may see it, with its tag. A feature outside the caller's area
    is answered exactly as one that does not exist, so ids cannot be probed. Where the layer
    is not held as it is now, only the feature is read: the answer to an edit does not read
    again the whole layer the edit has moved."""
    frame = app.layers.visible(layer, user, within=frozenset({feature_id}))
    if feature_id not in frame.index:
        raise NotFoundError(f"layer '{layer}' has no feature with id {feature_id} that you may read")
    row = frame.loc[[feature_id]]
    tag = feature_etag(layer, frame.loc[feature_id], service_secret(app.engine))
    text = feature_texts(row, layer_spec(layer).column_names)[0]
    return Response(
        text, status_code=status, media_type=GEOJSON, headers={"ETag": f'"{tag}"', **(headers or {})}
    )


@router.get("/collections/{layer}/items/{feature_id}", summary="one feature, with its entity tag (ETag)")
def item(layer: str, feature_id: PathId, app: State, user: CurrentUser) -> Response:
    _check_layer(layer, user)
    return _feature_response(app, user, layer, feature_id)


@router.get(
    "/search",
    tags=["search"],
    response_model=list[SearchHit],
    summary="grids by code and compounds or communities by name",
)
def search(
    app: State, user: CurrentUser, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> list[dict]:
    """Grids whose code starts with ``q`` or whose name holds it, compounds and communities
    whose name holds it — within what the caller may read; each with its extent."""
    text = q.strip().lower()
    found: list[dict] = []
    for layer, columns in (
        ("grids", ("code", "name")),
        ("compounds", ("name",)),
        ("communities", ("code", "name")),
    ):
        if layer not in readable_layers(user.role):
            continue
        frame = app.layers.visible(layer, user)
        hit = pd.Series(False, index=frame.index)
        for column in columns:
            values = frame[column].astype(str).str.lower()
            hit |= values.str.startswith(text) if column == "code" else values.str.contains(text, regex=False)
        for fid, row in frame[hit].head(20).iterrows():
            label = " ".join(str(row[c]) for c in columns if pd.notna(row[c]))
            bounds = [round(float(v), 7) for v in row.geometry.bounds]
            found.append(
                {
                    "layer": layer,
                    "id": int(fid),
                    "label": f"{LAYER_SPECS[layer].title_zh} {label}",
                    "bbox": bounds,
                }
            )
    return found


# --- edits -------------------------------------------------------------------------------


FeatureBody = Annotated[
    FeatureIn,
    Body(
        description="a GeoJSON Feature; geometry in EPSG:4326",
        examples=[{"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.07, 30.66]},
                   "properties": {"name": "新驿站", "categories": "party_service_centre"}}],
    ),
]  # fmt: skip


#: how deep a GeoJSON geometry's positions lie in its coordinates, and what that nesting is
_NESTING = {
    "Point": (0, "[lon, lat]"),
    "MultiPoint": (1, "[[lon, lat], …]"),
    "LineString": (1, "[[lon, lat], …]"),
    "MultiLineString": (2, "[[[lon, lat], …], …]"),
    "Polygon": (2, "[[[lon, lat], …], …] (rings)"),
    "MultiPolygon": (3, "[[[[lon, lat], …], …], …] (polygons of rings)"),
}


def _positions(value: Any, depth: int) -> bool:
    """Whether ``value`` nests ``depth`` lists deep down to positions of 2 or 3 numbers."""
    if not isinstance(value, list):
        return False
    if depth == 0:
        return len(value) in (2, 3) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )
    return all(_positions(v, depth - 1) for v in value)


def _shape(geometry) -> Any:
    """A body's GeoJSON geometry as shapely (2-D, EPSG:4326), or None; InputError when unreadable."""
    if geometry is None:
        return None
    depth, nesting = _NESTING[geometry.type]
    if not _positions(geometry.coordinates, depth):
        raise InputError(
            [Problem(f"a {geometry.type}'s coordinates are {nesting}: positions of two numbers (a height may "
                     "follow)", field="geometry")]
        )  # fmt: skip
    try:  # heights are not kept
        return shapely.force_2d(shapely.geometry.shape(geometry.model_dump()))
    except Exception as exc:  # shapely names what it could not read
        raise InputError([Problem(f"the geometry cannot be read: {exc}", field="geometry")]) from None


def _parse(layer: str, feature: FeatureIn, *, geometry_required: bool) -> tuple[dict[str, Any], Any]:
    """The properties and the geometry (shapely, 2-D, EPSG:4326) of a Feature body."""
    props = feature.properties or {}
    if "id" in props:
        raise InputError(
            [Problem("the id is the service's and cannot be given or changed; leave it out", field="id")]
        )
    geometry = _shape(feature.geometry)
    if geometry is None and geometry_required and layer_spec(layer).geometry:
        raise InputError([Problem(f"a feature of '{layer}' needs a geometry", field="geometry")])
    return props, geometry


@router.post("/collections/{layer}/items", status_code=201, summary="add a feature (admin)")
def create(layer: str, body: FeatureBody, request: Request, app: State, user: CurrentUser) -> Response:
    _check_layer(layer, user)
    require(user, "edit_features", what="adding features")
    props, geometry = _parse(layer, body, geometry_required=True)
    check_edit(app, user, layer, values=props, geometry=geometry)
    margin = app.settings.district_margin_m
    new_id, _ = create_feature(app.engine, layer, props, geometry, user=user.name, margin_m=margin)
    location = f"{base_url(request)}/collections/{layer}/items/{new_id}"
    return _feature_response(app, user, layer, new_id, 201, {"Location": location})


def _update(layer, feature_id, body, app, user, if_match, *, replace: bool) -> Response:
    _check_layer(layer, user)
    require(user, "edit_features", what="editing features")
    props, geometry = _parse(layer, body, geometry_required=replace)
    check_edit(app, user, layer, stored_id=feature_id, values=props, geometry=geometry)
    if replace:  # fields not given are emptied
        props = {c: props.get(c) for c in layer_spec(layer).column_names} | props
    update_feature(
        app.engine, layer, feature_id, props, geometry, user=user.name, if_match=if_match,
        margin_m=app.settings.district_margin_m,
    )  # fmt: skip
    return _feature_response(app, user, layer, feature_id)


IfMatch = Annotated[str | None, Header(description="the ETag the change is based on")]


@router.put("/collections/{layer}/items/{feature_id}", summary="replace a feature (admin; needs If-Match)")
def replace(
    layer: str,
    feature_id: PathId,
    body: FeatureBody,
    app: State,
    user: CurrentUser,
    if_match: IfMatch = None,
) -> Response:
    return _update(layer, feature_id, body, app, user, if_match, replace=True)


@router.patch(
    "/collections/{layer}/items/{feature_id}",
    summary="change some fields of a feature (admin; needs If-Match)",
)
def patch(
    layer: str,
    feature_id: PathId,
    body: FeatureBody,
    app: State,
    user: CurrentUser,
    if_match: IfMatch = None,
) -> Response:
    return _update(layer, feature_id, body, app, user, if_match, replace=False)


@router.delete(
    "/collections/{layer}/items/{feature_id}",
    status_code=204,
    summary="delete a feature (admin; needs If-Match)",
)
def remove(
    layer: str, feature_id: PathId, app: State, user: CurrentUser, if_match: IfMatch = None
) -> Response:
    _check_layer(layer, user)
    require(user, "edit_features", what="deleting features")
    check_edit(app, user, layer, stored_id=feature_id)
    delete_feature(app.engine, layer, feature_id, user=user.name, if_match=if_match)
    return Response(status_code=204)


@router.get(
    "/audit",
    tags=["edits"],
    response_model=list[AuditEntry],
    summary="who changed what, newest first (admin)",
)
def audit(
    app: State,
    user: CurrentUser,
    layer: str | None = None,
    feature_id: Annotated[int | None, Query(ge=1, le=INT_RANGE[1])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict]:
    require(user, "audit_log", what="the audit log")
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if layer:
        query = query.where(audit_log.c.layer == layer)
    if feature_id is not None:
        query = query.where(audit_log.c.feature_id == feature_id)
    with reading(app.engine) as conn:  # one statement
        rows = conn.execute(query).mappings().all()
    return records(pd.DataFrame(rows, columns=[c.name for c in audit_log.c]))


@router.post(
    "/changesets",
    tags=["edits"],
    response_model=SavedChangeset,
    summary="save several edits at once with a comment, checked as gridmap validate checks (keepers of the "
    "data within their area)",
)
def changeset(body: ChangesetBody, app: State, user: CurrentUser) -> dict:
    require(user, "edit_features", what="saving edits")
    changes = []
    for change in body.changes:
        _check_layer(change.layer, user)
        if "id" in change.properties:
            raise InputError([Problem("the id is the service's; name the feature with `id` beside properties",
                                      field="id")])  # fmt: skip
        geometry = _shape(change.geometry)
        check_edit(app, user, change.layer, stored_id=change.id, values=change.properties, geometry=geometry)
        changes.append(
            Change(change.action, change.layer, change.id, change.properties, geometry, change.if_match)
        )
    tolerances = Tolerances.from_settings(app.settings)
    saved = save_changeset(app.engine, changes, user=user.name, comment=body.comment,
                           check=grid_map_check(tolerances), dry_run=body.dry_run,
                           margin_m=app.settings.district_margin_m)  # fmt: skip
    findings = json.loads(
        frame_collection(saved.findings, [c for c in saved.findings.columns if c != "geometry"])
    )
    return {"changeset_id": saved.changeset_id,
            "features": [{"layer": layer, "id": fid, "tag": tag} for layer, fid, tag in saved.features],
            "findings": findings}  # fmt: skip


@router.get(
    "/collections/{layer}/items/{feature_id}/history",
    tags=["edits"],
    response_model=list[FeatureVersion],
    summary="every version of a feature, oldest first, with who, when and the changeset's comment",
)
def history(layer: str, feature_id: PathId, app: State, user: CurrentUser) -> list[dict]:
    _check_layer(layer, user)
    require(user, "feature_history", what="a feature's history")
    require_in_area(app, user, layer, feature_id, f"no feature {feature_id} in '{layer}'")
    return feature_timeline(app.engine, layer, feature_id)


@router.post(
    "/collections/{layer}/items/{feature_id}/revert",
    tags=["edits"],
    summary="undo the last change of a feature (needs If-Match unless it was deleted)",
)
def revert(
    layer: str, feature_id: PathId, app: State, user: CurrentUser, if_match: IfMatch = None
) -> Response:
    _check_layer(layer, user)
    require(user, "edit_features", what="undoing edits")
    if feature_id in app.layers.frame(layer).index:
        check_edit(app, user, layer, stored_id=feature_id)
    else:  # deleted: who keeps where it was may bring it back
        last = feature_timeline(app.engine, layer, feature_id)
        before = last[-1]["before"] if last else None
        values = before["values"] if before else {}
        check_edit(app, user, layer, values=values, geometry=version_shape(before or {}))
    tag = revert_feature(app.engine, layer, feature_id, user=user.name, if_match=if_match,
                         margin_m=app.settings.district_margin_m)  # fmt: skip
    if tag is None:
        return Response(status_code=204)
    return _feature_response(app, user, layer, feature_id)
