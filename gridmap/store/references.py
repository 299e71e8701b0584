"""Who refers to a feature: the links of other layers (and of the layer itself) to its id.

A link is a reference column of a layer's spec (``communities.street_id``…) or an assignment
whose ``target_layer`` and ``target_id`` name the feature. Removing a feature that something
still refers to leaves that link pointing at nothing; :func:`referrers` finds such links and
:func:`unlink` empties them (an assignment's term is ended instead, so its history stays).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, or_, select, update

from gridmap.model import ASSIGNMENT_TARGETS, LAYER_SPECS
from gridmap.store.tables import LAYER_TABLES

ASSIGNMENT_LINK = "target_id"


@dataclass(frozen=True)
class Referrer:
    """Feature ``feature_id`` of ``layer`` refers, by ``column``, to ``target_id``."""

    layer: str
    column: str
    feature_id: int
    target_id: int

    @property
    def link(self) -> str:
        return f"{self.layer}.{self.column}"


def referrers(
    conn: Connection, layer: str, ids: Iterable[int], *, today: dt.date | None = None
) -> list[Referrer]:
    """Every link to the features ``ids`` of ``layer``. Assignments count while their term
    is open on ``today`` (all of them when ``today`` is None)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    found: list[Referrer] = []
    for name, spec in LAYER_SPECS.items():
        table = LAYER_TABLES[name]
        for ref in spec.references:
            if ref.layer != layer:
                continue
            column = table.c[ref.column]
            for fid, target in conn.execute(select(table.c.id, column).where(column.in_(wanted))):
                found.append(Referrer(name, ref.column, int(fid), int(target)))
    if layer in ASSIGNMENT_TARGETS:
        a = LAYER_TABLES["assignments"]
        query = select(a.c.id, a.c.target_id).where(a.c.target_layer == layer, a.c.target_id.in_(wanted))
        if today is not None:
            query = query.where(or_(a.c.valid_to.is_(None), a.c.valid_to >= today))
        for fid, target in conn.execute(query):
            found.append(Referrer("assignments", ASSIGNMENT_LINK, int(fid), int(target)))
    return found


def unlink(conn: Connection, links: Iterable[Referrer], *, today: dt.date) -> None:
    """Empty each link; an assignment's open term ends ``today`` instead."""
    for link in links:
        table = LAYER_TABLES[link.layer]
        if link.layer == "assignments" and link.column == ASSIGNMENT_LINK:
            values: dict[str, dt.date | None] = {"valid_to": today}
        else:
            values = {link.column: None}
        conn.execute(update(table).where(table.c.id == link.feature_id).values(**values))
