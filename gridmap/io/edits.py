"""Edit single features: create, update and delete with validation, optimistic concurrency
and an audit record.

Every feature has an entity tag: a keyed hash (HMAC-SHA-256 under the service's secret) of
the values and geometry the caller is shown, so a tag changes when what the caller reads
changes and reveals nothing of values hidden from them. An update or delete names the tag it
was based on; the feature is locked (``SELECT … FOR UPDATE`` on PostGIS, the write lock of an
immediate transaction on SQLite) before its tag is compared, so of several edits based on one
tag exactly one is written and the others are refused with :class:`StaleEditError`, each
refusal audited. Each edit, its audit record and the layer's version bump commit together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from gridmap.crs import STORAGE_CRS, STORAGE_SRID
from gridmap.errors import ConflictError, InputError, NotFoundError, Problem, StaleEditError, TagRequiredError
from gridmap.households import HouseholdParams, by_hand, estimated_after_edit
from gridmap.io.importer import prepare_frame, validation_context
from gridmap.model import STEPPED_LAYERS, layer_spec
from gridmap.settings import Settings
from gridmap.store.engine import write_transaction
from gridmap.store.layers import (
    WKB_KEY,
    add_wkb,
    bump_version,
    insert_one,
    insert_rows,
    python_value,
    read_layer,
    record_audit,
)
from gridmap.store.references import referrers
from gridmap.store.secret import service_secret
from gridmap.store.tables import GEOMETRY_COLUMN, LAYER_TABLES, feature_history
from gridmap.values import json_value


def feature_etag(layer: str, row: pd.Series, key: bytes) -> str:
    """The entity tag of one feature as a caller sees it (a row of :func:`read_layer`, masked
    for the caller where their role masks it), keyed by the service's secret ``key``."""
    spec = layer_spec(layer)
    values = {c.name: python_value(row.get(c.name), c.kind) for c in spec.columns}
    text = json.dumps([layer, int(row["id"]) if "id" in row else row.name, values],
                      sort_keys=True, ensure_ascii=False, default=str)  # fmt: skip
    digest = hmac.new(key, text.encode(), hashlib.sha256)
    if spec.geometry:
        digest.update(shapely.to_wkb(row["geometry"], hex=False, output_dimension=2))
    return digest.hexdigest()[:32]


def read_feature(source: Engine | Connection, layer: str, feature_id: int) -> pd.Series:
    """One stored feature; NotFoundError when the layer has no such id."""
    frame = read_layer(source, layer, ids=[int(feature_id)])
    if len(frame) == 0:
        raise NotFoundError(f"layer '{layer}' has no feature with id {feature_id}")
    return frame.iloc[0]


def _frame(layer: str, values: Mapping[str, Any], geometry: Any) -> pd.DataFrame:
    spec = layer_spec(layer)
    unknown = sorted(set(values) - set(spec.column_names) - {"id"})
    if unknown:
        raise InputError(
            [
                Problem(
                    f"layer '{layer}' has no field '{u}'; it has: {', '.join(spec.column_names)}", field=u
                )
                for u in unknown
            ]
        )
    frame = pd.DataFrame([{k: v for k, v in values.items() if k != "id"}])
    if spec.geometry:
        if geometry is None:
            raise InputError([Problem(f"a feature of layer '{layer}' needs a geometry", field="geometry")])
        return gpd.GeoDataFrame(frame, geometry=[geometry], crs=STORAGE_CRS)
    return frame


def _household_params() -> HouseholdParams:
    """How this installation estimates homes (``GRIDMAP_…`` settings), for edited buildings."""
    return HouseholdParams.from_settings(Settings())


def validated_feature(
    conn: Connection,
    layer: str,
    values: Mapping[str, Any],
    geometry: Any,
    *,
    own: pd.Series | None,
    label: str,
    margin_m: float = 5000.0,
) -> pd.DataFrame:
    """One feature's values (and geometry, EPSG:4326) checked as an import checks a file's
    rows, ready to store; ``own`` is the stored feature an update replaces. InputError
    names ``label`` and the field of each problem."""
    spec = layer_spec(layer)
    frame = _frame(layer, values, geometry)
    if own is not None:
        frame.insert(0, "id", [int(own["id"])])
    ctx = validation_context(conn, layer, mode="append", fix=False, margin_m=margin_m, rows=frame)
    if own is not None:  # an update may keep its own id and code
        ctx.ids.get(layer, set()).discard(int(own["id"]))
        if spec.code:
            ctx.codes.discard(str(own[spec.code]))
    try:
        clean, _, _ = prepare_frame(frame, layer, ctx)
    except InputError as exc:  # one feature: name it, not its row in a file
        raise InputError([Problem(p.message, file=label, field=p.field) for p in exc.problems]) from None
    return clean


