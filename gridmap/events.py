"""Grid events (吹哨报到): the catalogue of categories, the states an event goes through and who
may move it, escalation by the clock, and the figures districts report (响应率, 办结率, 满意率).

An event is filed at a point, placed in its grid, and waits there to be accepted; left
unclaimed past its claim deadline it escalates (吹哨) grid → community → street, and at the
street its category's department is called to report for duty (报到) within the
catalogue's hours. Every move is a step of :data:`TRANSITIONS`; times are naive UTC
datetimes. Pure functions on plain values and frames: storing them is
:mod:`gridmap.io.events`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from gridmap.errors import ConflictError, InputError
from gridmap.model import EVENT_LEVELS, EVENT_SOURCES, EVENT_STATES
from gridmap.packaged import packaged_yaml

CATALOGUE_FILE = "event_categories.yaml"

REPORTED, ACCEPTED, ASSIGNED, IN_PROGRESS = "reported", "accepted", "assigned", "in_progress"
RESOLVED, CLOSED, RETURNED, ESCALATED = "resolved", "closed", "returned", "escalated"
DUPLICATE, NOT_OURS = "duplicate", "not_ours"
STATES: tuple[str, ...] = EVENT_STATES
#: states that end an event (closed may be reopened, with a reason)
ENDED: tuple[str, ...] = (CLOSED, DUPLICATE, NOT_OURS)
#: states in which an event waits for no one at its grid: ended, or solved and waiting for the
#: resident's word
AWAITING_OTHERS: tuple[str, ...] = (*ENDED, RESOLVED)
#: states that wait for someone to claim the event at its level
UNCLAIMED: tuple[str, ...] = (REPORTED, ESCALATED)
#: where an event is handled, in the order it escalates (吹哨)
LEVELS: tuple[str, ...] = EVENT_LEVELS
#: how an event came in
SOURCES: tuple[str, ...] = EVENT_SOURCES

STAFF, REPORTER, CLOCK = "staff", "reporter", "clock"


@dataclass(frozen=True)
class Step:
    """A move an event may make: who may make it, and whether it needs a note saying why."""

    by: tuple[str, ...]
    note: bool = False


_STAFF = Step((STAFF,))
_STAFF_WHY = Step((STAFF,), note=True)
#: every move an event may make, by its state now: the one table the service and the command
#: line check (no skipping ahead, no reopening a closed event without a reason)
TRANSITIONS: Mapping[str, Mapping[str, Step]] = {
    REPORTED: {ACCEPTED: _STAFF, ESCALATED: Step((STAFF, CLOCK)), RETURNED: _STAFF_WHY,
               DUPLICATE: _STAFF_WHY, NOT_OURS: _STAFF_WHY},
    ESCALATED: {ACCEPTED: _STAFF, ESCALATED: Step((STAFF, CLOCK)), RETURNED: _STAFF_WHY,
                DUPLICATE: _STAFF_WHY, NOT_OURS: _STAFF_WHY},
    ACCEPTED: {ASSIGNED: _STAFF, IN_PROGRESS: _STAFF, ESCALATED: _STAFF_WHY, RETURNED: _STAFF_WHY},
    ASSIGNED: {IN_PROGRESS: _STAFF, ESCALATED: _STAFF_WHY, RETURNED: _STAFF_WHY},
    IN_PROGRESS: {RESOLVED: _STAFF, ESCALATED: _STAFF_WHY},
    RESOLVED: {CLOSED: Step((STAFF, REPORTER)), IN_PROGRESS: Step((STAFF, REPORTER), note=True)},
    RETURNED: {REPORTED: Step((STAFF, REPORTER), note=True)},
    CLOSED: {IN_PROGRESS: _STAFF_WHY},
    DUPLICATE: {},
    NOT_OURS: {},
}  # fmt: skip


@dataclass(frozen=True)
class Category:
    """A category of the catalogue: its department, the hours that department has to report
    for duty and the hours to solve an event, and whether residents may file it."""

    id: str
    name_zh: str
    department: str
    report_hours: float
    deadline_hours: float
    residents: bool


@dataclass(frozen=True)
class Catalogue:
    version: int
    categories: Mapping[str, Category]

    def category(self, category_id: str) -> Category:
        try:
            return self.categories[category_id]
        except KeyError:
            known = ", ".join(self.categories)
            raise InputError(f"unknown event category '{category_id}'; expected one of: {known}") from None


def parse_catalogue(data: Any, source: str = CATALOGUE_FILE) -> Catalogue:
    """A catalogue from its YAML form; InputError naming the entry and field that is wrong."""
    try:
        version = int(data["version"])
        categories = {}
        for i, entry in enumerate(data["categories"], start=1):
            try:
                category = Category(
                    id=str(entry["id"]), name_zh=str(entry["name_zh"]), department=str(entry["department"]),
                    report_hours=float(entry["report_hours"]), deadline_hours=float(entry["deadline_hours"]),
                    residents=bool(entry["residents"]),
                )  # fmt: skip
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{source}: category {i}: missing or bad field {exc}") from None
            if category.report_hours <= 0 or category.deadline_hours <= 0:
                raise InputError(f"{source}: category {category.id}: hours must be more than 0")
            categories[category.id] = category
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: not an event catalogue ({exc})") from None
    return Catalogue(version, categories)


@cache
def load_catalogue() -> Catalogue:
    """The catalogue packaged with gridmap."""
    return parse_catalogue(packaged_yaml(CATALOGUE_FILE))


def check_step(state: str, to: str, *, by: str, note: str | None = None) -> None:
    """Refuse a move that :data:`TRANSITIONS` does not allow from ``state`` for ``by``
    (staff, reporter or the clock), or that needs a note and has none (ConflictError)."""
    if to not in STATES:
        raise InputError(f"'{to}' is not a state of an event; expected one of: {', '.join(STATES)}")
    allowed = TRANSITIONS[state]
    step = allowed.get(to)
    if step is None:
        nexts = ", ".join(allowed) or "none: it has ended"
        raise ConflictError(f"an event {state} cannot become {to}; from {state} it may become: {nexts}")
    if by not in step.by:
        raise ConflictError(f"an event {state} is made {to} by {' or '.join(step.by)}, not by the {by}")
    if step.note and not (note and note.strip()):
        raise ConflictError(f"making an event {state} → {to} needs a note saying why")


def next_level(level: str) -> str | None:
    """The level an event escalates to from ``level`` (None at the street: it stays, overdue)."""
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def escalation_due(events: pd.DataFrame, now: dt.datetime) -> pd.Index:
    """The ids (index) of ``events`` waiting unclaimed past their claim deadline below the
    street (columns ``state``, ``level``, ``claim_due_at``)."""
    if not len(events):
        return events.index
    waiting = events["state"].isin(UNCLAIMED) & (events["level"] != LEVELS[-1])
    late = pd.to_datetime(events["claim_due_at"]) < pd.Timestamp(now)
    return events.index[(waiting & late).to_numpy()]


#: the figures of :func:`event_figures`, with their names in district reports
FIGURES: Mapping[str, str] = {
    "filed": "报送事件",
    "responded_in_time": "按时响应",
    "response_rate": "响应率",
    "closed": "办结",
    "closure_rate": "办结率",
    "closed_in_time": "限期办结",
    "rated": "评价",
    "satisfied": "满意",
    "satisfaction_rate": "满意率",
    "median_hours_to_close": "办结用时中位数(小时)",
    "overdue_now": "超期未办结",
    "escalated": "吹哨上报",
    "department_overdue": "部门超时未报到",
}
#: a resident's rating (1–5) that counts as satisfied
SATISFIED_FROM = 4


def event_figures(
    events: pd.DataFrame,
    *,
    by: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """The figures of events filed in [``start``, ``end``) — per value of column ``by``
    (``grid_id``, ``community_id``, ``street_id``, ``category``, ``source``) and for all —
    one row each: filed; responded in time (accepted before the first claim deadline) and the
    response rate; closed (resolved or closed; duplicates and events not ours do not count as
    filed) and the closure rate; closed within the deadline; rated, satisfied (rating ≥ 4)
    and the satisfaction rate; median hours from filing to resolution; open past the deadline
    at ``now``; escalated at least once; called to a department at the street that has not
    reported for duty in its hours. Rates are shares (0–1), None over nothing. InputError for a
    ``start`` after ``end``."""
    if start is not None and end is not None and start > end:
        raise InputError(f"'from' {start:%Y-%m-%d %H:%M} comes after 'to' {end:%Y-%m-%d %H:%M}")
    frame = events
    filed_at = pd.to_datetime(frame["filed_at"]) if len(frame) else pd.Series(dtype="datetime64[ns]")
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= (filed_at >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (filed_at < pd.Timestamp(end)).to_numpy()
    frame = frame[keep & ~frame["state"].isin([DUPLICATE, NOT_OURS]).to_numpy()] if len(frame) else frame
    now_ts = pd.Timestamp(now or dt.datetime.now(dt.UTC).replace(tzinfo=None))
    rows = [_figures("all", frame, now_ts)]
    if by is not None and len(frame):
        for key, part in frame.groupby(by, sort=True, dropna=False):
            rows.append(_figures(key, part, now_ts))
    out = pd.DataFrame(rows)
    out.insert(0, "by", by or "all")
    return out


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _figures(key: Any, frame: pd.DataFrame, now: pd.Timestamp) -> dict[str, Any]:
    n = len(frame)
    if not n:
        return {"unit": key, "filed": 0, **{k: (0 if not k.endswith(("rate", "close")) else None)
                                            for k in list(FIGURES)[1:]}}  # fmt: skip
    accepted = pd.to_datetime(frame["accepted_at"])
    responded = int((accepted.notna() & (accepted <= pd.to_datetime(frame["first_claim_due_at"]))).sum())
    resolved = pd.to_datetime(frame["resolved_at"])
    done = resolved.notna()
    due = pd.to_datetime(frame["due_at"])
    rating = pd.to_numeric(frame["rating"], errors="coerce")
    hours = (resolved[done] - pd.to_datetime(frame["filed_at"])[done]).dt.total_seconds() / 3600
    open_late = ~frame["state"].isin(ENDED) & ~done & (due < now)
    return {
        "unit": key,
        "filed": n,
        "responded_in_time": responded,
        "response_rate": _share(responded, n),
        "closed": int(done.sum()),
        "closure_rate": _share(int(done.sum()), n),
        "closed_in_time": int((done & (resolved <= due)).sum()),
        "rated": int(rating.notna().sum()),
        "satisfied": int((rating >= SATISFIED_FROM).sum()),
        "satisfaction_rate": _share(int((rating >= SATISFIED_FROM).sum()), int(rating.notna().sum())),
        "median_hours_to_close": round(float(hours.median()), 1) if len(hours) else None,
        "overdue_now": int(open_late.sum()),
        "escalated": int((pd.to_numeric(frame["escalations"], errors="coerce").fillna(0) > 0).sum()),
        "department_overdue": int(_department_overdue(frame, now).sum()),
    }


def _department_overdue(frame: pd.DataFrame, now: pd.Timestamp) -> pd.Series:
    """Events a street has called a department to (报到) that it has not claimed in its hours."""
    if "level" not in frame.columns or "claim_due_at" not in frame.columns:
        return pd.Series(False, index=frame.index)
    waiting = frame["state"].isin(UNCLAIMED) & (frame["level"] == LEVELS[-1])
    return waiting & (pd.to_datetime(frame["claim_due_at"]) < now)


@dataclass(frozen=True)
class Placement:
    """Where an event lies and who takes it: the areas' ids, every grid it lies in (a point on
    a shared edge lies in two), and the grid leader in office in the grid it goes to."""

    street_id: int | None
    community_id: int | None
    grid_id: int
    grid_ids: tuple[int, ...]
    compound_id: int | None
    building_id: int | None
    assignee: str | None


def place(answer: Mapping[str, Any], what: str = "an event") -> Placement:
    """The placement of an event at the point of a ``/who`` answer
    (:meth:`gridmap.responsibility.Responsibility.at`): it goes to the finest grid there —
    of two on a shared edge, the one with the lower code — and to its grid leader in office.
    A point outside every grid is refused, with where it lies."""
    grids = list(answer.get("grids") or [])
    if not grids:
        community = answer.get("community")
        where = (
            f"in community {community['code']} {community['name']}"
            if community
            else "outside every community"
        )
        raise InputError(
            f"the point ({answer['lon']:.6f}, {answer['lat']:.6f}) lies outside every grid ({where}); "
            f"{what} goes to the people of a grid: file it inside one, or draw the grid first"
        )
    finest = max(int(g.get("level") or 0) for g in grids)
    chosen = min(
        (g for g in grids if int(g.get("level") or 0) == finest), key=lambda g: str(g.get("code") or "")
    )
    leaders = chosen.get("leaders") or []

    def ident(key: str) -> int | None:
        unit = answer.get(key)
        return int(unit["id"]) if unit else None

    return Placement(
        street_id=ident("street"), community_id=ident("community"), grid_id=int(chosen["id"]),
        grid_ids=tuple(int(g["id"]) for g in grids), compound_id=ident("compound"),
        building_id=ident("building"), assignee=leaders[0]["person_name"] if leaders else None,
    )  # fmt: skip


def repeat_places(
    events: pd.DataFrame, xy: np.ndarray, *, radius_m: float = 50.0, days: float = 30.0, min_count: int = 3
) -> pd.DataFrame:
    """Places where events of one category come back: events of the same category within
    ``radius_m`` metres and ``days`` days of another, chained, forming groups of at least
    ``min_count`` (the same lamp, the same corner). ``xy`` holds each event's point in a
    metric CRS (metres), row for row. One row per place: category, count, first and last
    filed, the mean point's position in ``xy``'s CRS, and the event ids, largest first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    columns = ["category", "count", "first_filed", "last_filed", "x", "y", "event_ids"]
    if len(events) == 0:
        return pd.DataFrame(columns=columns)
    filed = pd.to_datetime(events["filed_at"]).to_numpy()
    ids = events.index.to_numpy()
    rows = []
    for category, positions in events.groupby("category").indices.items():
        if len(positions) < min_count:
            continue
        pairs = cKDTree(xy[positions]).query_pairs(radius_m, output_type="ndarray")
        gap = np.abs(filed[positions[pairs[:, 0]]] - filed[positions[pairs[:, 1]]]) / np.timedelta64(1, "D")
        near = pairs[gap <= days]
        graph = coo_matrix((np.ones(len(near)), (near[:, 0], near[:, 1])), shape=(len(positions),) * 2)
        _, label = connected_components(graph, directed=False)
        groups = pd.Series(range(len(positions))).groupby(label).apply(list)
        for members in groups:
            if len(members) < min_count:
                continue
            chosen = positions[members]
            rows.append({
                "category": category, "count": len(members), "first_filed": pd.Timestamp(filed[chosen].min()),
                "last_filed": pd.Timestamp(filed[chosen].max()), "x": float(xy[chosen, 0].mean()),
                "y": float(xy[chosen, 1].mean()), "event_ids": sorted(int(i) for i in ids[chosen]),
            })  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["count", "last_filed"], ascending=[False, False]).reset_index(drop=True)
