"""Edits saved together, as a clerk saves a session of work in the browser: several features
created, changed and deleted in one transaction with a comment (a changeset, as the
OpenStreetMap editors keep them), each checked against the tag it was read with; the checks of
``gridmap validate`` run on what changed before anything is kept, and an error among their
findings keeps nothing. Every version of every feature is kept (``feature_history``), so a
feature's timeline can be read and its last change undone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection, Engine, insert, select

from gridmap.errors import ConflictError, InputError, NotFoundError, Problem, StaleEditError, TagRequiredError
from gridmap.io.edits import (
    audit_refusal,
    create_on,
    delete_on,
    editable,
    feature_etag,
    locked_feature,
    read_feature,
    update_on,
)
from gridmap.model import layer_spec
from gridmap.store.engine import write_transaction
from gridmap.store.secret import service_secret
from gridmap.store.tables import changesets, feature_history

ACTIONS = ("create", "update", "delete")
#: the checks run on what a changeset touched: (open connection, geometries touched) → findings
Check = Callable[[Connection, list[Any]], gpd.GeoDataFrame]


@dataclass(frozen=True)
class Change:
    """One edit of a changeset: a new feature, a change of one (fields given are changed), or
    its deletion; ``if_match`` the tag it was read with; ``geometry`` shapely, EPSG:4326."""

    action: str
    layer: str
    feature_id: int | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    geometry: Any = None
    if_match: str | None = None


@dataclass
class Saved:
    """What a changeset did: its id (None for a dry run), per change the layer, feature id and
    new tag (None when deleted), and the findings of the checks on what it touched."""

    changeset_id: int | None
    features: list[tuple[str, int, str | None]]
    findings: gpd.GeoDataFrame


class _KeepNothingError(Exception):
    """Raised inside the transaction to keep nothing (a dry run, or errors found)."""

    def __init__(self, saved: Saved, errors: gpd.GeoDataFrame) -> None:
        self.saved = saved
        self.errors = errors


def save_changeset(
    engine: Engine,
    changes: Sequence[Change],
    *,
    user: str,
    comment: str | None,
    check: Check | None = None,
    dry_run: bool = False,
    margin_m: float = 5000.0,
) -> Saved:
    """Apply ``changes`` in one transaction; InputError (the findings as problems, nothing
    kept) when the checks find errors; a dry run keeps nothing and returns what the checks
    found. StaleEditError names the first feature changed by someone else since it was read."""
    if not changes:
        raise InputError([Problem("a changeset needs at least one change", field="changes")])
    for i, change in enumerate(changes):
        if change.action not in ACTIONS:
            raise InputError([Problem(f"change {i + 1}: '{change.action}' is not one of {', '.join(ACTIONS)}",
                                      field="action")])  # fmt: skip
        layer_spec(change.layer)
        editable(change.layer)
    first: dict[tuple[str, int], int] = {}
    for i, change in enumerate(changes):
        if change.feature_id is None:
            continue
        seen = first.setdefault((change.layer, int(change.feature_id)), i)
        if seen != i:  # the second would read the first as someone else's edit
            raise InputError([Problem(
                f"changes {seen + 1} and {i + 1} both change feature {change.feature_id} of '{change.layer}': "
                "give each feature one change in a changeset", field="changes")])  # fmt: skip
    key = service_secret(engine)
    locking: list[tuple[str, int]] = []
    try:
        with write_transaction(engine) as conn:
            saved = _apply(conn, changes, user=user, comment=comment, check=check, margin_m=margin_m, key=key,
                           locking=locking)  # fmt: skip
            errors = (
                saved.findings[saved.findings["severity"] == "error"]
                if len(saved.findings)
                else saved.findings
            )
            if dry_run or len(errors):
                raise _KeepNothingError(saved, errors)
    except _KeepNothingError as refused:
        errors = refused.errors
        if not dry_run:
            raise InputError([Problem(f"{r.message} (nothing was saved)", field="geometry", feature_id=r.codes or None)
                              for r in errors.itertuples()]) from None  # fmt: skip
        refused.saved.changeset_id = None
        return refused.saved
    except (StaleEditError, TagRequiredError) as exc:
        for layer, feature_id in locking:
            audit_refusal(engine, layer, feature_id, user, "changeset", exc)
        raise
    return saved


def _apply(
    conn: Connection, changes: Sequence[Change], *, user: str, comment: str | None, check: Check | None,
    margin_m: float, key: bytes, locking: list[tuple[str, int]],
) -> Saved:  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    changeset = int(conn.execute(insert(changesets).values(at=now, user_name=user, comment=comment,
                                                           count=len(changes)).returning(changesets.c.id)).scalar_one())  # fmt: skip
    touched: list[Any] = []
    features: list[tuple[str, int, str | None]] = []
    for change in changes:
        spec = layer_spec(change.layer)
        if change.action == "create":
            new_id = create_on(conn, change.layer, change.values, change.geometry, user=user, margin_m=margin_m,
                               changeset=changeset)  # fmt: skip
            row = read_feature(conn, change.layer, new_id)
            features.append((change.layer, new_id, feature_etag(change.layer, row, key)))
        else:
            if change.feature_id is None:
                raise InputError([Problem(f"a change '{change.action}' names the feature's id", field="id")])
            locking[:] = [(change.layer, int(change.feature_id))]  # which feature, should its tag be refused
            row = locked_feature(conn, change.layer, change.feature_id, change.if_match, key)
            if spec.geometry:
                touched.append(row["geometry"])
            if change.action == "update":
                tag = update_on(conn, change.layer, row, change.values, change.geometry, user=user, margin_m=margin_m,
                                key=key, changeset=changeset)  # fmt: skip
                features.append((change.layer, int(change.feature_id), tag))
            else:
                delete_on(conn, change.layer, row, user=user, changeset=changeset)
                features.append((change.layer, int(change.feature_id), None))
        if spec.geometry and change.geometry is not None:
            touched.append(change.geometry)
    findings = check(conn, touched) if check is not None and touched else _no_findings()
    return Saved(changeset, features, findings)


def _no_findings() -> gpd.GeoDataFrame:
    columns = ["kind", "severity", "layer", "feature_ids", "codes", "message", "area_m2"]
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")


def feature_timeline(engine: Engine, layer: str, feature_id: int) -> list[dict[str, Any]]:
    """Every version of a feature, oldest first: when (UTC), who, what (create, update,
    delete, revert), the changeset's comment, and the feature before and after (values and
    GeoJSON)."""
    query = (
        select(feature_history, changesets.c.comment)
        .join(changesets, changesets.c.id == feature_history.c.changeset_id, isouter=True)
        .where(feature_history.c.layer == layer, feature_history.c.feature_id == int(feature_id))
        .order_by(feature_history.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {"id": r.id, "at": r.at.replace(tzinfo=dt.UTC), "user": r.user_name, "action": r.action, "changeset_id": r.changeset_id,
         "comment": r.comment, "before": json.loads(r.before) if r.before else None,
         "after": json.loads(r.after) if r.after else None}
        for r in rows
    ]  # fmt: skip


def revert_feature(
    engine: Engine, layer: str, feature_id: int, *, user: str, if_match: str | None, margin_m: float = 5000.0
) -> str | None:
    """Undo the last change of a feature: a new feature is deleted, a change is changed back,
    a deleted feature comes back under its id (so what referred to it refers to it again).
    Returns its tag after (None when it is deleted)."""
    editable(layer)
    key = service_secret(engine)
    with write_transaction(engine) as conn:
        last = conn.execute(
            select(feature_history)
            .where(feature_history.c.layer == layer, feature_history.c.feature_id == int(feature_id))
            .order_by(feature_history.c.id.desc())
            .limit(1)
        ).first()
        if last is None:
            raise NotFoundError(f"feature {feature_id} of '{layer}' has no change to undo")
        target = json.loads(last.before) if last.before else None
        if last.after is None:  # deleted: it comes back as it was
            if target is None:
                raise ConflictError(f"feature {feature_id} of '{layer}' has no earlier version to restore")
            create_on(conn, layer, target["values"], version_shape(target), user=user, margin_m=margin_m,
                      feature_id=int(feature_id), action="revert")  # fmt: skip
            return feature_etag(layer, read_feature(conn, layer, feature_id), key)
        row = locked_feature(conn, layer, feature_id, if_match, key)
        if target is None:  # new: it goes
            delete_on(conn, layer, row, user=user, action="revert")
            return None
        return update_on(conn, layer, row, target["values"], version_shape(target), user=user, margin_m=margin_m, key=key,
                         action="revert")  # fmt: skip


def version_shape(version: Mapping[str, Any]) -> Any:
    """The geometry of a kept version (shapely), or None."""
    geometry = version.get("geometry")
    return shapely.geometry.shape(geometry) if geometry else None


def grid_map_check(tolerances: Any) -> Check:
    """The checks of ``gridmap validate`` (:func:`gridmap.topology.check_grid_map`) on the
    layers as the open transaction sees them: the findings that touch what changed (the
    outlines before and after), from the features within reach of it."""
    from gridmap.store.layers import read_layer
    from gridmap.topology import CHECKED_LAYERS, check_grid_map

    def check(conn: Connection, touched: list[Any]) -> gpd.GeoDataFrame:
        layers = {name: read_layer(conn, name) for name in CHECKED_LAYERS}
        near = shapely.union_all([shapely.buffer(g, 1e-7) for g in touched if g is not None])
        return check_grid_map(layers, tolerances, near=near).reset_index(drop=True)

    return check
