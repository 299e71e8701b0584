"""A 12345-hotline export as grid events: each row placed by its coordinates and routed like
any event, all of it in one transaction or none of it.

A row has the time the call was taken (local time, China Standard Time, unless it says its
zone), the hotline's own category text, a point (``lon``/``lat``, 经度/纬度; WGS 84, GCJ-02
or BD-09 as ``source_crs`` declares), a description and the hotline's ticket number. The
category text maps to a catalogue category through a table you give (a CSV of ``text`` and
``category``), or is a category id itself. Every row that cannot be used — no point, a point
outside every grid, a category the table does not know, a time that is not one — is listed
with its row as a spreadsheet counts it, and nothing is written. A ticket already imported
is left as it is, so the same export imported twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, select

from gridmap.crs import parse_source_crs, to_storage_crs
from gridmap.errors import InputError, Problem
from gridmap.events import STAFF, load_catalogue, place
from gridmap.io.events import CLAIM_HOURS, event_row, record_filing, responsibility
from gridmap.io.read import read_file
from gridmap.store.engine import write_transaction
from gridmap.store.layers import bump_version, lock_layer, read_layer, record_audit
from gridmap.store.tables import LAYER_TABLES

#: the hotline's own headers for what a row gives
HEADERS: Mapping[str, tuple[str, ...]] = {
    "received_at": ("received_at", "time", "受理时间", "来电时间", "时间"),
    "category_text": ("category", "类别", "诉求类别", "问题分类", "事项分类"),
    "description": ("description", "诉求内容", "内容", "问题描述"),
    "external_id": ("ticket", "id", "工单号", "工单编号"),
}
LOCAL_TIME = "Asia/Shanghai"  # what a time without a zone is taken as


@dataclass
class HotlineReport:
    """What an import did: events filed (their ids), tickets already there, per grid."""

    filed: list[int] = field(default_factory=list)
    already: int = 0
    by_grid: dict[int, int] = field(default_factory=dict)
    dry_run: bool = False


def read_category_map(path: str | Path) -> dict[str, str]:
    """A CSV of ``text`` (the hotline's words) and ``category`` (a catalogue id)."""
    frame = pd.DataFrame(read_file(path))
    missing = [c for c in ("text", "category") if c not in frame.columns]
    if missing:
        raise InputError(f"the category map needs columns text and category; it has: {', '.join(map(str, frame.columns))}",
                         file=str(path))  # fmt: skip
    known = load_catalogue().categories
    problems = [
        Problem(f"'{c}' is not a category; expected one of: {', '.join(known)}", file=str(path), feature=i, field="category")
        for i, c in enumerate(frame["category"]) if str(c).strip() not in known
    ]  # fmt: skip
    if problems:
        raise InputError(problems)
    return {str(t).strip(): str(c).strip() for t, c in zip(frame["text"], frame["category"], strict=True)}


def _headers(frame: pd.DataFrame) -> pd.DataFrame:
    renamed = {}
    for column in frame.columns:
        for name, aliases in HEADERS.items():
            if str(column).strip().lower() in aliases:
                renamed[column] = name
    return frame.rename(columns=renamed)


def _utc(value: Any) -> dt.datetime | None:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize(LOCAL_TIME) if stamp.tzinfo is None else stamp
    return stamp.tz_convert("UTC").tz_localize(None).to_pydatetime()


def import_hotline(
    engine: Engine,
    path: str | Path,
    *,
    source_crs: str | None = None,
    category_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    user: str = "cli",
    claim_hours: float = CLAIM_HOURS,
) -> HotlineReport:
    """File every row of the export at ``path`` as an event (see the module docstring)."""
    file = str(path)
    frame = _headers(read_file(path, encoding=encoding))
    catalogue = load_catalogue()
    problems: list[Problem] = []

    def bad(message: str, row: int, column: str | None = None) -> None:
        problems.append(Problem(message, file=file, feature=row, field=column))

    for needed in ("received_at", "category_text"):
        if needed not in frame.columns:
            raise InputError(f"the export has no {needed} column ({', '.join(HEADERS[needed])}); it has: "
                             f"{', '.join(map(str, frame.columns))}", file=file)  # fmt: skip
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(
            "the export has no coordinates (lon/lat, 经度/纬度): rows cannot be placed without them",
            file=file,
        )
    if frame.crs is None and source_crs is None:
        raise InputError(
            "the export's coordinates have no CRS: declare it with --source-crs (EPSG:4326, gcj02, bd09)",
            file=file,
        )
    frame = to_storage_crs(frame, parse_source_crs(source_crs) if source_crs else None).reset_index(drop=True)
    lookup = responsibility(engine)
    mapping = dict(category_map or {})
    stored = read_layer(engine, "events", columns=["external_id"])
    known_tickets = {str(t) for t in stored["external_id"].dropna()}
    rows: list[dict[str, Any]] = []
    report = HotlineReport(dry_run=dry_run)
    latest = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)  # clocks drift
    for i, record in enumerate(frame.to_dict("records")):
        ticket = record.get("external_id")
        ticket = None if ticket is None or pd.isna(ticket) else str(ticket).strip()
        if ticket and ticket in known_tickets:
            report.already += 1  # stored, or a row above in the file: the same call, filed once
            continue
        if ticket:
            known_tickets.add(ticket)
        received = _utc(record["received_at"])
        if received is None:
            bad(f"'{record['received_at']}' is not a time (YYYY-MM-DD HH:MM)", i, "received_at")
        elif received > latest:
            bad(f"'{record['received_at']}' lies in the future: a call is taken before it is exported", i,
                "received_at")  # fmt: skip
            received = None
        text = str(record["category_text"]).strip()
        category = mapping.get(text, text)
        if category not in catalogue.categories:
            bad(
                f"category '{text}' is not in the category map (--category-map) nor a category id",
                i,
                "category_text",
            )
        point = record.get("geometry")
        if point is None or point.is_empty:
            bad("has no point: a hotline row is placed by its coordinates", i, "geometry")
            continue
        try:
            placement = place(lookup.at(point.x, point.y, (received or dt.datetime.now()).date()))
        except InputError as exc:
            bad(exc.problems[0].message, i, "geometry")
            continue
        if received is None or category not in catalogue.categories:
            continue
        kind = catalogue.category(category)
        description = record.get("description")
        values = event_row(placement, kind, catalogue.version, filed_at=received, claim_hours=claim_hours,
                           description=None if description is None or pd.isna(description) else str(description),
                           source="hotline", external_id=ticket, generated=False)  # fmt: skip
        rows.append({"values": values, "point": shapely.Point(point.x, point.y)})
    if problems:
        raise InputError(problems)
    if dry_run or not rows:
        report.by_grid = dict(pd.Series([r["values"]["grid_id"] for r in rows], dtype="int64").value_counts())
        return report
    with write_transaction(engine) as conn:
        lock_layer(conn, "events")
        # another import of the same export may have filed some of its tickets since they were read
        events = LAYER_TABLES["events"]
        stored_now = set(
            conn.execute(select(events.c.external_id).where(events.c.external_id.is_not(None))).scalars()
        )
        report.already += sum(r["values"]["external_id"] in stored_now for r in rows)
        rows = [r for r in rows if r["values"]["external_id"] not in stored_now]
        if not rows:
            return report
        for row in rows:
            event_id = record_filing(conn, row["values"], row["point"], user=user, role=STAFF)
            report.filed.append(event_id)
            grid = int(row["values"]["grid_id"])
            report.by_grid[grid] = report.by_grid.get(grid, 0) + 1
        record_audit(conn, user=user, action="hotline import", layer="events", count=len(rows),
                     detail={"file": Path(path).name, "already": report.already})  # fmt: skip
        bump_version(conn, "events")
    return report
