"""Merge a checked file (or an OSM extract) into a stored layer: match each row to a stored feature, then add what
is new, update what changed in place (keeping ids and everything that points at them) and,
with ``replace``, remove what the file no longer holds.

A row is the same feature as a stored one when the file's ``id`` names it, else when their
codes are equal, else by the layer's match columns (``LayerSpec.match``: for most spatial
layers the same name at the same place, within a metre), else by the key columns a caller
names. Removing refuses to leave links pointing at nothing (communities of a removed street,
open assignments on a removed grid) unless told to empty them. The plan is made inside the
write transaction, so that two imports of one file cannot both add it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gridmap.crs import STORAGE_CRS, metric_crs_for
from gridmap.errors import InputError, Problem
from gridmap.households import HouseholdParams, homes_for_import
from gridmap.model import PLACE, PLACE_TOLERANCE_M, LayerSpec, layer_spec
from gridmap.store.layers import bump_version, delete_rows, insert_rows, record_audit, update_rows
from gridmap.store.references import Referrer, referrers, unlink

#: completes an import's rows once matched: (rows, the stored layer, the stored id of each row)
Prepare = Callable[[pd.DataFrame, pd.DataFrame, list[int | None]], pd.DataFrame]
#: what ``orphans`` may say: refuse a removal that leaves links to nothing, or empty them
ORPHAN_POLICIES = ("refuse", "unlink")
NO_SOURCE = "(none)"


@dataclass
class MergePlan:
    """What an import changes: rows to add, updates by stored id, ids to remove."""

    layer: str
    matched_on: tuple[str, ...]
    add: pd.DataFrame
    #: stored id → the file's values of the changed row (its given columns, geometry included)
    update: dict[int, pd.Series] = field(default_factory=dict)
    #: per stored id updated, the columns whose value changes
    changed: dict[int, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    remove: list[int] = field(default_factory=list)
    #: stored features left alone by ``replace`` because they came from another source
    other_sources: dict[str, int] = field(default_factory=dict)
    orphans: list[Referrer] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.add),
            "updated": len(self.update),
            "removed": len(self.remove),
            "unchanged": self.unchanged,
        }

    def updated_rows(self) -> pd.DataFrame:
        """The rows updated, as one frame: the file's values of each, its stored ``id`` beside
        (a GeoDataFrame in EPSG:4326 when they carry geometry)."""
        rows = pd.DataFrame(list(self.update.values())).reset_index(drop=True)
        rows["id"] = list(self.update)
        if "geometry" in rows.columns:
            rows = gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)
        return rows

    @property
    def changes_anything(self) -> bool:
        return bool(len(self.add) or self.update or self.remove)

    def describe(self) -> str:
        """One line: the counts and what rows were matched on."""
        c = self.counts
        on = " and ".join("place" if k == PLACE else k for k in self.matched_on) or "nothing"
        text = (
            f"{self.layer}: {c['added']} added, {c['updated']} updated, {c['removed']} removed, "
            f"{c['unchanged']} unchanged (matched on {on})"
        )
        if self.other_sources:
            kept = ", ".join(f"{n} from {s}" for s, n in sorted(self.other_sources.items()))
            text += f"; kept {kept}, which the file's source does not cover"
        return text


def _key_value(value: Any) -> Any:
    """A cell as a comparable key part: empty as None, text stripped, whole floats as ints."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return int(value) if float(value).is_integer() else round(float(value), 9)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def same_value(a: Any, b: Any) -> bool:
    """Whether two cells hold the same value (empty equals empty; floats to 1e-9)."""
    a, b = _key_value(a), _key_value(b)
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def same_geometry(a: Any, b: Any) -> bool:
    """Whether two stored geometries (EPSG:4326) are the same shape, to 1e-9 degrees."""
    if a is None or b is None:
        return a is b
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), 1e-9))


def _places_within(stored: gpd.GeoSeries, incoming: gpd.GeoSeries) -> dict[int, set[Any]]:
    """For each incoming position, the stored index labels whose geometry lies within
    ``PLACE_TOLERANCE_M`` of it everywhere (Hausdorff distance, metres)."""
    both = pd.concat([stored, incoming])
    metric = metric_crs_for(gpd.GeoSeries(both.values, crs=STORAGE_CRS))
    s = np.asarray(stored.to_crs(metric).values)
    i = np.asarray(incoming.to_crs(metric).values)
    tree = shapely.STRtree(s)
    pairs = tree.query(i, predicate="dwithin", distance=PLACE_TOLERANCE_M)
    found: dict[int, set[Any]] = defaultdict(set)
    labels = stored.index.to_numpy()
    for a, b in zip(pairs[0], pairs[1], strict=True):
        if shapely.hausdorff_distance(i[a], s[b]) <= PLACE_TOLERANCE_M:
            found[int(a)].add(labels[b])
    return found


