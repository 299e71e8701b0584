"""Open311 GeoReport v2 against the running service, with a client of its own (the standard
library's urllib, forms and XML as the standard has them): discovery, services, a request
filed and read back in JSON and XML, errors as the standard lists them, no personal data."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip


def _call(url: str, *, form: dict | None = None, token: str | None = None) -> tuple[int, str, bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if form is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.fixture(scope="module")
def resident_token(auth) -> str:
    """A resident's bearer token (tokens live in the database: the running service reads it)."""
    return auth["resident"]["Authorization"].removeprefix("Bearer ")


def test_discovery_and_services_in_json_and_xml(live_url):
    status, kind, body = _call(f"{live_url}/open311/discovery.json")
    (endpoint,) = json.loads(body)["endpoints"]
    assert status == 200 and endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {
        "text/xml",
        "application/json",
    }
    status, kind, body = _call(f"{live_url}/open311/v2/services.json")
    services = json.loads(body)
    assert status == 200 and kind.startswith("application/json") and len(services) >= 6
    assert all(set(s) == SERVICE_FIELDS for s in services)
    assert {"environment", "safety_hazard"} <= {s["service_code"] for s in services}
    status, kind, body = _call(f"{live_url}/open311/v2/services.xml")
    root = ET.fromstring(body)
    assert (
        status == 200
        and kind.startswith("text/xml")
        and body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    )
    assert root.tag == "services" and {c.tag for c in root[0]} == SERVICE_FIELDS
    status, _, body = _call(f"{live_url}/open311/v2/services/environment.json")
    assert status == 200 and json.loads(body)[0]["service_code"] == "environment"
    status, _, body = _call(f"{live_url}/open311/v2/services/lamp.xml")
    error = ET.fromstring(body)[0]
    assert status == 404 and error.tag == "error" and error.find("code").text == "404"


def test_a_resident_files_an_event_that_lands_with_the_grid_leader(
    live_url, resident_token, service_db, layers, auth
):
    terms = layers["assignments"]
    open_ = terms[
        (terms["target_layer"] == "grids") & (terms["role"] == "grid_leader") & terms["valid_to"].isna()
    ]
    grid = layers["grids"].loc[int(open_["target_id"].iloc[0])]
    leader = open_[open_["target_id"] == grid.name]["person_name"].iloc[0]
    point = grid.geometry.representative_point()
    form = {"service_code": "environment", "lat": f"{point.y:.7f}", "long": f"{point.x:.7f}",
            "description": "楼下垃圾三天没人清", "first_name": "小明", "last_name": "王", "phone": "10012345678"}  # fmt: skip
    status, _kind, body = _call(f"{live_url}/open311/v2/requests.json", form=form, token=resident_token)
    assert status == 201, body
    (created,) = json.loads(body)
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    event_id = created["service_request_id"]
    engine = make_engine(service_db)
    event = read_layer(engine, "events").loc[int(event_id)]
    engine.dispose()
    assert (event["grid_id"], event["assignee"], event["reporter"], event["source"]) == (
        grid.name,
        leader,
        "王 小明",
        "resident",
    )
    status, _, body = _call(f"{live_url}/open311/v2/requests/{event_id}.json")
    (read,) = json.loads(body)
    assert status == 200 and set(read) == REQUEST_FIELDS
    assert (read["status"], read["service_code"], read["service_request_id"]) == (
        "open",
        "environment",
        event_id,
    )
    # the public follows the request by its status: its text and point are the event's, which it reads nowhere
    assert read["requested_datetime"].endswith("Z") and (read["description"], read["lat"], read["long"]) == (
        None,
        None,
        None,
    )
    assert "小明" not in body.decode() and "10012345678" not in body.decode() and leader not in body.decode()
    admin = auth["admin"]["Authorization"].removeprefix("Bearer ")
    status, _, body = _call(f"{live_url}/open311/v2/requests/{event_id}.json", token=admin)
    (read,) = json.loads(body)
    assert read["description"] == "楼下垃圾三天没人清" and read["lat"] == pytest.approx(point.y, abs=1e-6)
    assert "小明" not in body.decode() and "10012345678" not in body.decode() and leader not in body.decode()
    listed = json.loads(_call(f"{live_url}/open311/v2/requests.json", token=resident_token)[2])
    assert listed and all(r["description"] is None and r["lat"] is None for r in listed)
    status, _, body = _call(f"{live_url}/open311/v2/requests/{event_id}.xml")
    request = ET.fromstring(body).find("request")
    assert status == 200 and request.find("service_request_id").text == event_id
    assert {c.tag for c in request} == REQUEST_FIELDS
    listed = json.loads(_call(f"{live_url}/open311/v2/requests.json?status=open")[2])
    assert event_id in {r["service_request_id"] for r in listed}
    assert event_id not in {
        r["service_request_id"]
        for r in json.loads(_call(f"{live_url}/open311/v2/requests.json?status=closed")[2])
    }
    assert json.loads(_call(f"{live_url}/open311/v2/tokens/{event_id}.json")[2]) == [
        {"service_request_id": event_id, "token": event_id}
    ]


def test_filing_errors_are_open311_errors_and_store_nothing(live_url, resident_token, layers):
    point = layers["grids"].geometry.iloc[0].representative_point()
    good = {"service_code": "environment", "lat": str(point.y), "long": str(point.x)}
    count = len(json.loads(_call(f"{live_url}/open311/v2/requests.json")[2]))
    cases = [
        (good, None, 403, "sign-in"),
        ({**good, "api_key": "guess"}, None, 403, "api_key"),
        ({**good, "lat": "north"}, resident_token, 400, "lat and long"),
        ({**good, "service_code": "lamp"}, resident_token, 400, "unknown event category 'lamp'"),
        ({**good, "service_code": "illegal_construction"}, resident_token, 400, "residents do not file"),
        ({**good, "lat": "30.0", "long": "104.0"}, resident_token, 400, "outside every grid"),
    ]
    for form, token, status, words in cases:
        got, _kind, body = _call(f"{live_url}/open311/v2/requests.json", form=form, token=token)
        (error,) = json.loads(body)
        assert (got, error["code"]) == (status, status) and words in error["description"], (form, body)
    got, _, body = _call(
        f"{live_url}/open311/v2/requests.xml", form={**good, "lat": "x"}, token=resident_token
    )
    assert got == 400 and ET.fromstring(body).tag == "errors"
    got, _, body = _call(f"{live_url}/open311/v2/requests.json", form=good, token="not-a-token")
    assert got == 401 and "not known" in json.loads(body)["detail"]  # refused as on every route
    assert len(json.loads(_call(f"{live_url}/open311/v2/requests.json")[2])) == count


def test_an_api_key_files_without_a_sign_in_and_is_not_written_down(service_db, layers):
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from api.main import create_app
    from gridmap.settings import Settings

    point = layers["grids"].geometry.iloc[0].representative_point()
    form = {"service_code": "environment", "lat": str(point.y), "long": str(point.x), "api_key": "k-secret-2"}
    with TestClient(
        create_app(Settings(database_url=service_db, open311_api_keys=["k-1", "k-secret-2"]))
    ) as c:
        r = c.post("/open311/v2/requests.json", data=form)
        assert r.status_code == 201, r.text
    engine = make_engine(service_db)
    with engine.connect() as conn:
        users = {u for (u,) in conn.execute(text("SELECT user_name FROM audit_log WHERE action = 'file'"))}
    engine.dispose()
    assert "open311 key 2" in users and not any("secret" in u for u in users)