def editable(layer: str) -> None:
    """Refuse a plain edit of a layer whose features change through their own steps."""
    if layer in STEPPED_LAYERS:
        raise ConflictError(f"layer '{layer}' is not edited feature by feature: {STEPPED_LAYERS[layer]}")


def _snapshot(layer: str, row: pd.Series | None) -> str | None:
    """A stored feature as JSON for its history: its values and geometry (GeoJSON)."""
    if row is None:
        return None
    spec = layer_spec(layer)
    values = {c: json_value(row.get(c)) for c in spec.column_names}
    geometry = (
        shapely.geometry.mapping(row["geometry"])
        if spec.geometry and row.get("geometry") is not None
        else None
    )
    return json.dumps({"values": values, "geometry": geometry}, ensure_ascii=False, default=str)


def _history(
    conn: Connection, layer: str, feature_id: int, action: str, user: str, before: pd.Series | None,
    after: pd.Series | None, changeset: int | None,
) -> None:  # fmt: skip
    conn.execute(insert(feature_history).values(
        at=dt.datetime.now(dt.UTC).replace(tzinfo=None), user_name=user, layer=layer, feature_id=int(feature_id),
        action=action, changeset_id=changeset, before=_snapshot(layer, before), after=_snapshot(layer, after),
    ))  # fmt: skip


def create_on(
    conn: Connection, layer: str, values: Mapping[str, Any], geometry: Any, *, user: str, margin_m: float,
    changeset: int | None = None, feature_id: int | None = None, action: str = "create",
) -> int:  # fmt: skip
    """Add one feature on an open transaction (with ``feature_id``: under that id, as a revert
    of its deletion does); returns its id."""
    editable(layer)
    label = f"new feature of layer '{layer}'"
    given = dict(values) | ({"id": feature_id} if feature_id is not None else {})
    if layer == "buildings":
        given.update(by_hand(values))
    clean = validated_feature(conn, layer, given, geometry, own=None, label=label, margin_m=margin_m)
    if layer == "buildings" and feature_id is None:  # a new building, not one restored as it was
        clean = estimated_after_edit(clean, values, None, True, _household_params())
    new_id = (
        insert_one(conn, layer, clean) if feature_id is None else _insert_as(conn, layer, clean, feature_id)
    )
    record_audit(conn, user=user, action=action, layer=layer, feature_id=new_id, count=1)
    _history(conn, layer, new_id, action, user, None, read_feature(conn, layer, new_id), changeset)
    bump_version(conn, layer)
    return new_id


def _insert_as(conn: Connection, layer: str, clean: pd.DataFrame, feature_id: int) -> int:
    if len(read_layer(conn, layer, ids=[int(feature_id)])):
        raise ConflictError(f"feature {feature_id} of '{layer}' exists again; nothing to restore")
    insert_rows(conn, layer, clean.assign(id=[int(feature_id)]))
    return int(feature_id)


def create_feature(
    engine: Engine,
    layer: str,
    values: Mapping[str, Any],
    geometry: Any = None,
    *,
    user: str,
    margin_m: float = 5000.0,
) -> tuple[int, str]:
    """Add one feature (``geometry`` a shapely geometry in EPSG:4326, at most ``margin_m``
    metres outside the district); returns its id and tag."""
    editable(layer)
    with write_transaction(engine) as conn:
        new_id = create_on(conn, layer, values, geometry, user=user, margin_m=margin_m)
        row = read_feature(conn, layer, new_id)
    return new_id, feature_etag(layer, row, service_secret(engine))


def locked_row(conn: Connection, layer: str, feature_id: int) -> pd.Series:
    """The stored feature, locked against other writers until the transaction ends
    (NotFoundError when there is none)."""
    table = LAYER_TABLES[layer]
    conn.execute(select(table.c.id).where(table.c.id == int(feature_id)).with_for_update())
    return read_feature(conn, layer, feature_id)


def locked_feature(conn: Connection, layer: str, feature_id: int, if_match: str | None, key: bytes):
    """The stored feature, locked against other writers until the transaction ends, after
    checking that ``if_match`` is its current tag."""
    if if_match is None:
        raise TagRequiredError(
            f"editing feature {feature_id} of '{layer}' needs the tag it was read with (If-Match)"
        )
    row = locked_row(conn, layer, feature_id)
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if feature_etag(layer, row, key) not in tags:
        raise StaleEditError(
            f"feature {feature_id} of '{layer}' was changed by someone else since it was read; "
            "read it again and reapply the change (nothing was written)"
        )
    return row


def audit_refusal(engine: Engine, layer: str, feature_id: int, user: str, action: str, exc) -> None:
    with write_transaction(engine) as conn:
        detail = {"refused": action, "reason": type(exc).__name__, "message": str(exc)}
        record_audit(
            conn, user=user, action="refused", layer=layer, feature_id=int(feature_id), detail=detail
        )