def _key_columns(spec: LayerSpec, incoming: pd.DataFrame, key: Sequence[str] | None) -> tuple[str, ...]:
    if key:
        unknown = [k for k in key if k != PLACE and k not in incoming.columns]
        if unknown:
            raise InputError(
                f"--key names {', '.join(unknown)}, which the file does not give; it has: "
                f"{', '.join(str(c) for c in incoming.columns if c != 'geometry')}"
            )
        return tuple(key)
    if "id" in incoming.columns and incoming["id"].notna().any():
        return ("id",)
    return tuple(k for k in spec.match_key if k == PLACE or k in incoming.columns)


def match_rows(
    stored: pd.DataFrame,
    incoming: pd.DataFrame,
    spec: LayerSpec,
    *,
    key: Sequence[str] | None = None,
    file: str | None = None,
) -> tuple[tuple[str, ...], list[int | None]]:
    """The stored id each incoming row is (None: a new feature), and the key used.

    Raises InputError naming the rows that match several stored features, or one stored
    feature matched by two rows.
    """
    columns = _key_columns(spec, incoming, key)
    matched: list[int | None] = [None] * len(incoming)
    if not columns or not len(stored):
        return columns, matched
    plain = [c for c in columns if c != PLACE]

    def keys(frame: pd.DataFrame) -> Iterable[tuple[Any, ...]]:
        """Each row's values of the key's columns; () for each where the key is the place alone
        (a file of buildings without names: each matches the stored ones at its place)."""
        return zip(*(frame[c].tolist() for c in plain), strict=True) if plain else [()] * len(frame)

    index: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for ident, values in zip(stored["id"].tolist(), keys(stored), strict=True):
        index[tuple(_key_value(v) for v in values)].append(int(ident))
    near = (
        _places_within(stored.geometry, gpd.GeoSeries(incoming.geometry.values, crs=STORAGE_CRS))
        if PLACE in columns
        else None
    )
    problems: list[Problem] = []
    first_row: dict[int, int] = {}
    for position, values in enumerate(keys(incoming)):
        candidates = index.get(tuple(_key_value(v) for v in values), [])
        if near is not None:
            candidates = [c for c in candidates if c in near.get(position, set())]
        if len(candidates) > 1:
            problems.append(Problem(
                f"matches {len(candidates)} stored features on {', '.join(columns)} (ids "
                f"{', '.join(map(str, candidates[:10]))}); give an id column or name a --key that tells them apart",
                file=file, feature=position,
            ))  # fmt: skip
            continue
        if not candidates:
            continue
        ident = candidates[0]
        if ident in first_row:
            earlier = Problem("", file=file, feature=first_row[ident]).place()
            problems.append(Problem(
                f"is the same feature as {earlier} (stored id {ident}, matched on {', '.join(columns)})",
                file=file, feature=position,
            ))  # fmt: skip
            continue
        first_row[ident] = position
        matched[position] = ident
    if columns == ("id",) and spec.code and spec.code in incoming.columns:
        problems += _taken_codes(stored, incoming, spec.code, file)
    if problems:
        raise InputError(problems)
    return columns, matched


def _taken_codes(stored: pd.DataFrame, incoming: pd.DataFrame, code: str, file: str | None) -> list[Problem]:
    """Rows whose code another stored feature holds, when rows are matched by id."""
    owner = {_key_value(c): int(i) for c, i in zip(stored[code], stored["id"], strict=True)}
    problems = []
    for position, (value, ident) in enumerate(zip(incoming[code], incoming["id"], strict=True)):
        holder = owner.get(_key_value(value))
        if holder is not None and holder != _key_value(ident):
            problems.append(Problem(
                f"code '{value}' belongs to stored feature {holder}, not to id {_key_value(ident)}",
                file=file, feature=position, field=code,
            ))  # fmt: skip
    return problems


def _changed_columns(stored: pd.Series, row: pd.Series, given: Sequence[str], spatial: bool) -> list[str]:
    changed = [c for c in given if not same_value(stored.get(c), row.get(c))]
    if spatial and not same_geometry(stored["geometry"], row["geometry"]):
        changed.append("geometry")
    return changed


def _source_of(value: Any) -> str:
    return _key_value(value) or NO_SOURCE


def plan_merge(
    stored: pd.DataFrame,
    incoming: pd.DataFrame,
    spec: LayerSpec,
    *,
    replace: bool = False,
    key: Sequence[str] | None = None,
    file: str | None = None,
    prepare: Prepare | None = None,
) -> MergePlan:
    """Match ``incoming`` (checked, EPSG:4326) against ``stored`` (the layer as read, index
    the id) and plan the changes. With ``replace``, stored features the file does not hold
    are removed — of a layer with a ``source`` column, only those of the file's sources.
    ``prepare`` completes the rows once they are matched (a building's homes, say)."""
    matched_on, matched = match_rows(stored, incoming, spec, key=key, file=file)
    incoming = incoming.reset_index(drop=True)
    if prepare is not None:
        incoming = prepare(incoming, stored, matched)
    given = [c for c in incoming.columns if c not in ("id", "geometry")]
    spatial = spec.geometry is not None
    new_rows: list[int] = []
    plan = MergePlan(spec.name, matched_on, incoming.iloc[[]])
    for position, ident in enumerate(matched):
        row = incoming.iloc[position]
        if ident is None:
            new_rows.append(position)
            continue
        changed = _changed_columns(stored.loc[ident], row, given, spatial)
        if changed:
            plan.update[ident] = row
            plan.changed[ident] = changed
        else:
            plan.unchanged += 1
    _refuse_taken_ids(incoming, new_rows, stored, matched_on, file)
    plan.add = incoming.iloc[new_rows]
    if replace:
        kept = {i for i in matched if i is not None}
        rest = stored[~stored["id"].isin(kept)]
        if "source" in stored.columns:
            sources = (
                {_source_of(v) for v in incoming["source"]} if "source" in incoming.columns else {NO_SOURCE}
            )
            theirs = rest["source"].map(_source_of)
            plan.other_sources = dict(Counter(theirs[~theirs.isin(sources)]))
            rest = rest[theirs.isin(sources)]
        plan.remove = [int(i) for i in rest["id"]]
    return plan


