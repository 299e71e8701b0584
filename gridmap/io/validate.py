"""Validate a frame against its layer before anything is written.

Every problem is collected (not only the first) and named by file, feature (row index and
id/code) and field. With ``fix=True`` invalid geometries are repaired with ``make_valid`` and
each repair is reported.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.care import load_care_tags
from gridmap.crs import STORAGE_CRS, metric_crs_for
from gridmap.errors import InputError, Problem
from gridmap.model import ASSIGNMENT_TARGETS, INT_RANGE, Column, LayerSpec, ServiceCategory
from gridmap.orgcatalogue import org_catalogue

_TRUE = {"true", "t", "yes", "y", "1", "是", "有"}
_FALSE = {"false", "f", "no", "n", "0", "否", "无"}
_CATEGORY_SPLIT = re.compile(r"[,;|，；、\s]+")
_ALLOWED_TYPES = {
    "MULTIPOLYGON": ("Polygon", "MultiPolygon"),
    "POINT": ("Point",),
    "LINESTRING": ("LineString",),
}


@dataclass
class ValidationContext:
    """What the database already holds, for the checks that need it.

    ``codes`` are the codes already used in the target layer; ``ids`` the feature ids per
    layer; ``code_ids`` per layer a mapping code → id; ``extent`` the district area in
    EPSG:4326 (None: only coordinate ranges are checked); ``margin_m`` how far outside it a
    feature may lie; ``merge`` that ids naming stored features update them.
    """

    codes: set[str] = field(default_factory=set)
    ids: dict[str, set[int]] = field(default_factory=dict)
    code_ids: dict[str, dict[str, int]] = field(default_factory=dict)
    extent: BaseGeometry | None = None
    margin_m: float = 5000.0
    fix: bool = False
    #: the file merges into the layer: its ids and codes may name stored features
    merge: bool = False


def split_categories(value: str) -> list[str]:
    """Split a category list written with commas, semicolons, pipes or spaces."""
    return [v for v in _CATEGORY_SPLIT.split(value.strip()) if v]


def convert_cell(value: Any, kind: str) -> Any:
    """Convert one cell to the column's kind; raises ValueError naming what was expected."""
    if isinstance(value, dict | list | tuple | set):
        raise ValueError(f"expected a single value, not a {type(value).__name__}")
    if kind == "str":
        return str(value)
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        number = float(value)
        if not number.is_integer():
            raise ValueError("expected a whole number")
        return int(number)
    if kind == "float":
        return float(value)
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected true/false (also yes/no, 1/0, 是/否)")
    if kind == "date":
        if isinstance(value, dt.datetime | pd.Timestamp):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None
    if kind == "datetime":
        if isinstance(value, int | float | np.number):  # not seconds (or nanoseconds) since 1970
            raise ValueError("expected a date and time as YYYY-MM-DDTHH:MM")
        return pd.Timestamp(value).to_pydatetime()
    raise AssertionError(kind)


def is_missing(value: Any) -> bool:
    """Whether a cell is empty: None, blank text, NaN or NA."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class _Collector:
    def __init__(self, file: str | None, frame: pd.DataFrame, spec: LayerSpec) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.fixes: list[Problem] = []
        key = spec.code if spec.code and spec.code in frame.columns else None
        if key is None and "id" in frame.columns:
            key = "id"
        self.labels = [None if is_missing(v) else str(v) for v in frame[key]] if key else [None] * len(frame)

    def place(self, row: int) -> str:
        """Where ``row`` is, as the file's user counts it (see :meth:`Problem.place`)."""
        return Problem("", file=self.file, feature=row).place()

    def add(self, message: str, row: int | None = None, field: str | None = None, **kw) -> None:
        self.problems.append(
            Problem(
                message,
                file=self.file,
                feature=row,
                feature_id=self.labels[row] if row is not None else None,
                field=field,
                **kw,
            )
        )

    def fixed(self, message: str, row: int, field: str = "geometry") -> None:
        self.fixes.append(
            Problem(
                message,
                file=self.file,
                feature=row,
                feature_id=self.labels[row],
                field=field,
                severity="fixed",
            )
        )


