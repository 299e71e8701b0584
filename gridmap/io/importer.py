"""Import a file into a layer: read, convert to EPSG:4326, validate, then merge it into what
is stored (:mod:`gridmap.io.merge`) in one transaction.

Nothing is written unless every feature passes; a failed import leaves the database as it was.
The same file imported twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridmap.crs import STORAGE_CRS, parse_source_crs, to_storage_crs
from gridmap.errors import InputError, Problem
from gridmap.households import HouseholdParams
from gridmap.io.fieldnames import shapefile_field_map
from gridmap.io.merge import ORPHAN_POLICIES, MergePlan, apply_plan, check_orphans, plan_merge, with_homes
from gridmap.io.offsets import offset_suspicion, outline_suspicion
from gridmap.io.read import is_dbf, read_file
from gridmap.io.validate import ValidationContext, convert_cell, errors_of, is_missing, validate_frame
from gridmap.model import ASSIGNMENT_TARGETS, INT_RANGE, STEPPED_LAYERS, LayerSpec, layer_spec
from gridmap.store.engine import write_transaction
from gridmap.store.layers import (
    layer_keys,
    lock_layer,
    read_layer,
)

EXTENT_LAYERS = ("districts", "streets", "communities")


IMPORT_MODES = ("merge", "replace")


@dataclass
class ImportReport:
    """What an import did (or, dry, would do): the plan's counts, repairs and warnings."""

    layer: str
    file: str
    plan: MergePlan
    fixes: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def count(self) -> int:
        """Features written: added and updated."""
        return len(self.plan.add) + len(self.plan.update)


def district_extent(engine: Engine | Connection) -> shapely.Geometry | None:
    """The union of the stored administrative areas (EPSG:4326), or None when there are none."""
    for layer in EXTENT_LAYERS:
        frame = read_layer(engine, layer, columns=[])
        if len(frame):
            return shapely.union_all(frame.geometry.values)
    return None


def validation_context(
    engine: Engine | Connection,
    layer: str,
    *,
    mode: str,
    fix: bool,
    margin_m: float,
    rows: pd.DataFrame | None = None,
) -> ValidationContext:
    """Gather what the checks of ``layer`` need from the database: the ids and codes of the
    layers it refers to (and of itself, unless it is replaced), every one of them, or with
    ``rows`` (the few features an edit checks) only those the rows name, so that checking
    one household reads a handful of rows, not every household of the district."""
    spec = layer_spec(layer)
    wanted = {r.layer for r in spec.references}
    if layer == "assignments":
        wanted |= set(ASSIGNMENT_TARGETS)
    if mode in ("append", "merge"):
        wanted.add(layer)
    ctx = ValidationContext(fix=fix, margin_m=margin_m, extent=district_extent(engine), merge=mode == "merge")
    for name in wanted:
        ids, codes = (None, None) if rows is None else _named(rows, spec, name)
        keys = layer_keys(engine, name, ids=ids, codes=codes)
        ctx.ids[name] = {i for i, _ in keys}
        if layer_spec(name).code:
            ctx.code_ids[name] = {str(c): i for i, c in keys if c is not None}
    if mode == "append" and spec.code:
        ctx.codes = set(ctx.code_ids.get(layer, {}))
    if mode == "replace":
        ctx.ids.pop(layer, None)
    return ctx


def _named(rows: pd.DataFrame, spec: LayerSpec, layer: str) -> tuple[set[int], set[str]]:
    """The ids and codes of ``layer`` that ``rows`` of ``spec``'s layer name, in any column a
    check looks up: their own ids and codes, their references, an assignment's target."""
    id_columns = [r.column for r in spec.references if r.layer == layer]
    code_columns = [r.code_column for r in spec.references if r.layer == layer and r.code_column]
    if layer == spec.name:
        id_columns.append("id")
        code_columns += [spec.code] if spec.code else []
    if spec.name == "assignments" and layer in ASSIGNMENT_TARGETS:
        id_columns.append("target_id")
    ids, codes = set(), set()
    for column in id_columns:
        for value in rows[column].tolist() if column in rows.columns else []:
            try:
                ident = convert_cell(value, "int")
            except (TypeError, ValueError, OverflowError):
                continue  # not a whole number: the checks say so
            if INT_RANGE[0] <= ident <= INT_RANGE[1]:  # past it no feature has it, and no driver takes it
                ids.add(ident)
    for column in code_columns:
        for value in rows[column].tolist() if column in rows.columns else []:
            if not is_missing(value):
                codes |= {str(value), str(value).strip()}
    return ids, codes


def prepare_frame(
    frame: pd.DataFrame,
    layer: str,
    ctx: ValidationContext,
    *,
    file: str | None = None,
    source_crs: str | None = None,
) -> tuple[pd.DataFrame, list[Problem], list[Problem]]:
    """Convert ``frame`` to EPSG:4326 and validate it; raise InputError on any error."""
    spec = layer_spec(layer)
    source = parse_source_crs(source_crs) if source_crs else None
    if spec.geometry and isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        try:
            frame = to_storage_crs(frame, source)
        except InputError as exc:
            raise InputError([Problem(p.message, file=file) for p in exc.problems]) from None
    clean, problems, fixes = validate_frame(frame, spec, ctx, file=file)
    errors = errors_of(problems)
    if errors:
        raise InputError(errors)
    return clean, [p for p in problems if p.severity == "warning"], fixes