def _refuse_taken_ids(
    incoming: pd.DataFrame, new_rows: list[int], stored: pd.DataFrame, matched_on: tuple[str, ...],
    file: str | None,
) -> None:  # fmt: skip
    """InputError naming each new row (one that matched no stored feature on another key than
    the id) whose id a stored feature has: added, it would take that feature's id."""
    if "id" not in incoming.columns or matched_on == ("id",):
        return
    taken = set(stored["id"].tolist())
    problems = [
        Problem(
            f"id {int(ident)} is a stored feature's, but the row matches none on {', '.join(matched_on)}; "
            "leave its id out to add it as a new feature, or match on the id (no --key)",
            file=file, feature=position, field="id",
        )
        for position in new_rows
        if not pd.isna(ident := incoming["id"].iloc[position]) and int(ident) in taken
    ]  # fmt: skip
    if problems:
        raise InputError(problems)


def orphans_problem(plan: MergePlan, labels: dict[int, str]) -> InputError:
    """The error for a removal that would leave links pointing at nothing."""
    by_link: dict[str, list[Referrer]] = defaultdict(list)
    for orphan in plan.orphans:
        by_link[orphan.link].append(orphan)
    problems = []
    for link, found in by_link.items():
        targets = sorted({o.target_id for o in found})
        named = ", ".join(labels.get(t, str(t)) for t in targets[:10])
        problems.append(Problem(
            f"removing {plan.layer} {named} would leave {len(found)} link(s) of {link} pointing at "
            f"nothing (ids {', '.join(str(o.feature_id) for o in found[:10])}); keep those features "
            "in the file, move what refers to them first, or pass --orphans unlink to empty the "
            "links (assignments end today)",
        ))  # fmt: skip
    return InputError(problems)


def check_orphans(conn: Connection, plan: MergePlan, stored: pd.DataFrame, policy: str) -> None:
    """Find the links ``plan``'s removals would leave pointing at nothing (open assignments
    only) and keep them in the plan; raise InputError naming them when ``policy`` is
    ``refuse``. ``stored`` is the layer as read, for the removed features' codes or names."""
    if not plan.remove:
        return
    removed = set(plan.remove)
    found = referrers(conn, plan.layer, removed, today=dt.date.today())
    plan.orphans = [o for o in found if not (o.layer == plan.layer and o.feature_id in removed)]
    if plan.orphans and policy == "refuse":
        spec = layer_spec(plan.layer)
        label = spec.code or ("name" if "name" in stored.columns else "id")
        labels = {int(i): f"{v} (id {int(i)})" for i, v in zip(stored["id"], stored[label], strict=True)}
        raise orphans_problem(plan, labels)


def apply_plan(
    conn: Connection, plan: MergePlan, *, user: str, detail: Mapping[str, Any], action: str = "import"
) -> None:
    """Write ``plan`` on an open transaction: empty the links it orphans, remove, update in
    place, add; one audit record with the counts, and the versions of the layers touched."""
    layer = plan.layer
    unlink(conn, plan.orphans, today=dt.date.today())
    for other in sorted({o.layer for o in plan.orphans} - {layer}):
        bump_version(conn, other)
    delete_rows(conn, layer, plan.remove)
    if plan.update:
        rows = plan.updated_rows()
        update_rows(conn, layer, rows, [c for c in rows.columns if c not in ("id", "geometry")])
    insert_rows(conn, layer, plan.add)
    record_audit(
        conn, user=user, action=action, layer=layer, count=sum(plan.counts.values()) - plan.unchanged,
        detail={**detail, **plan.counts, "matched_on": list(plan.matched_on), "unlinked": len(plan.orphans)},
    )  # fmt: skip
    bump_version(conn, layer)


def with_homes(params: HouseholdParams, height_m: pd.Series | None = None) -> Prepare:
    """A merge's completion of buildings: their homes given, kept or estimated
    (:func:`gridmap.households.homes_for_import`); ``height_m`` is OSM ``height`` per row."""

    def prepare(rows: pd.DataFrame, stored: pd.DataFrame, matched: list[int | None]) -> pd.DataFrame:
        return homes_for_import(
            gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS),
            stored,
            matched,
            params,
            height_m=height_m,
        )

    return prepare
