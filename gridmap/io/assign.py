"""Assign and reassign the people and branches responsible for areas, keeping history.

A new grid leader, building leader, lane leader or branch secretary ends the term of the
one before (their ``valid_to`` becomes the new term's first day); grid workers are added
beside each other unless ``replace`` is asked for. Terms are never deleted, so "who was
responsible on day D" stays answerable. Branch changes record the previous branch in the
audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine, and_, select, update

from gridmap.errors import InputError, NotFoundError, Problem
from gridmap.io.edits import validated_feature
from gridmap.orgcatalogue import org_catalogue
from gridmap.store.engine import write_transaction
from gridmap.store.layers import bump_version, insert_one, lock_layer, record_audit
from gridmap.store.tables import LAYER_TABLES


def assign(
    engine: Engine,
    *,
    role: str,
    target_layer: str,
    target_id: int,
    person_name: str,
    user: str,
    phone: str | None = None,
    member_id: int | None = None,
    valid_from: dt.date | None = None,
    note: str | None = None,
    replace: bool | None = None,
) -> tuple[int, list[int]]:
    """Start a term; returns the new assignment's id and the ids of the terms it ended."""
    start = valid_from or dt.date.today()
    rule = org_catalogue().roles.get(role)
    replace = bool(rule and rule.single) if replace is None else replace
    table = LAYER_TABLES["assignments"]
    values = {
        "person_name": person_name,
        "member_id": member_id,
        "phone": phone,
        "role": role,
        "target_layer": target_layer,
        "target_id": target_id,
        "valid_from": start,
        "note": note,
    }
    with write_transaction(engine) as conn:
        lock_layer(conn, "assignments")  # who holds the post is read, then changed: one writer at a time
        clean = validated_feature(conn, "assignments", values, None, own=None, label="assignment")
        ended: list[int] = []
        if replace:
            current = and_(
                table.c.role == role,
                table.c.target_layer == target_layer,
                table.c.target_id == int(target_id),
                table.c.valid_to.is_(None),
            )
            holders = conn.execute(select(table.c.id, table.c.valid_from).where(current)).all()
            later = [h for h in holders if h.valid_from >= start]
            if later:
                raise InputError(
                    [
                        Problem(
                            f"assignment {h.id} began on {h.valid_from}, not before {start}; "
                            "a new term must start after the current one",
                            file="assignment",
                            field="valid_from",
                        )
                        for h in later
                    ]
                )
            ended = [int(h.id) for h in holders]
            if ended:
                conn.execute(update(table).where(table.c.id.in_(ended)).values(valid_to=start))
        new_id = insert_one(conn, "assignments", clean)
        detail = {
            "role": role,
            "target": f"{target_layer}/{target_id}",
            "person": person_name,
            "ended": ended,
        }
        record_audit(conn, user=user, action="assign", layer="assignments", feature_id=new_id, detail=detail)
        bump_version(conn, "assignments")
    return new_id, ended


def end_assignment(engine: Engine, assignment_id: int, *, user: str, on: dt.date | None = None) -> None:
    """End a term on day ``on`` (default today); the record stays as history."""
    table = LAYER_TABLES["assignments"]
    end = on or dt.date.today()
    with write_transaction(engine) as conn:
        row = conn.execute(select(table).where(table.c.id == int(assignment_id))).first()
        if row is None:
            raise NotFoundError(f"there is no assignment {assignment_id}")
        if row.valid_to is not None:
            raise InputError(f"assignment {assignment_id} already ended on {row.valid_to}")
        if end < row.valid_from:
            raise InputError(
                [
                    Problem(
                        f"{end} is before the term began ({row.valid_from})",
                        file="assignment",
                        field="valid_to",
                    )
                ]
            )
        conn.execute(update(table).where(table.c.id == int(assignment_id)).values(valid_to=end))
        record_audit(
            conn,
            user=user,
            action="end",
            layer="assignments",
            feature_id=int(assignment_id),
            detail={"on": end},
        )
        bump_version(conn, "assignments")


#: where a branch is placed: compounds take branches (小区党支部, 联合, 兼合式 …), grids take
#: branches and the groups built on grids (支部建在网格, 一格一小组, 多格一支部)
BRANCH_PLACES: tuple[str, ...] = ("compounds", "grids")


def assign_branch(
    engine: Engine, feature_ids: Sequence[int], branch_id: int | None, *, user: str, layer: str = "compounds"
) -> int:
    """Make ``branch_id`` (None: no branch) the party branch of compounds, or the branch or
    group of grids (``layer``). Returns the features changed.

    A branch serving several compounds is marked ``joint`` (it serves several); its form
    (``form``: 单独, 联合, 兼合式, 临时) is how it was formed and stays as it is — a 兼合式
    branch serving one compound stays 兼合式."""
    if layer not in BRANCH_PLACES:
        raise InputError(f"a branch is placed on {' or '.join(BRANCH_PLACES)}, not on {layer}")
    features = LAYER_TABLES[layer]
    orgs = LAYER_TABLES["party_orgs"]
    ids = sorted({int(i) for i in feature_ids})
    if not ids:
        raise InputError(f"name at least one of the {layer}")
    with write_transaction(engine) as conn:
        rows = conn.execute(select(features.c.id, features.c.branch_id).where(features.c.id.in_(ids))).all()
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise NotFoundError(f"layer '{layer}' has no feature with id {', '.join(map(str, missing))}")
        if branch_id is not None:
            org = conn.execute(select(orgs.c.kind).where(orgs.c.id == int(branch_id))).first()
            if org is None:
                raise InputError([Problem(f"no party organisation has id {branch_id}", field="branch_id")])
            catalogue = org_catalogue()
            allowed = [k for k, rule in catalogue.org_kinds.items()
                       if rule.counts_as == "branch" or (rule.counts_as == "group" and rule.built_on == layer)]  # fmt: skip
            if org.kind not in allowed:
                raise InputError(
                    [
                        Problem(
                            f"party organisation {branch_id} is a {org.kind}; {layer} take one of: "
                            f"{', '.join(allowed)}",
                            field="branch_id",
                        )
                    ]
                )
        before = {int(r.id): r.branch_id for r in rows}
        conn.execute(update(features).where(features.c.id.in_(ids)).values(branch_id=branch_id))
        if layer == "compounds":
            touched = {b for b in before.values() if b is not None} | (
                {int(branch_id)} if branch_id else set()
            )
            for org_id in touched:
                served = conn.execute(select(features.c.id).where(features.c.branch_id == org_id)).all()
                conn.execute(update(orgs).where(orgs.c.id == org_id).values(joint=len(served) > 1))
        detail = {"branch_id": branch_id, "before": before}
        record_audit(conn, user=user, action="assign_branch", layer=layer, count=len(ids), detail=detail)
        bump_version(conn, layer)
        bump_version(conn, "party_orgs")
    return len(ids)
