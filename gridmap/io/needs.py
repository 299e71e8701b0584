"""Filing needs and moving them through their steps (双向认领), and awarding members' points.

A need is placed at a household (the representative point of its building), a compound, a
grid or a point, and goes to the grid there, as an event does. It is claimed by a member or a
co-building unit (perhaps through one of their offers), done, and confirmed by the resident or
the community; each step is checked against :data:`gridmap.needs.NEED_STEPS` while the need is
locked, audited, and — for a member — earns the points its rule gives. Points are awarded
under the rules' caps while the member's row is locked, so two awards at once cannot both
take the last room under a cap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, select, update

from gridmap.errors import InputError, NotFoundError, Problem
from gridmap.events import place
from gridmap.io.edits import locked_row, read_feature, validated_feature
from gridmap.io.events import responsibility
from gridmap.io.validate import out_of_bounds
from gridmap.model import layer_spec
from gridmap.needs import CLAIMED, CONFIRMED, DONE, OPEN, check_need_step, load_need_categories
from gridmap.points import PointsRules, load_points_rules, points_earned
from gridmap.store.engine import write_transaction
from gridmap.store.layers import bump_version, insert_one, read_layer, record_audit
from gridmap.store.tables import LAYER_TABLES

#: the points rule a member's step earns
STEP_RULES = {CLAIMED: "claim_need", CONFIRMED: "need_done"}


@dataclass(frozen=True)
class Awarded:
    """A points entry: its id, the points it earned and the points it asked for (more when a
    cap cut it)."""

    entry_id: int
    points: int
    asked: int


def _point_of(conn: Connection, layer: str, feature_id: int) -> shapely.Point:
    return read_feature(conn, layer, feature_id)["geometry"].representative_point()


def _building_of(conn: Connection, household_id: int) -> int:
    table = LAYER_TABLES["households"]
    found = conn.execute(select(table.c.building_id).where(table.c.id == int(household_id))).first()
    if found is None:
        raise NotFoundError(f"layer 'households' has no feature with id {household_id}")
    return int(found.building_id)


def file_need(
    engine: Engine,
    *,
    kind: str,
    category: str,
    title: str,
    household_id: int | None = None,
    compound_id: int | None = None,
    grid_id: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
    description: str | None = None,
    resident_name: str | None = None,
    phone: str | None = None,
    filed_on: dt.date | None = None,
    generated: bool = False,
    user: str = "cli",
) -> int:
    """File a need where it belongs (one of a household, a compound, a grid or a point in
    EPSG:4326) and return its id; InputError, with nothing stored, for a bad value or a place
    outside every grid."""
    given = [k for k, v in (("household_id", household_id), ("compound_id", compound_id), ("grid_id", grid_id),
                            ("lon/lat", lon if lat is not None else None)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise InputError(
            [
                Problem(
                    "place a need at one of: a household, a compound, a grid, or lon and lat",
                    field="household_id",
                )
            ]
        )
    load_need_categories().check(category)
    day = filed_on or dt.date.today()
    with write_transaction(engine) as conn:
        if household_id is not None:
            point = _point_of(conn, "buildings", _building_of(conn, household_id))
        elif compound_id is not None:
            point = _point_of(conn, "compounds", compound_id)
        elif grid_id is not None:
            point = _point_of(conn, "grids", grid_id)
        else:
            point = shapely.Point(float(lon), float(lat))  # type: ignore[arg-type]
        placement = place(responsibility(conn).at(point.x, point.y, day), what="a need")
        values: dict[str, Any] = {
            "kind": kind, "category": category, "title": title, "description": description,
            "resident_name": resident_name, "phone": phone, "state": OPEN, "household_id": household_id,
            "compound_id": compound_id if compound_id is not None else placement.compound_id,
            "grid_id": grid_id if grid_id is not None else placement.grid_id,
            "community_id": placement.community_id, "street_id": placement.street_id, "filed_on": day,
            "generated": generated,
        }  # fmt: skip
        clean = validated_feature(conn, "needs", values, point, own=None, label="need")
        need_id = insert_one(conn, "needs", clean)
        record_audit(conn, user=user, action="file need", layer="needs", feature_id=need_id,
                     detail={"kind": kind, "category": category, "grid_id": values["grid_id"]})  # fmt: skip
        bump_version(conn, "needs")
    return need_id


def _claimant(
    conn: Connection, member_id: int | None, coop_unit_id: int | None, offer_id: int | None
) -> dict:
    """Who claims: a member or a unit, given or through their offer."""
    if offer_id is not None:
        offer = locked_row(conn, "offers", offer_id)
        member_id = member_id if member_id is not None else _id(offer.get("member_id"))
        coop_unit_id = coop_unit_id if coop_unit_id is not None else _id(offer.get("coop_unit_id"))
    if (member_id is None) == (coop_unit_id is None):
        raise InputError(
            [Problem("a need is claimed by one member or one co-building unit", field="member_id")]
        )
    for layer, ident in (("members", member_id), ("coop_units", coop_unit_id)):
        if ident is not None:
            table = LAYER_TABLES[layer]
            if conn.execute(select(table.c.id).where(table.c.id == int(ident))).first() is None:
                raise NotFoundError(f"layer '{layer}' has no feature with id {ident}")
    return {"member_id": member_id, "coop_unit_id": coop_unit_id, "offer_id": offer_id}


def _id(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def move_need(
    engine: Engine,
    need_id: int,
    to: str,
    *,
    member_id: int | None = None,
    coop_unit_id: int | None = None,
    offer_id: int | None = None,
    confirmed_by: str | None = None,
    on: dt.date | None = None,
    user: str = "cli",
    rules: PointsRules | None = None,
) -> tuple[pd.Series, Awarded | None]:
    """Move need ``need_id`` to ``to`` on day ``on``: claimed (by ``member_id`` or
    ``coop_unit_id``, or through ``offer_id``), done, confirmed (``confirmed_by`` the
    resident or the community), back to open (the claim let go), or cancelled. A member's
    claim and a confirmed need earn the claiming member points. Returns the need as stored
    after and the points entry, if any."""
    day = on or dt.date.today()
    with write_transaction(engine) as conn:
        need = locked_row(conn, "needs", need_id)
        state = str(need["state"])
        check_need_step(state, to)
        changes: dict[str, Any] = {"state": to}
        if to == CLAIMED and state == OPEN:
            changes |= _claimant(conn, member_id, coop_unit_id, offer_id) | {"claimed_on": day}
        elif to == CLAIMED:  # sent back by who confirms it
            changes |= {"done_on": None}
        elif to == DONE:
            changes["done_on"] = day
        elif to == CONFIRMED:
            if confirmed_by not in ("resident", "community"):
                raise InputError(
                    [Problem("say who confirms it: resident or community", field="confirmed_by")]
                )
            changes |= {"confirmed_on": day, "confirmed_by": confirmed_by}
        elif to == OPEN:
            changes |= {"member_id": None, "coop_unit_id": None, "offer_id": None, "claimed_on": None}
        if any(pd.Timestamp(day) < pd.Timestamp(need[c]) for c in ("filed_on", "claimed_on", "done_on")
               if c in need and not pd.isna(need[c])):  # fmt: skip
            raise InputError([Problem(f"{day} comes before an earlier step of need {need_id}", field="on")])
        spec = layer_spec("needs")
        for column in (c for c, v in changes.items() if isinstance(v, dt.date)):
            wrong = out_of_bounds(changes[column], spec.column(column))  # a step's day has come
            if wrong:
                raise InputError([Problem(wrong, field="on")])
        table = LAYER_TABLES["needs"]
        conn.execute(update(table).where(table.c.id == int(need_id)).values(**changes))
        record_audit(conn, user=user, action=f"need {to}", layer="needs", feature_id=int(need_id),
                     detail={"from": state, **{k: v for k, v in changes.items() if k.endswith("_id")}})  # fmt: skip
        awarded = None
        member = changes.get("member_id", _id(need.get("member_id")))
        if to in STEP_RULES and member is not None and (to != CLAIMED or state == OPEN):
            awarded = _award(conn, int(member), STEP_RULES[to], day, user=user, rules=rules,
                             source=("needs", int(need_id)))  # fmt: skip
        bump_version(conn, "needs")
        return read_layer(conn, "needs", ids=[int(need_id)]).iloc[0], awarded


def _award(
    conn: Connection,
    member_id: int,
    rule: str,
    day: dt.date,
    *,
    user: str,
    times: int = 1,
    rules: PointsRules | None = None,
    source: tuple[str, int] | None = None,
    note: str | None = None,
) -> Awarded:
    rules = rules or load_points_rules()
    locked_row(conn, "members", member_id)  # one award at a time per member: the caps hold
    points = LAYER_TABLES["points"]
    ledger = pd.DataFrame(
        conn.execute(
            select(points.c.member_id, points.c.earned_on, points.c.rule, points.c.points).where(
                points.c.member_id == int(member_id)
            )
        ).all(),
        columns=["member_id", "earned_on", "rule", "points"],
    )
    earned, asked = points_earned(rules, ledger, int(member_id), rule, day, times)
    values = {"member_id": int(member_id), "earned_on": day, "rule": rule, "points": earned, "asked": asked,
              "source_layer": source[0] if source else None, "source_id": source[1] if source else None,
              "rules_version": rules.version, "note": note}  # fmt: skip
    clean = validated_feature(conn, "points", values, None, own=None, label="points entry")
    entry = insert_one(conn, "points", clean)
    record_audit(conn, user=user, action="award points", layer="points", feature_id=entry,
                 detail={"member_id": int(member_id), "rule": rule, "points": earned, "asked": asked})  # fmt: skip
    bump_version(conn, "points")
    return Awarded(entry, earned, asked)


def award_points(
    engine: Engine,
    member_id: int,
    rule: str,
    *,
    on: dt.date | None = None,
    times: int = 1,
    source: tuple[str, int] | None = None,
    note: str | None = None,
    user: str = "cli",
    rules: PointsRules | None = None,
) -> Awarded:
    """Award member ``member_id`` the points of ``rule`` (``times`` over) on ``on``, cut to
    what the rule's cap and the year cap leave (:func:`gridmap.points.points_earned`)."""
    with write_transaction(engine) as conn:
        return _award(conn, member_id, rule, on or dt.date.today(), user=user, times=times, rules=rules,
                      source=source, note=note)  # fmt: skip
