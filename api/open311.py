"""Open311 GeoReport v2 at ``/open311/v2/`` (discovery at ``/open311/discovery.json``), so
that existing Open311 clients list the event categories, file an event at ``lat``/``long``
and follow its status.

Services are the categories of the event catalogue; requests are events. Our states map onto
``open``/``closed`` with the state and level in ``status_notes``; the agency responsible is
the grid, community office or department that holds the event, never a person. Answers are
JSON or XML by the path's extension; errors are Open311's list of ``{code, description}``.
Filing needs a sign-in (any account) or one of the installation's API keys
(``GRIDMAP_OPEN311_API_KEYS``). A request read back never names its reporter; its description
and point go only to those the access table lets read the event (grid staff their grids',
planners and admins all): the public follows a request by its status alone. The routes speak
this standard rather than the service's own error contract, and are described by it, not by
``/openapi.json``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.auth import BearerToken, CurrentUser, State
from gridmap.accounts import PUBLIC, User, user_and_versions
from gridmap.errors import AccessError, AuthError, GridmapError, InputError, NotFoundError
from gridmap.events import CLOSED, DUPLICATE, NOT_OURS, load_catalogue
from gridmap.io.events import file_event
from gridmap.scope import visible_frame

router = APIRouter(prefix="/open311", tags=["Open311 GeoReport v2"], include_in_schema=False)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: our states that Open311 calls closed
CLOSED_STATES = (CLOSED, DUPLICATE, NOT_OURS)
#: what one GET /requests answers at most (the standard's default)
MAX_REQUESTS = 1000
#: the window GET /requests reads without start_date (the standard's default)
DEFAULT_DAYS = 90


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format '{fmt}' is not served; use .json or .xml")
    return fmt


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(element, key)
            if isinstance(value, list):
                for entry in value:
                    ET.SubElement(child, "item").text = str(entry)
            elif value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="utf-8")


def _answer(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status_code=status, media_type=FORMATS["xml"])
    return JSONResponse(rows, status_code=status, media_type=FORMATS["json"])


def _error(fmt: str, status: int, description: str) -> Response:
    return _answer(
        fmt if fmt in FORMATS else "json",
        "errors",
        "error",
        [{"code": status, "description": description}],
        status,
    )


def _open311(fmt: str, build: Any) -> Response:
    """Run ``build()`` and answer as Open311 does, errors included."""
    try:
        return build()
    except Open311Error as exc:
        return _error(fmt, exc.status, str(exc))
    except (AuthError, AccessError) as exc:
        return _error(fmt, 403, str(exc))
    except NotFoundError as exc:
        return _error(fmt, 404, str(exc))
    except GridmapError as exc:
        return _error(fmt, 400, str(exc).replace("1 problem found; nothing was written:\n  - ", ""))


def _iso(value: Any) -> str | None:
    """A stored naive UTC time as ISO 8601 with its zone, as the standard asks."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/discovery.json")
def discovery(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "changeset": "2026-12-04T00:00:00Z",
        "contact": "the district's grid governance office",
        "key_service": "API keys from the installation (GRIDMAP_OPEN311_API_KEYS), or sign in",
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base}/open311/v2", "changeset": "2026-12-04T00:00:00Z",
                       "type": "production", "formats": ["text/xml", "application/json"]}],
    })  # fmt: skip


def _services() -> list[dict[str, Any]]:
    catalogue = load_catalogue()
    return [
        {"service_code": c.id, "service_name": c.name_zh, "description": f"{c.name_zh} — {c.department}",
         "metadata": False, "type": "realtime", "keywords": c.id.replace("_", ","),
         "group": "resident" if c.residents else "staff"}
        for c in catalogue.categories.values()
    ]  # fmt: skip


@router.get("/v2/services.{fmt}")
def services(fmt: str) -> Response:
    return _open311(fmt, lambda: _answer(_format(fmt), "services", "service", _services()))