def _check_columns(frame: pd.DataFrame, spec: LayerSpec, out: _Collector) -> dict[str, list]:
    """Convert every known column; returns the converted values by column."""
    converted: dict[str, list] = {}
    code_columns = {r.code_column for r in spec.references if r.code_column}
    for col in spec.columns:
        if col.name not in frame.columns:
            if col.required:
                has_code = any(
                    r.column == col.name and r.code_column in frame.columns for r in spec.references
                )
                if not has_code:
                    out.add(
                        f"required field '{col.name}' is missing; the file has: "
                        f"{', '.join(map(str, frame.columns))}",
                        field=col.name,
                    )
            continue
        values: list = []
        for i, raw in enumerate(frame[col.name].tolist()):
            if is_missing(raw):
                if col.required:
                    out.add("required value is empty", i, col.name)
                values.append(None)
                continue
            try:
                value = convert_cell(raw, col.kind)
            except (ValueError, TypeError, OverflowError) as exc:
                out.add(f"'{raw}' is not valid: {exc}", i, col.name)
                values.append(None)
                continue
            wrong = out_of_bounds(value, col)
            if wrong:
                out.add(wrong, i, col.name)
                values.append(None)
                continue
            values.append(value)
        converted[col.name] = values
    _check_order(converted, spec, out)
    known = set(spec.column_names) | code_columns | {"id", "geometry"}
    extra = [str(c) for c in frame.columns if c not in known]
    if extra:
        out.problems.append(
            Problem(
                f"field(s) {', '.join(extra)} are not columns of layer '{spec.name}' and are "
                "ignored (map them with --field-map FILE_FIELD=COLUMN)",
                file=out.file,
                severity="warning",
            )
        )
    return converted


def out_of_bounds(value: Any, col: Column) -> str | None:
    """What is wrong with a converted value for its column's choices, format and range."""
    if col.kind == "str":
        if len(value) > col.max_length:
            return f"is {len(value)} characters long; at most {col.max_length} are allowed"
        allowed = col.choices or (org_catalogue().ids(col.catalogue) if col.catalogue else None)
        if allowed and value not in allowed:
            return f"'{value}' is not one of: {', '.join(allowed)}"
        if col.pattern and not re.fullmatch(col.pattern, value):
            return f"'{value}' is not {col.pattern_says or 'in the expected format'}"
    if col.kind in ("int", "float"):
        if col.kind == "float" and not math.isfinite(value):
            return f"'{value}' is not a finite number"
        if col.minimum is not None:
            low, high = col.minimum, col.maximum
        elif col.kind == "int":
            low, high = INT_RANGE
        else:
            return None
        if value < low or (high is not None and value > high):
            expected = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
            return f"{value} is out of range; expected {expected}"
    if col.kind == "date" and col.happened:
        # a day ahead: the user's day may already be the server's next
        latest = dt.date.today() + dt.timedelta(days=1)
        if value > latest:
            return f"{value} lies in the future: expected a day that has come ({latest} at the latest)"
    return None


def _check_order(converted: dict[str, list], spec: LayerSpec, out: _Collector) -> None:
    for first, second in spec.ordered:
        if first not in converted or second not in converted:
            continue
        for i, (a, b) in enumerate(zip(converted[first], converted[second], strict=True)):
            if a is not None and b is not None and a > b:
                out.add(f"{second} {b} is before {first} {a}", i, second)


def _check_categories(values: list, out: _Collector) -> None:
    known = {c.value for c in ServiceCategory}
    for i, value in enumerate(values):
        if value is None:
            continue
        cats = split_categories(value)
        unknown = [c for c in cats if c not in known]
        if not cats:
            out.add("no service category given", i, "categories")
        elif unknown:
            out.add(
                f"unknown service categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(unknown)}; expected some of: {', '.join(sorted(known))}",
                i,
                "categories",
            )
        else:
            values[i] = ",".join(dict.fromkeys(cats))


def _check_care_tags(values: list, out: _Collector) -> None:
    tags = load_care_tags()
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            values[i] = ",".join(dict.fromkeys(tags.parse(value))) or None
        except InputError as exc:
            out.add(exc.problems[0].message, i, "care_tags")


def _check_ids(frame: pd.DataFrame, spec: LayerSpec, ctx: ValidationContext, out: _Collector) -> list:
    if "id" not in frame.columns:
        return []
    ids: list = []
    seen: dict[int, int] = {}
    existing = ctx.ids.get(spec.name, set())
    for i, raw in enumerate(frame["id"].tolist()):
        if is_missing(raw):
            ids.append(None)
            continue
        try:
            value = convert_cell(raw, "int")
        except ValueError:
            out.add(f"id '{raw}' is not a whole number", i, "id")
            ids.append(None)
            continue
        if value in seen:
            out.add(f"id {value} is used again (first at {out.place(seen[value])})", i, "id")
        elif value in existing and not ctx.merge:
            out.add(f"id {value} already exists in layer '{spec.name}'", i, "id")
        seen.setdefault(value, i)
        ids.append(value)
    return ids


def _check_codes(values: list, spec: LayerSpec, ctx: ValidationContext, out: _Collector) -> None:
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        if value in seen:
            out.add(f"duplicate code '{value}' (also at {out.place(seen[value])})", i, spec.code)
        elif value in ctx.codes:
            out.add(f"code '{value}' already exists in layer '{spec.name}'", i, spec.code)
        seen.setdefault(value, i)


