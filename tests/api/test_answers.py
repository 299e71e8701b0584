"""The OpenAPI document says what every route answers, and says it truly: each JSON or GeoJSON
answer has a model of api.schemas, and the answers each role gets from the demo district
carry no key their model does not name."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from api import schemas

#: routes that answer something other than a JSON body of their own
NOT_JSON = {
    ("get", "/tiles/{layer}/{z}/{x}/{y}"),
    ("get", "/maps/{kind}.html"),
    ("post", "/auth/sign-out"),
    ("delete", "/collections/{layer}/items/{feature_id}"),
}
JSON_TYPES = ("application/json", "application/geo+json")


def _success(operation: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in operation["responses"].items() if k.startswith("2"))


def _model_of(schema: dict[str, Any]) -> tuple[type[BaseModel], bool]:
    """The model a response schema refers to, and whether the answer is a list of them."""
    many = schema.get("type") == "array"
    ref = (schema["items"] if many else schema)["$ref"]
    return getattr(schemas, ref.rsplit("/", 1)[1]), many


def test_every_json_answer_is_documented_by_a_model(client):
    doc = client.get("/openapi.json").json()
    undocumented = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if (method, path) in NOT_JSON:
                continue
            media = _success(operation).get("content", {})
            for kind in JSON_TYPES:
                if kind in media:
                    schema = media[kind]["schema"]
                    if "$ref" not in schema and "$ref" not in schema.get("items", {}):
                        undocumented.append(f"{method.upper()} {path} ({kind})")
    assert undocumented == [], "answers without a model: " + ", ".join(undocumented)
    components = doc["components"]["schemas"]
    for name in ("Who", "MyArea", "Run", "Scenario", "FeatureCollection", "JobStarted", "OrgReport"):
        assert name in components


def _integers(schema: dict) -> list[dict]:
    if schema.get("type") == "integer":
        return [schema]
    return [s for key in ("anyOf", "oneOf", "allOf") for part in schema.get(key, []) for s in _integers(part)]


def test_every_number_a_route_takes_says_its_range(client):
    """A number past the databases' range (2⁶⁴ as a photo's or a scenario's id) reached the
    database and ended in a 500: every integer parameter, and every number in a request's body,
    says its range, refused with 422 outside it."""
    doc = client.get("/openapi.json").json()
    open_ended = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        for schema in _integers(parameter.get("schema", {}))
        if "maximum" not in schema or "minimum" not in schema
    ]
    assert open_ended == []
    components = doc["components"]["schemas"]

    def unbounded(schema: dict, where: str, seen: set[str]) -> list[str]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return [] if name in seen else unbounded(components[name], name, seen | {name})
        found = []
        if schema.get("type") in ("integer", "number"):
            low = "minimum" in schema or "exclusiveMinimum" in schema
            high = "maximum" in schema or "exclusiveMaximum" in schema
            found += [] if low and high else [where]
        for key in ("anyOf", "oneOf", "allOf"):
            found += [w for part in schema.get(key, []) for w in unbounded(part, where, seen)]
        for name, part in schema.get("properties", {}).items():
            found += unbounded(part, f"{where}.{name}", seen)
        return found + (unbounded(schema["items"], f"{where}[]", seen) if "items" in schema else [])

    bodies = [
        w
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        for content in operation.get("requestBody", {}).get("content", {}).values()
        for w in unbounded(content["schema"], f"{method.upper()} {path}", set())
    ]
    assert bodies == [], "numbers a request body takes without a range: " + ", ".join(bodies)


def _extras(value: Any, where: str) -> list[str]:
    """Keys an answer holds that its models do not name, with where they are."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{where}.{k}" for k in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value[:50]):
            found += _extras(v, f"{where}[{i}]")
    return found


