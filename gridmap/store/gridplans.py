"""Applying a grid drawing: a community's grids of one kind and level replaced by a
:class:`~gridmap.gridplan.GridPlan` in one transaction, with the lineage of every new grid.

Kept grids stay (their households are refreshed), retired grids are deleted and new ones
inserted. A retired grid still named by a person's term in office, or by a finer grid, stops
the change unless the terms are to be ended on the day of the change; their history stays,
and ``grid_lineage`` keeps each retired grid's id, code and outline, so past terms can still
be placed. Nothing is written when anything is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from sqlalchemy import Engine, and_, delete, func, select, update

from gridmap.crs import STORAGE_SRID
from gridmap.errors import ConflictError, StaleEditError
from gridmap.gridplan import KEPT, RESHAPED, GridPlan, grid_kind, grid_level
from gridmap.store.engine import write_transaction
from gridmap.store.layers import (
    as_layer_type,
    bump_version,
    insert_rows,
    record_audit,
    select_frame,
    with_geometry,
    wkb_select,
)
from gridmap.store.records import insert_frame
from gridmap.store.tables import GEOMETRY_COLUMN, LAYER_TABLES, grid_lineage, users

LINEAGE_COLUMNS = [
    c.name for c in grid_lineage.c if c.name not in ("id", "geom", "changed_at", "changed_by", "community_id")
]


@dataclass
class AppliedPlan:
    """What applying a plan changed."""

    kept: list[str]
    added: list[str]
    retired: list[str]
    ended_terms: list[str] = field(default_factory=list)  # "grid CODE: role person"
    accounts: list[str] = field(default_factory=list)  # accounts that still name a retired grid


def _current(conn, community_id: int, kind: str | None, level: int | None) -> gpd.GeoDataFrame:
    grids = LAYER_TABLES["grids"]
    query = select(grids.c.id, grids.c.code, wkb_select(grids)).where(
        grids.c.community_id == community_id, grids.c.kind == kind, grids.c.level == level
    )
    return with_geometry(select_frame(conn, query))


def apply_grid_plan(
    engine: Engine,
    plan: GridPlan,
    *,
    community_id: int,
    kind: str | None,
    level: int | None,
    user: str,
    end_terms: bool = False,
    on: dt.date | None = None,
) -> AppliedPlan:
    """Replace the community's grids of ``kind`` and ``level`` by ``plan``.

    Refused (nothing written) when the grids changed since the plan was drawn (or another
    kind's or level's grids took the codes of its new grids), when a finer
    grid names a retired grid as its parent, or — unless ``end_terms`` — when a term in
    office is on a retired grid; with ``end_terms`` those terms end on ``on`` (default today).
    """
    day = on or dt.date.today()
    if kind is not None:
        grid_kind(kind)
    if level is not None:
        grid_level(level)
    grids, assignments = LAYER_TABLES["grids"], LAYER_TABLES["assignments"]
    with write_transaction(engine) as conn:
        current = _current(conn, community_id, kind, level)
        if tuple(sorted(current["code"])) != plan.based_on:
            raise StaleEditError(
                f"the {kind} grids of community {plan.community_code} changed since this drawing was "
                "proposed; propose again"
            )
        id_of = dict(zip(current["code"], current["id"].astype(int), strict=True))
        if not plan.retired and (plan.grids["status"] == KEPT).all():
            return AppliedPlan(list(plan.grids["code"]), [], [])  # nothing to change
        new_codes = [str(c) for c in plan.grids["code"] if c not in id_of]
        clash = conn.execute(select(grids.c.code).where(grids.c.code.in_(new_codes))).scalars().all()
        if clash:  # another kind's or level's grids took these numbers since the drawing
            raise StaleEditError(
                f"grid code(s) {', '.join(sorted(clash))} of this drawing were taken by other grids since "
                "it was proposed; propose again"
            )
        retired_ids = [id_of[c] for c in plan.retired]
        code_of = {v: k for k, v in id_of.items()}
        children = conn.execute(
            select(grids.c.code, grids.c.parent_id).where(grids.c.parent_id.in_(retired_ids))
        ).all()
        if children:
            named = ", ".join(f"{c.code} (in {code_of[c.parent_id]})" for c in children)
            raise ConflictError(f"finer grids lie in grids this drawing retires: {named}; redraw them first")
        in_office = and_(
            assignments.c.target_layer == "grids",
            assignments.c.target_id.in_(retired_ids),
            assignments.c.valid_to.is_(None),
        )
        terms = conn.execute(
            select(
                assignments.c.id, assignments.c.role, assignments.c.person_name, assignments.c.target_id
            ).where(in_office)
        ).all()
        described = [f"grid {code_of[t.target_id]}: {t.role} {t.person_name} (term {t.id})" for t in terms]
        if terms and not end_terms:
            raise ConflictError(
                "people are in office on grids this drawing retires: "
                + "; ".join(described)
                + ". End their terms first, or apply with the option to end them"
            )
        if terms:
            conn.execute(update(assignments).where(in_office).values(valid_to=day))
            bump_version(conn, "assignments")

        proposed = plan.grids
        kept = proposed[proposed["code"].isin(id_of)]
        for code, households, status, geom in zip(
            kept["code"], kept["households"], kept["status"], kept.geometry, strict=True
        ):
            values: dict[str, Any] = {"households": int(households)}
            if status == RESHAPED:
                values[GEOMETRY_COLUMN] = func.ST_GeomFromWKB(
                    as_layer_type(np.array([geom]), "MULTIPOLYGON")[0].wkb, STORAGE_SRID
                )
            conn.execute(update(grids).where(grids.c.id == id_of[code]).values(**values))
        added = proposed[~proposed["code"].isin(id_of)]
        insert_rows(
            conn,
            "grids",
            gpd.GeoDataFrame(
                {
                    "code": added["code"],
                    "kind": kind,
                    "level": level,
                    "community_id": community_id,
                    "households": added["households"].astype(int),
                },
                geometry=added.geometry.to_numpy(),
                crs="EPSG:4326",
            ),
        )
        if retired_ids:
            conn.execute(delete(grids).where(grids.c.id.in_(retired_ids)))
        outline = dict(zip(current["code"], current.geometry, strict=True))
        lineage = plan.lineage.assign(
            kind=kind,
            level=level,
            old_grid_id=[id_of.get(c) for c in plan.lineage["old_code"]],
            households=plan.lineage["households"].round().astype(int),
        )
        lineage = gpd.GeoDataFrame(
            lineage, geometry=[outline.get(c) for c in plan.lineage["old_code"]], crs="EPSG:4326"
        )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        insert_frame(
            conn, grid_lineage, lineage, LINEAGE_COLUMNS, "MULTIPOLYGON",
            changed_at=now, changed_by=user, community_id=community_id,
        )  # fmt: skip
        record_audit(
            conn,
            user=user,
            action="redraw",
            layer="grids",
            count=len(added) + len(retired_ids),
            detail={
                "community": plan.community_code,
                "kind": kind,
                "added": list(added["code"]),
                "retired": plan.retired,
                "ended_terms": described,
            },
        )
        bump_version(conn, "grids")
        accounts = [
            f"{row.name} ({', '.join(sorted(set(row.grids.split(',')) & set(plan.retired)))})"
            for row in conn.execute(select(users.c.name, users.c.grids).where(users.c.grids.is_not(None)))
            if set(row.grids.split(",")) & set(plan.retired)
        ]
    kept_codes = [c for c, s in zip(proposed["code"], proposed["status"], strict=True) if s == KEPT]
    return AppliedPlan(
        kept_codes, list(added["code"]), list(plan.retired), described if end_terms else [], accounts
    )


def read_lineage(engine: Engine, community_id: int | None = None) -> gpd.GeoDataFrame:
    """Lineage records, oldest first; geometry is the retired grid's outline (EPSG:4326)."""
    cols = [c for c in grid_lineage.c if c.name != "geom"] + [wkb_select(grid_lineage)]
    query = select(*cols).order_by(grid_lineage.c.id)
    if community_id is not None:
        query = query.where(grid_lineage.c.community_id == community_id)
    with engine.connect() as conn:
        frame = select_frame(conn, query)
    return with_geometry(frame)