def _check_references(
    frame: pd.DataFrame,
    spec: LayerSpec,
    converted: dict[str, list],
    own_ids: list,
    ctx: ValidationContext,
    out: _Collector,
) -> None:
    for ref in spec.references:
        known = set(ctx.ids.get(ref.layer, set()))
        if ref.layer == spec.name:
            known |= {v for v in own_ids if v is not None}
        if ref.code_column and ref.code_column in frame.columns:
            lookup = ctx.code_ids.get(ref.layer, {})
            resolved = list(converted.get(ref.column, [None] * len(frame)))
            for i, code in enumerate(frame[ref.code_column].tolist()):
                if is_missing(code):
                    continue
                code = str(code).strip()
                if code in lookup:
                    resolved[i] = lookup[code]
                else:
                    out.add(f"no feature with code '{code}' in layer '{ref.layer}'", i, ref.code_column)
            converted[ref.column] = resolved
        elif ref.column in converted:
            for i, value in enumerate(converted[ref.column]):
                if value is not None and value not in known:
                    out.add(f"no feature with id {value} in layer '{ref.layer}'", i, ref.column)
    if spec.name == "assignments" and "target_layer" in converted:
        for i, (target, ident) in enumerate(
            zip(converted["target_layer"], converted.get("target_id", []), strict=False)
        ):
            if target is None:
                continue
            if target not in ASSIGNMENT_TARGETS:
                out.add(
                    f"'{target}' is not a layer one can be responsible for; expected one of: "
                    f"{', '.join(ASSIGNMENT_TARGETS)}",
                    i,
                    "target_layer",
                )
            elif ident is not None and ident not in ctx.ids.get(target, set()):
                out.add(f"no feature with id {ident} in layer '{target}'", i, "target_id")
        roles = org_catalogue().roles
        for i, (role, target) in enumerate(
            zip(converted.get("role", []), converted["target_layer"], strict=False)
        ):
            if role in roles and target in ASSIGNMENT_TARGETS and target not in roles[role].held_for:
                out.add(
                    f"a {role} ({roles[role].name_zh}) is held for {' or '.join(roles[role].held_for)}, not for {target}",
                    i,
                    "target_layer",
                )


def _check_grid_codes(converted: dict[str, list], ctx: ValidationContext, out: _Collector) -> None:
    """Each grid's code under its kind's code standard, with its community's code in it."""
    if "code" not in converted:  # a file without codes: that the field is missing is said once
        return
    catalogue = org_catalogue()
    community_codes = {i: c for c, i in ctx.code_ids.get("communities", {}).items()}
    n = len(converted["code"])
    kinds = converted.get("kind") or [None] * n
    communities = converted.get("community_id") or [None] * n
    for i, (code, kind, community) in enumerate(zip(converted["code"], kinds, communities, strict=True)):
        if code is None or (kind is not None and kind not in catalogue.grid_kinds):
            continue
        problem = catalogue.grid_kind(kind).code.problem(code, community_codes.get(community))
        if problem:
            out.add(f"{problem} (grid kind {kind or 'party'})", i, "code")


def _range_hint(geom: BaseGeometry, extent: BaseGeometry | None) -> str:
    minx, miny, maxx, maxy = geom.bounds
    if not np.isfinite(geom.bounds).all():
        return "a coordinate is not a finite number"
    if max(abs(minx), abs(maxx), abs(miny), abs(maxy)) > 1000:
        return (
            "the values look like metres of a projected CRS: declare it with --source-crs "
            "(e.g. EPSG:4547 for CGCS2000 / 3-degree Gauss-Kruger CM 114E)"
        )
    swapped = shapely.transform(geom, lambda c: c[:, ::-1])
    if (
        abs(swapped.bounds[0]) <= 180
        and abs(swapped.bounds[1]) <= 90
        and (extent is None or swapped.distance(extent) < 0.5)
    ):
        return "lon/lat look swapped: lon comes first (x), then lat (y)"
    return "check the file's CRS or declare one with --source-crs"