@router.get("/v2/services/{code}.{fmt}")
def service_definition(code: str, fmt: str) -> Response:
    def build() -> Response:
        _format(fmt)
        if code not in load_catalogue().categories:
            raise Open311Error(404, f"no service '{code}'")
        return _answer(fmt, "service_definition", "service", [{"service_code": code, "attributes": []}])

    return _open311(fmt, build)


def _in_full(app: Any, user: Any, events: pd.DataFrame) -> set[int]:
    """The events whose text and place ``user`` reads over Open311: those the access table
    gives them (grid staff their grids', planners and admins every one). Everyone else
    follows a request by its status alone: the public reads no event's description or point,
    as it reads no event anywhere else."""
    if user is PUBLIC:
        return set()
    return {int(i) for i in visible_frame("events", events, user.role, app.layers.area(user)).index}


def _request_rows(
    events: pd.DataFrame, history_at: dict[int, Any], in_full: set[int]
) -> list[dict[str, Any]]:
    catalogue = load_catalogue()
    rows = []
    for event_id, e in events.iterrows():
        shown = int(event_id) in in_full
        category = catalogue.categories.get(str(e["category"]))
        holder = {"grid": "网格", "community": "社区", "street": str(e["department"] or "街道")}[
            str(e["level"])
        ]
        rows.append({
            "service_request_id": str(event_id),
            "status": "closed" if e["state"] in CLOSED_STATES else "open",
            "status_notes": f"{e['state']} at the {e['level']} level",
            "service_name": category.name_zh if category else e["category"],
            "service_code": e["category"],
            "description": e["description"] if shown and pd.notna(e["description"]) else None,
            "agency_responsible": holder,
            "service_notice": None,
            "requested_datetime": _iso(e["filed_at"]),
            "updated_datetime": _iso(history_at.get(int(event_id), e["filed_at"])),
            "expected_datetime": _iso(e["due_at"]),
            "address": None,
            "address_id": None,
            "zipcode": None,
            "lat": round(float(e.geometry.y), 7) if shown else None,
            "long": round(float(e.geometry.x), 7) if shown else None,
            "media_url": None,
        })  # fmt: skip
    return rows


def _updated(app: Any, ids: list[int]) -> dict[int, Any]:
    from sqlalchemy import func, select

    from gridmap.store.engine import reading
    from gridmap.store.tables import event_history

    if not ids:
        return {}
    with reading(app.engine) as conn:  # one statement
        query = (select(event_history.c.event_id, func.max(event_history.c.at))
                 .where(event_history.c.event_id.in_(ids)).group_by(event_history.c.event_id))  # fmt: skip
        return {int(i): at for i, at in conn.execute(query)}


def _when(text: str | None, name: str) -> pd.Timestamp | None:
    if not text:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise Open311Error(400, f"{name} '{text}' is not an ISO 8601 time") from None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