def _offset_hint(engine: Engine, layer: str, clean: pd.DataFrame, source_crs: str | None) -> str | None:
    """Whether the imported features look offset (GCJ-02, BD-09): outlines against the areas
    they name, points and lines against the stored roads."""
    spec = layer_spec(layer)
    if layer == "roads" or not spec.geometry or "geometry" not in clean.columns:
        return None
    if source_crs and isinstance(parse_source_crs(source_crs), str):  # gcj02 or bd09: converted
        return None
    shapes = gpd.GeoSeries(list(clean["geometry"]), crs=STORAGE_CRS)
    if spec.geometry == "MULTIPOLYGON":
        for ref in spec.references:
            parent = layer_spec(ref.layer)
            if parent.geometry != "MULTIPOLYGON" or ref.layer == layer or ref.column not in clean.columns:
                continue
            ids = pd.to_numeric(clean[ref.column], errors="coerce")
            stored = read_layer(engine, ref.layer, columns=[], ids=[int(i) for i in ids.dropna().unique()])
            # each row's area, None where it names none or one not stored (all of them, in a file
            # whose column is empty: a map of ids would then give plain NaNs)
            parents = gpd.GeoSeries(stored.geometry.reindex(ids.to_numpy()).to_numpy(), crs=STORAGE_CRS)
            hint = outline_suspicion(shapes, parents, ref.layer)
            if hint:
                return hint
        return None  # an outline's corners need not lie near roads: they say nothing
    roads = read_layer(engine, "roads", columns=[])
    return offset_suspicion(gpd.GeoDataFrame(geometry=shapes[~shapes.isna()], crs=STORAGE_CRS), roads)


def _shapefile_names(frame: pd.DataFrame, layer: str, path: str | Path, label: str) -> dict[str, str]:
    """The columns that a Shapefile's cut or abbreviated field names stand for (none for
    other formats)."""
    if not is_dbf(path):
        return {}
    return shapefile_field_map(frame.columns, layer_spec(layer), file=label)


def import_layer(
    engine: Engine,
    layer: str,
    path: str | Path,
    *,
    source_crs: str | None = None,
    field_map: dict[str, str] | None = None,
    fix: bool = False,
    mode: str = "merge",
    key: Sequence[str] | None = None,
    orphans: str = "refuse",
    dry_run: bool = False,
    file_layer: str | None = None,
    user: str = "cli",
    margin_m: float = 5000.0,
    encoding: str | None = None,
    households: HouseholdParams | None = None,
) -> ImportReport:
    """Import the file at ``path`` into ``layer`` (see the module docstring and
    :mod:`gridmap.io.merge`): ``mode`` ``merge`` adds and updates, ``replace`` also removes
    what the file no longer holds; ``key`` names the columns rows match on; ``orphans``
    says what a removal does to links that would point at nothing (``refuse`` or
    ``unlink``); ``dry_run`` plans and writes nothing. ``encoding`` names the text encoding
    of a CSV or Shapefile (otherwise detected, and said so). Buildings get their homes as
    :func:`gridmap.households.homes_for_import` says, estimated with ``households``."""
    spec = layer_spec(layer)
    if layer in STEPPED_LAYERS:
        raise InputError(f"layer '{layer}' is not imported as a layer: {STEPPED_LAYERS[layer]}")
    if mode not in IMPORT_MODES:
        raise InputError(f"import mode was '{mode}'; expected one of: {', '.join(IMPORT_MODES)}")
    if orphans not in ORPHAN_POLICIES:
        raise InputError(f"--orphans was '{orphans}'; expected one of: {', '.join(ORPHAN_POLICIES)}")
    label = str(path)
    frame = read_file(path, layer=file_layer, field_map=field_map, encoding=encoding)
    text = frame.attrs.get("encoding")
    renamed = _shapefile_names(frame, layer, path, label)
    if renamed:
        frame = frame.rename(columns=renamed)
    ctx = validation_context(engine, layer, mode="merge", fix=fix, margin_m=margin_m)
    clean, warnings, fixes = prepare_frame(frame, layer, ctx, file=label, source_crs=source_crs)
    hint = _offset_hint(engine, layer, clean, source_crs)
    if hint:
        warnings.insert(0, Problem(hint, file=label, severity="warning"))
    if renamed:
        listed = ", ".join(f"{a} → {b}" for a, b in renamed.items())
        warnings.insert(
            0, Problem(f"Shapefile fields read as columns: {listed}", file=label, severity="warning")
        )
    if text is not None and text.guessed:
        warnings.insert(0, Problem(text.describe(), file=label, severity="warning"))
    detail = {
        "file": Path(path).name,
        "source_crs": source_crs,
        "fixed": len(fixes),
        "encoding": text.name if text is not None else None,
    }
    opened = engine.connect() if dry_run else write_transaction(engine)
    with opened as conn:
        lock_layer(conn, layer)
        plan = _planned(
            conn, spec, clean, mode=mode, key=key, orphans=orphans, file=label,
            households=households or HouseholdParams(),
        )  # fmt: skip
        if not dry_run and plan.changes_anything:
            apply_plan(conn, plan, user=user, detail=detail)
    return ImportReport(layer, label, plan, fixes, warnings, dry_run)


def _planned(
    conn: Connection,
    spec: LayerSpec,
    clean: pd.DataFrame,
    *,
    mode: str,
    key: Sequence[str] | None,
    orphans: str,
    file: str,
    households: HouseholdParams,
) -> MergePlan:
    """The merge plan of ``clean`` against the layer as stored now (buildings completed with
    their homes), checked for links a removal would leave pointing at nothing."""
    stored = read_layer(conn, spec.name)
    prepare = with_homes(households) if spec.name == "buildings" else None
    plan = plan_merge(stored, clean, spec, replace=mode == "replace", key=key, file=file, prepare=prepare)
    check_orphans(conn, plan, stored, orphans)
    return plan
