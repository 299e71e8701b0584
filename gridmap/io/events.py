"""Filing grid events and moving them along their steps (:mod:`gridmap.events`), each write in
one transaction with its step in ``event_history``, an audit record and the layer's version.

Filing places the event through the same point lookup as ``/who`` and gives it to the grid
leader in office there; escalation by the clock (:func:`escalate_due`) moves what waits
unclaimed past its claim deadline up a level, and at the street calls the category's
department. Times are naive UTC datetimes; ``now`` may be given (a frozen clock in tests).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, Insert, func, insert, select, update

from gridmap.errors import ConflictError, InputError, NotFoundError, Problem
from gridmap.events import (
    ACCEPTED,
    CLOCK,
    CLOSED,
    ESCALATED,
    IN_PROGRESS,
    REPORTED,
    RESOLVED,
    STAFF,
    Catalogue,
    Category,
    Placement,
    check_step,
    escalation_due,
    load_catalogue,
    next_level,
    place,
)
from gridmap.io.validate import out_of_bounds
from gridmap.model import layer_spec
from gridmap.responsibility import LAYERS as WHO_LAYERS
from gridmap.responsibility import Responsibility
from gridmap.store.engine import write_transaction
from gridmap.store.layers import add_wkb, bump_version, insert_values, python_value, read_layer, record_audit
from gridmap.store.tables import LAYER_TABLES, event_history, event_photos

#: hours an event waits at a level to be claimed before it escalates (吹哨)
CLAIM_HOURS = 24.0


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class Filed:
    """A filed event: its id and where it went."""

    event_id: int
    placement: Placement
    category: str
    department: str
    due_at: dt.datetime


def responsibility(engine: Engine | Connection) -> Responsibility:
    """The point lookup of ``/who`` over the stored layers."""
    return Responsibility({name: read_layer(engine, name) for name in WHO_LAYERS})


def file_event(
    engine: Engine,
    *,
    lon: float,
    lat: float,
    category: str,
    description: str | None = None,
    source: str = "resident",
    reporter: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    generated: bool = False,
    user: str = "cli",
    now: dt.datetime | None = None,
    claim_hours: float = CLAIM_HOURS,
    lookup: Responsibility | None = None,
    catalogue: Catalogue | None = None,
) -> Filed:
    """File an event at (``lon``, ``lat``, EPSG:4326): placed in its grid, given to the grid
    leader in office there, due within its category's hours. InputError for a category
    residents may not file, a point outside every grid, or a bad value, with nothing stored."""
    catalogue = catalogue or load_catalogue()
    kind = catalogue.category(category)
    if source == "resident" and not kind.residents:
        raise InputError(f"residents do not file '{category}' events ({kind.name_zh}); the grid's staff do")
    now = now or utc_now()
    placement = place((lookup or responsibility(engine)).at(lon, lat, now.date()))
    values = event_row(placement, kind, catalogue.version, filed_at=now, claim_hours=claim_hours,
                       description=description, source=source, reporter=reporter, phone=phone,
                       external_id=external_id, generated=generated)  # fmt: skip
    with write_transaction(engine) as conn:
        role = "reporter" if source == "resident" else STAFF
        event_id = record_filing(conn, values, shapely.Point(lon, lat), user=user, role=role)
        record_audit(conn, user=user, action="file", layer="events", feature_id=event_id,
                     detail={"category": category, "grid_id": placement.grid_id})  # fmt: skip
        bump_version(conn, "events")
    return Filed(event_id, placement, category, kind.department, values["due_at"])


def event_row(
    placement: Placement, kind: Category, catalogue_version: int, *, filed_at: dt.datetime,
    claim_hours: float = CLAIM_HOURS, **given: Any,
) -> dict[str, Any]:  # fmt: skip
    """The column values of a new event: reported at the grid where ``placement`` put it, its
    category's department and deadline, its claim deadline ``claim_hours`` after ``filed_at``;
    ``given`` holds what the reporter gave (description, source, reporter, phone, …)."""
    claim_due = filed_at + dt.timedelta(hours=claim_hours)
    return {
        "category": kind.id, "state": REPORTED, "level": "grid", "department": kind.department,
        "assignee": placement.assignee, "street_id": placement.street_id,
        "community_id": placement.community_id, "grid_id": placement.grid_id,
        "compound_id": placement.compound_id, "building_id": placement.building_id, "filed_at": filed_at,
        "first_claim_due_at": claim_due, "claim_due_at": claim_due,
        "due_at": filed_at + dt.timedelta(hours=kind.deadline_hours), "escalations": 0,
        "catalogue_version": catalogue_version, **given,
    }  # fmt: skip


def record_filing(
    conn: Connection, values: dict[str, Any], point: shapely.Point, *, user: str, role: str
) -> int:  # fmt: skip
    """Store one placed event (its column values, its point in EPSG:4326) with the first step
    of its chain, on an open transaction, each value checked against its column as an import
    checks a row — the ids come from the stored layers' own lookup. Returns its id."""
    spec = layer_spec("events")
    problems = []
    row: dict[str, Any] = {}
    for column in spec.columns:
        value = values.get(column.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if column.required:
                problems.append(Problem("required value is empty", file="new event", field=column.name))
            continue
        wrong = out_of_bounds(value, column)
        if wrong:
            problems.append(Problem(wrong, file="new event", field=column.name))
        row[column.name] = python_value(value, column.kind)
    if problems:
        raise InputError(problems)
    add_wkb([row], np.array([point], dtype=object), "POINT")
    event_id = int(conn.execute(_new_event(conn.dialect.name, tuple(row)), row).scalar_one())
    _step(conn, event_id, None, REPORTED, str(values["level"]), user, role, values.get("assignee"), None,
          values["filed_at"])  # fmt: skip
    return event_id


@functools.lru_cache(maxsize=64)
def _new_event(dialect: str, names: tuple[str, ...]) -> Insert:
    """The INSERT of an event with values for ``names``, built once for each set of names and
    each database (compiling it for SpatiaLite renames its spatial function in place)."""
    table = LAYER_TABLES["events"]
    return insert(table).values(insert_values(list(names), True)).returning(table.c.id)


_NEW_STEP = insert(event_history)


def _step(
    conn: Connection, event_id: int, before: str | None, after: str, level: str, user: str, role: str,
    assignee: str | None, note: str | None, at: dt.datetime,
) -> None:  # fmt: skip
    conn.execute(_NEW_STEP, {
        "event_id": event_id, "at": at, "from_state": before, "to_state": after, "level": level, "by_user": user,
        "by_role": role, "assignee": assignee, "note": note,
    })  # fmt: skip


def _locked_event(conn: Connection, event_id: int) -> pd.Series:
    table = LAYER_TABLES["events"]
    conn.execute(select(table.c.id).where(table.c.id == int(event_id)).with_for_update())
    found = read_layer(conn, "events", ids=[int(event_id)])
    if found.empty:
        raise NotFoundError(f"no event {event_id}")
    return found.iloc[0]


def move_event(
    engine: Engine,
    event_id: int,
    to: str,
    *,
    by: str = STAFF,
    user: str = "cli",
    note: str | None = None,
    rating: int | None = None,
    assignee: str | None = None,
    now: dt.datetime | None = None,
    claim_hours: float = CLAIM_HOURS,
    catalogue: Catalogue | None = None,
) -> pd.Series:
    """Move event ``event_id`` to state ``to`` as ``by`` (staff, reporter or the clock),
    checked against :data:`gridmap.events.TRANSITIONS` while the event is locked, so of two
    moves from one state only the first is made; the clock escalates only an event still
    waiting past its deadline then. Returns the event as stored after."""
    now = now or utc_now()
    if rating is not None and (to != CLOSED or not 1 <= int(rating) <= 5):
        raise InputError("a rating (1–5) is given when an event is closed")
    with write_transaction(engine) as conn:
        event = _locked_event(conn, event_id)
        check_step(str(event["state"]), to, by=by, note=note)
        if by == CLOCK and to == ESCALATED and not len(escalation_due(pd.DataFrame([event]), now)):
            # another run of the clock moved it (and gave it a new deadline) since it was read
            raise ConflictError(f"event {event_id} no longer waits unclaimed past its deadline")
        changes: dict[str, Any] = {"state": to}
        if to == ESCALATED:
            changes.update(_escalation(event, now, claim_hours, catalogue or load_catalogue()))
        if to == ACCEPTED and pd.isna(event["accepted_at"]):
            changes["accepted_at"] = now
        if to == RESOLVED:
            changes["resolved_at"] = now
        if to == CLOSED:
            changes["closed_at"] = now
            changes["rating"] = rating
        if to == IN_PROGRESS and event["state"] in (RESOLVED, CLOSED):  # reopened: not solved after all
            changes.update(resolved_at=None, closed_at=None, rating=None)
        if assignee is not None:
            changes["assignee"] = assignee
        table = LAYER_TABLES["events"]
        conn.execute(update(table).where(table.c.id == int(event_id)).values(**changes))
        _step(conn, int(event_id), str(event["state"]), to, changes.get("level", event["level"]), user, by,
              changes.get("assignee", event["assignee"]), note, now)  # fmt: skip
        record_audit(conn, user=user, action=f"event {to}", layer="events", feature_id=int(event_id),
                     detail={"from": event["state"], "note": note})  # fmt: skip
        bump_version(conn, "events")
        return read_layer(conn, "events", ids=[int(event_id)]).iloc[0]


def _escalation(
    event: pd.Series, now: dt.datetime, claim_hours: float, catalogue: Catalogue
) -> dict[str, Any]:
    """What escalating ``event`` one level up changes: the level, the count, the claim
    deadline and who holds it (the community's office, then the category's department,
    which has the catalogue's hours to report for duty)."""
    level = next_level(str(event["level"]))
    if level is None:
        return {
            "claim_due_at": now + dt.timedelta(hours=claim_hours),
            "escalations": int(event["escalations"]) + 1,
        }
    hours = catalogue.category(str(event["category"])).report_hours if level == "street" else claim_hours
    holder = str(event["department"]) if level == "street" else None
    return {
        "level": level,
        "escalations": int(event["escalations"] or 0) + 1,
        "claim_due_at": now + dt.timedelta(hours=hours),
        "assignee": holder,
    }


def escalate_due(
    engine: Engine, *, now: dt.datetime | None = None, claim_hours: float = CLAIM_HOURS, user: str = "clock"
) -> list[int]:
    """Escalate (吹哨) every event left unclaimed past its claim deadline below the street;
    returns their ids. At the street an unclaimed event stays, overdue for its department."""
    now = now or utc_now()
    catalogue = load_catalogue()
    with engine.connect() as conn:
        events = read_layer(conn, "events", columns=["state", "level", "claim_due_at"])
    moved = []
    for event_id in escalation_due(events, now):
        try:
            move_event(engine, int(event_id), ESCALATED, by=CLOCK, user=user, now=now,
                       claim_hours=claim_hours, catalogue=catalogue,
                       note=f"unclaimed past its deadline at the {events.at[event_id, 'level']}")  # fmt: skip
        except ConflictError:  # claimed in the meantime: its state no longer allows it
            continue
        moved.append(int(event_id))
    return moved


def event_history_of(engine: Engine, event_id: int) -> pd.DataFrame:
    """The chain of an event's states: when, from, to, at which level, by whom, with a note."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(event_history)
            .where(event_history.c.event_id == int(event_id))
            .order_by(event_history.c.id)
        )
        return pd.DataFrame(rows.mappings().all())


#: photos of an event: the largest accepted (bytes), how many an event keeps, and the image
#: types accepted, known by their first bytes rather than by what a client says they are
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 9
PHOTO_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def photo_type(data: bytes) -> str | None:
    """The image type of ``data`` by its first bytes (JPEG, PNG, WebP), or None."""
    for magic, kind in PHOTO_TYPES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def add_photo(
    engine: Engine, event_id: int, data: bytes, *, user: str, now: dt.datetime | None = None
) -> int:
    """Keep a photo of event ``event_id``; InputError for one over ``MAX_PHOTO_BYTES``, not a
    JPEG, PNG or WebP image, or past ``MAX_PHOTOS``. Returns its id."""
    if len(data) > MAX_PHOTO_BYTES:
        raise InputError(
            f"the photo is {len(data) / 1024 / 1024:.1f} MiB; at most {MAX_PHOTO_BYTES // 1024 // 1024} MiB are kept"
        )
    kind = photo_type(data)
    if kind is None:
        raise InputError("the file is not a JPEG, PNG or WebP image (judged by its first bytes)")
    with write_transaction(engine) as conn:
        _locked_event(conn, event_id)
        count = conn.execute(
            select(func.count()).where(event_photos.c.event_id == int(event_id))
        ).scalar_one()
        if count >= MAX_PHOTOS:
            raise InputError(f"event {event_id} has {count} photos already; at most {MAX_PHOTOS} are kept")
        photo_id = conn.execute(insert(event_photos).values(
            event_id=int(event_id), at=now or utc_now(), by_user=user, content_type=kind, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), data=data,
        ).returning(event_photos.c.id)).scalar_one()  # fmt: skip
        record_audit(conn, user=user, action="event photo", layer="events", feature_id=int(event_id),
                     detail={"photo": int(photo_id), "bytes": len(data), "type": kind})  # fmt: skip
        bump_version(conn, "events")
    return int(photo_id)


def photo(engine: Engine, event_id: int, photo_id: int) -> tuple[str, bytes]:
    """A kept photo of an event: its type and bytes (NotFoundError when there is none)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(event_photos.c.content_type, event_photos.c.data).where(
                event_photos.c.id == int(photo_id), event_photos.c.event_id == int(event_id)
            )
        ).first()
    if row is None:
        raise NotFoundError(f"no photo {photo_id} of event {event_id}")
    return str(row[0]), bytes(row[1])