@router.get("/v2/requests.{fmt}")
def requests(
    fmt: str,
    app: State,
    user: CurrentUser,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    def build() -> Response:
        _format(fmt)
        events = app.layers.frame("events")
        if service_request_id:
            wanted = [int(i) for i in service_request_id.split(",") if i.strip().isdigit()]
            events = events[events.index.isin(wanted)]
        else:
            start = _when(start_date, "start_date")
            end = _when(end_date, "end_date")
            filed = pd.to_datetime(events["filed_at"])
            if start is None:
                start = (end or pd.Timestamp.now(tz="UTC").tz_localize(None)) - pd.Timedelta(
                    days=DEFAULT_DAYS
                )
            events = events[
                (filed >= start).to_numpy() & ((filed < end).to_numpy() if end is not None else True)
            ]
            if service_code:
                events = events[events["category"].isin(service_code.split(","))]
            if status in ("open", "closed"):
                closed = events["state"].isin(CLOSED_STATES)
                events = events[closed if status == "closed" else ~closed]
            elif status:
                raise Open311Error(400, f"status '{status}': expected open or closed")
            events = events.sort_values("filed_at", ascending=False).head(MAX_REQUESTS)
        rows = _request_rows(
            events, _updated(app, [int(i) for i in events.index]), _in_full(app, user, events)
        )
        return _answer(fmt, "service_requests", "request", rows)

    return _open311(fmt, build)


def _key_name(keys: list[str], key: str | None) -> str:
    """Who filed with an API key, as the audit log names it: the key's place in the settings,
    never the key itself."""
    return f"open311 key {keys.index(key) + 1}" if key in keys else "open311"


def _stored(events: pd.DataFrame, text: str) -> int:
    """The event a request id (or token) names; Open311's 404 when there is none."""
    if not text.isdigit() or int(text) not in events.index:
        raise Open311Error(404, f"no service request '{text}'")
    return int(text)


@router.get("/v2/requests/{request_id}.{fmt}")
def request_one(request_id: str, fmt: str, app: State, user: CurrentUser) -> Response:
    def build() -> Response:
        _format(fmt)
        events = app.layers.frame("events")
        event_id = _stored(events, request_id)
        one = events.loc[[event_id]]
        rows = _request_rows(one, _updated(app, [event_id]), _in_full(app, user, one))
        return _answer(fmt, "service_requests", "request", rows)

    return _open311(fmt, build)


@router.get("/v2/tokens/{token}.{fmt}")
def token(token: str, fmt: str, app: State) -> Response:
    """Requests are realtime (their id comes with the answer); a token is the id itself."""

    def build() -> Response:
        _format(fmt)
        _stored(app.layers.frame("events"), token)
        return _answer(fmt, "service_requests", "request", [{"service_request_id": token, "token": token}])

    return _open311(fmt, build)


class Filing(BaseModel):
    """The form fields of a new request (GeoReport v2 POST /requests); others are ignored."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    description: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    api_key: str | None = None
    address_string: str | None = None  # accepted, not used: events are placed by lat/long


@router.post("/v2/requests.{fmt}")
async def file_request(fmt: str, app: State, token: BearerToken, form: Annotated[Filing, Form()]) -> Response:
    """One trip to a worker thread: the caller's token and every layer's version read in one
    statement (a bad token answered 401 as everywhere), then the event filed."""

    def answer() -> Response:
        if token is None:
            user, versions = PUBLIC, app.layers.versions()
        else:
            user, versions = user_and_versions(app.engine, token)
        return _open311(fmt, lambda: build(user, versions))

    def build(user: User, versions: dict[str, int]) -> Response:
        _format(fmt)
        api_key = form.api_key
        if user is PUBLIC and (not api_key or api_key not in app.settings.open311_api_keys):
            raise Open311Error(403, "filing needs a sign-in (Authorization: Bearer) or a valid api_key")
        if not form.service_code:
            raise Open311Error(400, "service_code is required")
        lat, long = form.lat, form.long
        try:
            lon_value, lat_value = float(long or ""), float(lat or "")
        except ValueError:
            raise Open311Error(400, "lat and long are required, as decimal degrees (WGS 84)") from None
        if not (-180 <= lon_value <= 180 and -90 <= lat_value <= 90):
            raise InputError(f"lat {lat}, long {long} are not WGS 84 degrees")
        name = " ".join(p for p in (form.last_name, form.first_name) if p) or None
        staff = user is not PUBLIC and user.role != "public"
        filed = file_event(
            app.engine, lon=lon_value, lat=lat_value, category=form.service_code,
            description=form.description, source="patrol" if staff else "resident", reporter=name, phone=form.phone,
            user=user.name if user is not PUBLIC else _key_name(app.settings.open311_api_keys, api_key),
            lookup=app.layers.responsibility(versions),
        )  # fmt: skip
        notice = f"送往网格 {filed.placement.grid_id}，限 {filed.due_at:%Y-%m-%d %H:%M} UTC 前办结"
        rows = [{"service_request_id": str(filed.event_id), "service_notice": notice, "account_id": None}]
        return _answer(fmt, "service_requests", "request", rows, status=201)

    return await run_in_threadpool(answer)