def _check_geometry(
    frame: gpd.GeoDataFrame, spec: LayerSpec, ctx: ValidationContext, out: _Collector
) -> np.ndarray | None:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        out.add(
            f"layer '{spec.name}' needs {spec.geometry} geometry but the file has none "
            "(a CSV needs lon/lat columns or a wkt column)",
            field="geometry",
        )
        return None
    geoms = np.asarray(frame.geometry.values, dtype=object)
    allowed = _ALLOWED_TYPES[spec.geometry]  # type: ignore[index]
    result = geoms.copy()
    in_range = np.zeros(len(geoms), dtype=bool)
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            out.add("geometry is missing or empty", i, "geometry")
            continue
        if geom.geom_type == "MultiPoint" and spec.geometry == "POINT" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        if geom.geom_type == "MultiLineString" and spec.geometry == "LINESTRING":
            merged = shapely.line_merge(geom)
            geom = merged if merged.geom_type == "LineString" else geom
        if geom.geom_type not in allowed:
            out.add(
                f"geometry is {geom.geom_type} but layer '{spec.name}' holds {' or '.join(allowed)}",
                i,
                "geometry",
            )
            continue
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
            out.add(
                f"coordinates ({minx:.6g}, {miny:.6g}) are outside lon −180…180 / lat −90…90: "
                f"{_range_hint(geom, ctx.extent)}",
                i,
                "geometry",
            )
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            if ctx.fix:
                repaired = shapely.make_valid(geom)
                parts = [
                    p
                    for p in getattr(repaired, "geoms", [repaired])
                    if p.geom_type in allowed or p.geom_type == f"Multi{allowed[0]}"
                ]
                repaired = shapely.union_all(parts) if parts else None
                if repaired is None or repaired.is_empty or repaired.geom_type not in allowed:
                    out.add(f"invalid geometry ({reason}) and --fix could not repair it", i, "geometry")
                    continue
                out.fixed(
                    f"invalid geometry ({reason}) repaired with make_valid: area "
                    f"{geom.area:.3g} → {repaired.area:.3g} square degrees",
                    i,
                )
                geom = repaired
            else:
                out.add(f"invalid geometry: {reason} (use --fix to repair)", i, "geometry")
                continue
        if spec.geometry == "MULTIPOLYGON" and geom.geom_type == "Polygon":
            geom = shapely.MultiPolygon([geom])
        result[i] = geom
        in_range[i] = True
    if ctx.extent is not None and in_range.any():
        _check_extent(result, in_range, ctx, out)
    return result


def _check_extent(geoms: np.ndarray, usable: np.ndarray, ctx: ValidationContext, out: _Collector) -> None:
    assert ctx.extent is not None
    extent = gpd.GeoSeries([ctx.extent], crs=STORAGE_CRS)
    metric = metric_crs_for(extent)
    extent_m = extent.to_crs(metric).iloc[0]
    series = gpd.GeoSeries(geoms[usable], crs=STORAGE_CRS).to_crs(metric)
    distances = series.distance(extent_m).to_numpy()
    for i, distance in zip(np.flatnonzero(usable), distances, strict=True):
        if distance > ctx.margin_m:
            out.add(
                f"lies {distance / 1000:.1f} km outside the district (more than "
                f"{ctx.margin_m / 1000:g} km): {_range_hint(geoms[i], ctx.extent)}",
                int(i),
                "geometry",
            )


def validate_frame(
    frame: pd.DataFrame,
    spec: LayerSpec,
    ctx: ValidationContext,
    *,
    file: str | None = None,
) -> tuple[pd.DataFrame, list[Problem], list[Problem]]:
    """Check ``frame`` (already in EPSG:4326) for ``spec``'s layer.

    Returns the frame ready to store (known columns converted, references resolved, geometry
    of the layer's type), the problems (errors and warnings), and the repairs made.
    """
    frame = frame.reset_index(drop=True)
    out = _Collector(file, frame, spec)
    if len(frame) == 0:
        out.add("the file has no features")
        return frame, out.problems, out.fixes
    converted = _check_columns(frame, spec, out)
    if spec.name == "facilities" and "categories" in converted:
        _check_categories(converted["categories"], out)
    if spec.name == "households" and "care_tags" in converted:
        _check_care_tags(converted["care_tags"], out)
    own_ids = _check_ids(frame, spec, ctx, out)
    if spec.code and spec.code in converted:
        _check_codes(converted[spec.code], spec, ctx, out)
    _check_references(frame, spec, converted, own_ids, ctx, out)
    if spec.name == "grids":
        _check_grid_codes(converted, ctx, out)
    geoms = _check_geometry(frame, spec, ctx, out) if spec.geometry else None
    clean = pd.DataFrame(converted)
    if own_ids:
        clean.insert(0, "id", pd.array(own_ids, dtype="Int64"))
    if geoms is not None:
        clean = gpd.GeoDataFrame(clean, geometry=list(geoms), crs=STORAGE_CRS)
    # in the file's order, as its user goes through it: the file's own problems first, then row
    # by row (each row's problems in the order they were found)
    in_order = sorted(out.problems, key=lambda p: -1 if p.feature is None else p.feature)
    return clean, in_order, out.fixes


def errors_of(problems: list[Problem]) -> list[Problem]:
    """The problems that block a write (not warnings)."""
    return [p for p in problems if p.severity == "error"]