#: one request per documented JSON route that reads, with what it needs
READS = [
    "/?f=json",
    "/config.json",
    "/auth/me",
    "/conformance",
    "/collections",
    "/collections/grids",
    "/collections/buildings/items?limit=5",
    "/collections/grids/items/{grid_id}",
    "/search?q=5101",
    "/audit?limit=20",
    "/tiles/grids.json",
    "/tiles/coverage.json?category=clinic&level=15",
    "/who?lon={lon}&lat={lat}",
    "/my-area",
    "/assignments/history?target_layer=grids&target_id={grid_id}",
    "/coverage/runs",
    "/coverage/runs/latest",
    "/coverage/runs/latest/summary?scope=grid",
    "/coverage/runs/latest/summary?scope=area",
    "/coverage/runs/latest/compounds",
    "/coverage/runs/latest/gaps",
    "/coverage/runs/latest/circles?category=clinic",
    "/siting/scenarios",
    "/siting/scenarios/latest",
    "/siting/scenarios/latest/sites",
    "/org/report",
    "/org/missing/buildings_with_leader",
    "/grid-map/findings",
    "/grids/alignment?a=comprehensive&b=comprehensive",
    "/grids/proposal?community={community}",
]


@pytest.mark.parametrize("account", ["admin", "planner", "leader", "resident", "public"])
def test_each_roles_answers_name_only_what_their_models_name(client, auth, layers, leader_grid, account):
    doc = client.get("/openapi.json").json()
    point = leader_grid.geometry.representative_point()
    community = layers["communities"].loc[int(leader_grid["community_id"]), "code"]
    values = {"grid_id": int(leader_grid.name), "lon": point.x, "lat": point.y, "community": community}
    answered = 0
    for template in READS:
        url = template.format(**values)
        path = url.split("?")[0]
        route = _route_of(doc["paths"], path)
        response = client.get(url, headers=auth[account])
        if response.status_code != 200:
            assert response.status_code in (401, 403, 404), (url, response.status_code, response.text)
            continue
        media = _success(doc["paths"][route]["get"])["content"]
        kind = response.headers["content-type"].split(";")[0]
        model, many = _model_of(media[kind]["schema"])
        body = response.json()
        items = body if many else [body]
        for item in items:
            assert _extras(model.model_validate(item), f"{url} {model.__name__}") == []
        answered += 1
    assert answered >= (len(READS) - 3 if account == "admin" else 5)


def _route_of(paths: dict[str, Any], path: str) -> str:
    """The documented route (``/collections/{layer}``) that answers ``path``."""
    for route in paths:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route))
        if re.fullmatch(pattern, path):
            return route
    raise AssertionError(f"no route answers {path}")


def test_a_job_started_and_polled_matches_its_models(client, auth):
    started = client.post(
        "/coverage/runs", json={"levels": [15], "categories": ["clinic"]}, headers=auth["planner"]
    )
    assert started.status_code == 202
    assert _extras(schemas.JobStarted.model_validate(started.json()), "started") == []
    polled = client.get(started.headers["Location"], headers=auth["planner"])
    assert _extras(schemas.JobStatus.model_validate(polled.json()), "polled") == []


def test_writes_answer_what_their_models_name(client, auth, layers):
    grid = layers["grids"].index[0]
    made = client.post("/assignments", headers=auth["admin"],
                       json={"role": "grid_worker", "target_layer": "grids", "target_id": int(grid),
                             "person_name": "测试员"})  # fmt: skip
    assert made.status_code == 201, made.text
    assert _extras(schemas.Assigned.model_validate(made.json()), "assigned") == []
    ended = client.post(f"/assignments/{made.json()['id']}/end", json={}, headers=auth["admin"])
    assert _extras(schemas.Ended.model_validate(ended.json()), "ended") == []
    compound = int(layers["compounds"].index[0])
    branch = client.post(
        "/branches", json={"compound_ids": [compound], "branch_id": None}, headers=auth["admin"]
    )
    assert branch.status_code == 200, branch.text
    assert _extras(schemas.BranchAssigned.model_validate(branch.json()), "branch") == []


def test_sign_in_answers_a_bearer_token_with_its_type(client):
    body = client.post("/auth/token", json={"name": "planner", "password": "planner-pass"}).json()
    assert body["token_type"] == "bearer" and body["access_token"]
    assert _extras(schemas.Token.model_validate(body), "token") == []