def update_feature(
    engine: Engine,
    layer: str,
    feature_id: int,
    values: Mapping[str, Any],
    geometry: Any = None,
    *,
    user: str,
    if_match: str | None,
    margin_m: float = 5000.0,
) -> str:
    """Change fields (and the geometry, when given) of one feature; returns the new tag.

    Fields not named keep their values. Raises ConflictError when ``if_match`` is not the
    feature's current tag, InputError (naming the field) when the result does not validate.
    """
    editable(layer)
    key = service_secret(engine)
    try:
        with write_transaction(engine) as conn:
            row = locked_feature(conn, layer, int(feature_id), if_match, key)
            return update_on(conn, layer, row, values, geometry, user=user, margin_m=margin_m, key=key)
    except (StaleEditError, TagRequiredError) as exc:
        audit_refusal(engine, layer, feature_id, user, "update", exc)
        raise


def update_on(
    conn: Connection, layer: str, row: pd.Series, values: Mapping[str, Any], geometry: Any, *, user: str,
    margin_m: float, key: bytes, changeset: int | None = None, action: str = "update",
) -> str:  # fmt: skip
    """Change the locked feature ``row`` on an open transaction; returns its new tag."""
    editable(layer)
    spec = layer_spec(layer)
    table = LAYER_TABLES[layer]
    feature_id = int(row["id"])
    merged = {c: row.get(c) for c in spec.column_names}
    merged.update(values)
    if layer == "buildings":  # homes and levels set by hand are given, and stay
        merged.update(by_hand(values, row.to_dict()))
    geom = geometry if geometry is not None else (row["geometry"] if spec.geometry else None)
    label = f"feature {feature_id} of layer '{layer}'"
    checked = validated_feature(conn, layer, merged, geom, own=row, label=label, margin_m=margin_m)
    if layer == "buildings":
        checked = estimated_after_edit(
            checked, values, row.to_dict(), geometry is not None, _household_params()
        )
    clean = checked.iloc[0]
    changes = {c.name: python_value(clean.get(c.name), c.kind) for c in spec.columns if c.name in clean.index}
    shown = {c: json_value(v) for c, v in changes.items()}  # dates as text, for the audit record
    before = {c: json_value(row.get(c)) for c in changes if json_value(row.get(c)) != shown[c]}
    statement = update(table).where(table.c.id == feature_id).values(**changes)
    if spec.geometry:
        rows: list[dict[str, Any]] = [{}]
        add_wkb(rows, np.array([clean["geometry"]], dtype=object), spec.geometry)
        statement = statement.values({GEOMETRY_COLUMN: func.ST_GeomFromWKB(rows[0][WKB_KEY], STORAGE_SRID)})
    conn.execute(statement)
    detail: dict[str, Any] = {"before": before, "after": {c: shown[c] for c in before}}
    if geometry is not None:
        detail["geometry"] = "changed"
    record_audit(conn, user=user, action=action, layer=layer, feature_id=feature_id, detail=detail)
    after = read_feature(conn, layer, feature_id)
    _history(conn, layer, feature_id, action, user, row, after, changeset)
    bump_version(conn, layer)
    return feature_etag(layer, after, key)


def referencing(conn: Connection, layer: str, feature_id: int) -> dict[str, int]:
    """How many features of other layers (assignments ended or not) refer to feature
    ``feature_id`` of ``layer``, by link."""
    return dict(Counter(r.link for r in referrers(conn, layer, [feature_id])))


def delete_feature(engine: Engine, layer: str, feature_id: int, *, user: str, if_match: str | None) -> None:
    """Delete one feature; refused when its tag is stale or other features still refer to it."""
    editable(layer)
    key = service_secret(engine)
    try:
        with write_transaction(engine) as conn:
            row = locked_feature(conn, layer, feature_id, if_match, key)
            delete_on(conn, layer, row, user=user)
    except (StaleEditError, TagRequiredError) as exc:
        audit_refusal(engine, layer, feature_id, user, "delete", exc)
        raise


def delete_on(
    conn: Connection,
    layer: str,
    row: pd.Series,
    *,
    user: str,
    changeset: int | None = None,
    action: str = "delete",
) -> None:
    """Delete the locked feature ``row`` on an open transaction, unless others refer to it."""
    editable(layer)
    table = LAYER_TABLES[layer]
    feature_id = int(row["id"])
    refs = referencing(conn, layer, feature_id)
    if refs:
        listed = ", ".join(f"{n} in {where}" for where, n in refs.items())
        raise ConflictError(
            f"feature {feature_id} of '{layer}' is still referred to ({listed}); "
            "reassign those first (nothing was deleted)"
        )
    conn.execute(delete(table).where(table.c.id == int(feature_id)))
    kept = {c: json_value(row.get(c)) for c in layer_spec(layer).column_names}
    record_audit(conn, user=user, action=action, layer=layer, feature_id=int(feature_id), detail=kept)
    _history(conn, layer, feature_id, action, user, row, None, changeset)
    bump_version(conn, layer)
