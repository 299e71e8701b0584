"""Households and residents of buildings: given, spread from a committee's ledger, or estimated.

Where a building's own row gives its households, they are kept ("given"). Where a committee
keeps counts per compound, community or building (its ledger), they are spread over the
residential buildings inside by floor area, so the parts add up to the ledger ("ledger").
Elsewhere households are estimated from the floor area: footprint × levels × the usable
share ÷ the floor area of one home ("estimate"). Levels come from the building's own value,
OSM ``building:levels``, OSM ``height`` ÷ the storey height, the building type's usual
levels, or the city's default, in that order; each building keeps where its levels and its
households came from. All areas are in square metres, in the metric CRS the caller chooses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.crs import metric_crs_for
from gridmap.geometry import containing_ids
from gridmap.model import layer_spec
from gridmap.settings import Settings

#: OSM ``building`` values of homes
RESIDENTIAL_USES = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "dormitory",
        "detached",
        "terrace",
        "semidetached_house",
        "bungalow",
    }
)
#: ``building`` values that say nothing of the use: a home when it stands in a compound
UNSPECIFIC_USES = frozenset({"yes"})
#: the usual levels of a building type, where OSM gives neither levels nor height
LEVELS_BY_USE: Mapping[str, int] = {
    "bungalow": 1, "house": 2, "detached": 2, "semidetached_house": 2, "terrace": 3, "dormitory": 6,
}  # fmt: skip
#: the largest footprint (m²) a building that holds homes usually has — some five slabs of
#: flats side by side. A building taken as homes beyond it is more likely a compound, an
#: estate, a mall or a block drawn as one outline (OpenStreetMap in Chinese cities has many),
#: and homes estimated from its footprint are doubtful (:func:`doubtful_estimates`).
LARGEST_HOME_FOOTPRINT_M2 = 5000.0
GIVEN, LEDGER, ESTIMATE = "given", "ledger", "estimate"
#: the ``source`` of a building a ledger adds to hold the count of a compound with no building
#: drawn (marked ``generated``)
PLACEHOLDER_SOURCE = "ledger"
#: what a building's ``levels_from`` says when nobody gave its levels
LEVELS_GIVEN = "given"
LEVELS_FROM_TAG = "osm building:levels"
LEVELS_FROM_HEIGHT = "osm height"
CITY_DEFAULT = "city default"
#: the columns that hold a building's homes and where they came from
HOUSEHOLD_COLUMNS = ("households", "residents", "households_from", "estimated")
LEVEL_COLUMNS = ("levels", "levels_from")


@dataclass(frozen=True)
class HouseholdParams:
    """How homes are estimated: the city's default levels, storey height (m), the floor area
    of one home (m², gross), the share of floor area that is homes, residents per home."""

    default_levels: int = 6
    storey_height_m: float = 3.0
    floor_area_per_household_m2: float = 90.0
    usable_share: float = 0.8
    residents_per_household: float = 2.6

    @classmethod
    def from_settings(cls, settings: Settings) -> HouseholdParams:
        return cls(
            default_levels=settings.default_levels,
            storey_height_m=settings.storey_height_m,
            floor_area_per_household_m2=settings.floor_area_per_household_m2,
            usable_share=settings.usable_share,
            residents_per_household=settings.residents_per_household,
        )

    def describe(self) -> str:
        """The method in words, for outputs that state their estimates."""
        return (
            f"footprint × levels × {self.usable_share:g} ÷ {self.floor_area_per_household_m2:g} m² a home, "
            f"{self.residents_per_household:g} residents a home"
        )


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series(None, index=frame.index, dtype=object)


def residential_mask(buildings: pd.DataFrame) -> pd.Series:
    """Which buildings hold homes: a residential use, or an unspecific one inside a compound,
    or generated residential blocks."""
    use = _column(buildings, "use").fillna("yes").astype(str).str.strip().str.lower()
    in_compound = _column(buildings, "compound_id").notna()
    mask = use.isin(RESIDENTIAL_USES) | (use.isin(UNSPECIFIC_USES) & in_compound)
    return mask | _column(buildings, "generated").fillna(False).astype(bool)


def fill_levels(
    buildings: pd.DataFrame, params: HouseholdParams, height_m: pd.Series | None = None
) -> pd.DataFrame:
    """``levels`` and ``levels_from`` for every building: its own, from ``height_m`` (OSM
    ``height``, metres), the type's usual levels, or the city's default."""
    out = buildings.copy()
    levels = pd.to_numeric(_column(out, "levels"), errors="coerce")
    source = _column(out, "levels_from").astype(object)
    source = source.where(source.notna() | levels.isna(), LEVELS_GIVEN)
    if height_m is not None:
        storeys = (pd.to_numeric(height_m, errors="coerce") / params.storey_height_m).round().clip(lower=1)
        use_height = levels.isna() & storeys.notna()
        levels = levels.where(~use_height, storeys)
        source = source.where(~use_height, LEVELS_FROM_HEIGHT)
    use = _column(out, "use").fillna("").astype(str).str.strip().str.lower()
    typical = use.map(lambda u: LEVELS_BY_USE.get(u, np.nan)).astype(float)
    by_type = levels.isna() & typical.notna()
    levels = levels.where(~by_type, typical)
    source = source.where(~by_type, "usual for building=" + use)
    missing = levels.isna()
    levels = levels.where(~missing, float(params.default_levels))
    source = source.where(~missing, CITY_DEFAULT)
    out["levels"] = levels.astype(int)
    out["levels_from"] = source
    return out


def estimate_households(
    buildings: gpd.GeoDataFrame, params: HouseholdParams, *, height_m: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """Levels, floor area (m²), households and residents for every building of
    ``buildings`` (a metric CRS), each with where it came from. Households a building's row
    gives, or that a ledger spread, are kept; residents missing beside given households are
    households × residents per home."""
    out = fill_levels(buildings, params, height_m)
    out["floor_area_m2"] = (out.geometry.area * out["levels"]).round(1)
    households = pd.to_numeric(_column(out, "households"), errors="coerce")
    residents = pd.to_numeric(_column(out, "residents"), errors="coerce")
    source = _column(out, "households_from").astype(object)
    kept = households.notna() & ~source.eq(ESTIMATE)
    source = source.where(~kept | source.notna(), GIVEN)
    homes = residential_mask(out)
    usable = out["floor_area_m2"] * params.usable_share / params.floor_area_per_household_m2
    estimate = np.where(homes, np.maximum(1, np.round(usable)), 0)
    households = households.where(kept, estimate)
    per_home = np.round(households * params.residents_per_household)
    residents = residents.where(kept & residents.notna(), per_home)
    out["households"] = households.astype(int)
    out["residents"] = residents.astype(int)
    out["households_from"] = source.where(kept, ESTIMATE)
    out["estimated"] = out["households_from"].eq(ESTIMATE)
    return out


def estimated_mask(buildings: pd.DataFrame) -> pd.Series:
    """Which buildings' households are estimates: ``households_from`` says so, or, where it
    is missing, ``estimated``."""
    source = _column(buildings, "households_from").astype(object)
    marked = _column(buildings, "estimated").fillna(False).astype(bool)
    return source.eq(ESTIMATE).where(source.notna(), marked).astype(bool)


def _footprint_m2(buildings: pd.DataFrame) -> pd.Series:
    """The footprint a building's estimate used: its floor area ÷ its levels (m²)."""
    floor = pd.to_numeric(_column(buildings, "floor_area_m2"), errors="coerce")
    levels = pd.to_numeric(_column(buildings, "levels"), errors="coerce")
    return floor / levels.where(levels > 0)


def _larger_than_homes(buildings: pd.DataFrame) -> pd.Series:
    """Which buildings have a footprint over :data:`LARGEST_HOME_FOOTPRINT_M2`."""
    return _footprint_m2(buildings) > LARGEST_HOME_FOOTPRINT_M2


def doubtful_mask(buildings: pd.DataFrame) -> np.ndarray:
    """Which buildings' households are estimated from a footprint larger than a home building
    usually has (:data:`LARGEST_HOME_FOOTPRINT_M2`)."""
    homes = pd.to_numeric(_column(buildings, "households"), errors="coerce").fillna(0) > 0
    return np.asarray(estimated_mask(buildings) & homes & _larger_than_homes(buildings), dtype=bool)


def doubtful_estimates(buildings: pd.DataFrame) -> pd.DataFrame:
    """The buildings of :func:`doubtful_mask`, most households first, with the
    ``footprint_m2`` their estimate used (m²)."""
    doubtful = doubtful_mask(buildings)
    out = buildings[doubtful].assign(footprint_m2=_footprint_m2(buildings)[doubtful].round())
    if not len(out):
        return out
    return out.sort_values(["households", "footprint_m2"], ascending=False, kind="stable")


def _number(value: Any) -> float | None:
    number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    return None if pd.isna(number) else float(number)


def by_hand(
    values: Mapping[str, Any], row: Mapping[str, Any] | None = None, params: HouseholdParams | None = None
) -> dict[str, Any]:
    """What else an edit by hand of a building (``values`` over its stored ``row``; none for
    a new one) says: households or residents it changes are given, no longer estimated — so
    that no later estimate or import overwrites them — and residents it leaves out follow the
    households at the building's ratio so far (else ``params``'); levels it changes are given.
    Sources the edit names itself stand."""
    row = row or {}

    def changed(name: str) -> bool:
        return name in values and _number(values[name]) != _number(row.get(name))

    extra: dict[str, Any] = {}
    if (changed("households") or changed("residents")) and values.get("households_from") is None:
        extra.update(households_from=GIVEN, estimated=False)
        households = _number(values.get("households"))
        most = layer_spec("buildings").column("households").maximum
        counted = households is None or (households >= 0 and (most is None or households <= most))
        if changed("households") and "residents" not in values and counted:  # else only households is wrong
            before_h, before_r = _number(row.get("households")), _number(row.get("residents"))
            ratio = (before_r / before_h if before_h and before_r
                     else (params or HouseholdParams()).residents_per_household)  # fmt: skip
            extra["residents"] = None if households is None else round(households * ratio)
    if changed("levels") and values.get("levels_from") is None:
        extra["levels_from"] = LEVELS_GIVEN
    return extra


#: what a building's estimate reads besides its outline: an edit of one estimates it again
ESTIMATE_READS = ("use", "levels", "compound_id")


def estimated_after_edit(
    building: gpd.GeoDataFrame,
    values: Mapping[str, Any],
    row: Mapping[str, Any] | None,
    outline_changed: bool,
    params: HouseholdParams,
) -> gpd.GeoDataFrame:
    """An edited building (one row, EPSG:4326, as it will be stored) with its homes estimated
    again where they are an estimate and the edit changed what the estimate reads — its
    outline, use, levels or compound — or, for a new building (``row`` None), where the edit
    gives no households: as an import would have estimated them. Otherwise as it is."""
    source = building["households_from"].iloc[0] if "households_from" in building.columns else None
    if row is None:
        stale = _number(values.get("households")) is None and source in (None, ESTIMATE)
    else:
        changed = [k for k in ESTIMATE_READS if k in values and values[k] != row.get(k)]
        stale = source == ESTIMATE and (outline_changed or bool(changed))
    if not stale:
        return building
    open_ = building.assign(households=None, residents=None, households_from=ESTIMATE)
    estimated = estimate_households(open_.to_crs(metric_crs_for(open_)), params)
    out = building.copy()
    for column in (*HOUSEHOLD_COLUMNS, *LEVEL_COLUMNS, "floor_area_m2"):
        out[column] = estimated[column].to_numpy()
    return out


def counted_twice(buildings: pd.DataFrame) -> pd.DataFrame:
    """The buildings a ledger added to hold a compound's count (:data:`PLACEHOLDER_SOURCE`)
    that still hold it beside drawn buildings of homes in the same compound — counted twice
    until the ledger is run again — with ``beside`` (how many) and ``beside_households``."""
    source = _column(buildings, "source").astype(object)
    generated = _column(buildings, "generated").fillna(False).astype(bool)
    households = pd.to_numeric(_column(buildings, "households"), errors="coerce").fillna(0)
    compound = pd.to_numeric(_column(buildings, "compound_id"), errors="coerce")
    held = source.eq(PLACEHOLDER_SOURCE) & generated
    drawn = ~held & (households > 0) & compound.notna()
    beside = households[drawn].groupby(compound[drawn])
    twice = held & (households > 0) & compound.isin(beside.groups.keys())
    out = buildings[twice.to_numpy()]
    return out.assign(
        beside=compound[twice].map(beside.size()).astype(int).to_numpy(),
        beside_households=compound[twice].map(beside.sum()).astype(int).to_numpy(),
    )


def spread(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split into whole parts in proportion to ``weights`` (largest remainders),
    so that the parts add up to ``total`` exactly."""
    weights = np.asarray(weights, dtype=float)
    if len(weights) == 0:
        return np.zeros(0, dtype=int)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    exact = total * weights / weights.sum()
    parts: np.ndarray = np.floor(exact).astype(int)
    left = int(total - parts.sum())
    if left > 0:
        parts[np.argsort(-(exact - parts), kind="stable")[:left]] += 1
    return parts


@dataclass(frozen=True)
class HomeOrigins:
    """How many of the residents (and households) a count holds are given, from a ledger,
    or estimated."""

    residents: Mapping[str, int]
    households: Mapping[str, int]
    #: residents and buildings estimated from footprints larger than homes usually have
    doubtful_residents: int = 0
    doubtful_buildings: int = 0
    #: the compounds counted, and those of them without a building of homes (who count no one)
    compounds: int = 0
    compounds_without_homes: int = 0

    @property
    def total_residents(self) -> int:
        return int(sum(self.residents.values()))

    def share(self, source: str) -> float | None:
        """The share of residents from ``source`` (None when there are none at all)."""
        total = self.total_residents
        return self.residents.get(source, 0) / total if total else None

    def describe(self) -> str:
        """ "12,345 residents: 80 % estimated from footprint × levels, 15 % from ledgers, 5 % given"."""
        total = self.total_residents
        if not total:
            return "0 residents"
        words = {
            ESTIMATE: "estimated from footprint × levels",
            LEDGER: "from committees' ledgers",
            GIVEN: "given",
        }
        parts = [
            f"{100 * self.residents.get(s, 0) / total:.0f} % {words[s]}"
            for s in (ESTIMATE, LEDGER, GIVEN)
            if self.residents.get(s, 0)
        ]
        return f"{total:,} residents: " + ", ".join(parts)

    def doubt(self) -> str | None:
        """ "9 % of them in 2 buildings of a footprint over 5,000 m² …", or None."""
        if not self.doubtful_buildings or not self.total_residents:
            return None
        n = self.doubtful_buildings
        return (
            f"{100 * self.doubtful_residents / self.total_residents:.0f} % of them estimated in {n:,} "
            f"building{'s' if n > 1 else ''} of a footprint over {LARGEST_HOME_FOOTPRINT_M2:,.0f} m², more "
            "than homes have: an estate, a mall or a block drawn as one outline? (`gridmap validate` names them)"
        )

    def uncounted(self) -> str | None:
        """ "73 of the 75 compounds are mapped without buildings of homes …", or None."""
        if not self.compounds_without_homes:
            return None
        return (
            f"{self.compounds_without_homes:,} of the {self.compounds:,} compounds are mapped without buildings "
            "of homes and count no one: give their households (`gridmap households ledger FILE --by compound`), "
            "or draw their buildings"
        )

    def said(self) -> str:
        """Every line of what the count holds: :meth:`describe`, then :meth:`doubt` and
        :meth:`uncounted` where there is something to say."""
        return "\n".join(line for line in (self.describe(), self.doubt(), self.uncounted()) if line)

    def said_zh(self) -> str:
        """The same for maps and the web page, in Chinese: "居民 107,554 人，100% 按占地×层数估算；…"."""
        total = self.total_residents
        if not total:
            return "未计入居民。"
        words = {ESTIMATE: "按占地×层数估算", LEDGER: "来自社区台账", GIVEN: "逐栋填报"}
        shares = [
            f"{100 * self.residents[s] / total:.0f}% {words[s]}" for s in words if self.residents.get(s)
        ]
        said = f"居民 {total:,} 人，{'，'.join(shares)}"
        if self.doubtful_buildings:
            said += (
                f"；其中 {100 * self.doubtful_residents / total:.0f}% 在 {self.doubtful_buildings:,} 栋占地超过 "
                f"{LARGEST_HOME_FOOTPRINT_M2:,.0f} m² 的楼栋里（疑为整片小区或商场画成一栋，估算存疑）"
            )
        if self.compounds_without_homes:
            said += f"；{self.compounds_without_homes:,} 个小区未画住宅楼栋，不计人口"
        return said + "。"

    def row(self) -> pd.DataFrame:
        """The count as one row, for a run's files: residents and households by source, the
        doubtful estimates, the compounds, and what it says in English and in Chinese."""
        counts = {f"{what}_{s}": getattr(self, what).get(s, 0) for what in ("residents", "households")
                  for s in (GIVEN, LEDGER, ESTIMATE)}  # fmt: skip
        rest = ("doubtful_residents", "doubtful_buildings", "compounds", "compounds_without_homes")
        return pd.DataFrame([{**counts, **{k: getattr(self, k) for k in rest}, "said": self.said().replace("\n", "; "),
                              "said_zh": self.said_zh()}])  # fmt: skip

    def record(self) -> dict[str, Any]:
        """A plain record (JSON) of the count, read back by :meth:`from_record`."""
        return {**asdict(self), "residents": dict(self.residents), "households": dict(self.households)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> HomeOrigins:
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})


def home_origins(buildings: pd.DataFrame, compounds: pd.DataFrame | None = None) -> HomeOrigins:
    """Residents and households of ``buildings`` by where they came from (rows without a
    ``households_from`` count as estimated when marked ``estimated``, else as given), how
    many of the estimated stand in buildings larger than homes usually are, and, given the
    ``compounds`` (indexed by id), how many of those hold no building of homes."""
    source = _column(buildings, "households_from").astype(object)
    source = source.where(source.notna(), np.where(estimated_mask(buildings), ESTIMATE, GIVEN))
    residents = pd.to_numeric(_column(buildings, "residents"), errors="coerce").fillna(0)
    households = pd.to_numeric(_column(buildings, "households"), errors="coerce").fillna(0)
    doubtful = doubtful_mask(buildings)
    bare = 0
    if compounds is not None:
        from gridmap.study_area import compounds_lived_in  # the walking network's modules: on demand

        bare = len(set(compounds.index.astype(int)) - set(compounds_lived_in(buildings).tolist()))
    return HomeOrigins(
        residents={str(k): int(v) for k, v in residents.groupby(source).sum().items() if v},
        households={str(k): int(v) for k, v in households.groupby(source).sum().items() if v},
        doubtful_residents=int(residents[doubtful].sum()),
        doubtful_buildings=int(doubtful.sum()),
        compounds=0 if compounds is None else len(compounds),
        compounds_without_homes=bare,
    )


def _given(frame: pd.DataFrame, column: str, position: int) -> bool:
    return column in frame.columns and pd.notna(frame[column].iloc[position])


def homes_for_import(
    incoming: gpd.GeoDataFrame,
    stored: pd.DataFrame,
    matched: list[int | None],
    params: HouseholdParams,
    *,
    height_m: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Buildings of an import (EPSG:4326) with their homes and levels: what each row gives;
    else, for a row that updates stored building ``matched[i]`` (an id of ``stored``), the
    values set on it by hand or by a ledger; else estimates (:func:`estimate_households`).
    ``height_m`` is OSM ``height`` per row, in metres."""
    out = incoming.copy()
    for column in (*HOUSEHOLD_COLUMNS, *LEVEL_COLUMNS):
        if column not in out.columns:
            out[column] = None
        out[column] = out[column].astype(object)
    for position, ident in enumerate(matched):
        if ident is None:
            continue
        row = stored.loc[ident]
        if not _given(incoming, "households", position) and row.get("households_from") in (GIVEN, LEDGER):
            for column in HOUSEHOLD_COLUMNS:
                out.iat[position, out.columns.get_loc(column)] = row.get(column)
        if not _given(incoming, "levels", position) and row.get("levels_from") == LEVELS_GIVEN:
            for column in LEVEL_COLUMNS:
                out.iat[position, out.columns.get_loc(column)] = row.get(column)
    if not len(out):
        out["floor_area_m2"] = pd.Series(dtype=float)
        return out
    metric = metric_crs_for(gpd.GeoSeries(out.geometry.values, crs=out.crs))
    heights = None if height_m is None else pd.Series(np.asarray(height_m), index=out.index)
    estimated = estimate_households(out.to_crs(metric), params, height_m=heights)
    for column in (*HOUSEHOLD_COLUMNS, *LEVEL_COLUMNS, "floor_area_m2"):
        out[column] = estimated[column].to_numpy()
    return out


#: the units a committee's ledger counts homes by, finest first
LEDGER_UNITS = ("building", "compound", "community")


@dataclass(frozen=True)
class LedgerLine:
    """What a ledger's row did to its unit: the count it gives, what the buildings held
    before, and how many buildings the count was spread over."""

    unit: str
    households: int
    before: int
    spread_over: int
    fixed: int
    note: str = ""
    #: what went to buildings larger than homes have, by their floor area
    doubt: str = ""


def spread_ledger(
    buildings: pd.DataFrame,
    unit_of: pd.Series,
    ledger: pd.DataFrame,
    by: str,
    params: HouseholdParams,
) -> tuple[pd.DataFrame, list[LedgerLine]]:
    """Spread a ledger's counts over the buildings of each unit by floor area.

    ``buildings`` (index the id) carry households, residents, households_from, floor_area_m2
    and use; ``unit_of`` says each building's unit (an id of the ledger's unit layer);
    ``ledger`` has ``unit`` (that id), ``households`` and optionally ``residents``. Homes
    already given in a building's row — and, for a community's count, those from a finer
    ledger too — stay; the rest of the count goes to the unit's other residential buildings
    (all of them, when none is residential). Returns the buildings whose values change, with
    the new households, residents, households_from and estimated, and a line per unit.
    """
    fixed_sources = {GIVEN, LEDGER} if by == "community" else {GIVEN}
    source = _column(buildings, "households_from").astype(object)
    homes = residential_mask(buildings)
    area = pd.to_numeric(_column(buildings, "floor_area_m2"), errors="coerce").fillna(0)
    hh = pd.to_numeric(_column(buildings, "households"), errors="coerce").fillna(0)
    res = pd.to_numeric(_column(buildings, "residents"), errors="coerce").fillna(0)
    changed: list[pd.DataFrame] = []
    lines: list[LedgerLine] = []
    for row in ledger.itertuples(index=False):
        members = unit_of.index[unit_of.eq(row.unit).to_numpy()]
        fixed = members[source.loc[members].isin(fixed_sources).to_numpy()]
        free = members.difference(fixed)
        targets = free[homes.loc[free].to_numpy()] if homes.loc[free].any() else free
        total = int(row.households)
        rest = total - int(hh.loc[fixed].sum())
        line = LedgerLine(str(row.unit), total, int(hh.loc[members].sum()), len(targets), len(fixed))
        if not len(targets) or rest < 0:
            if len(targets):
                note = f"fewer than the {int(hh.loc[fixed].sum()):,} households already given in it or by finer ledgers"
            elif len(fixed):
                note = (f"its households are given ({int(hh.loc[fixed].sum()):,}: in the buildings' rows, by hand or "
                        "by finer ledgers), which a ledger does not override")  # fmt: skip
            else:
                note = "no building to spread it over: draw or import its buildings first"
            lines.append(replace(line, spread_over=0, note=note))
            continue
        parts = spread(rest, area.loc[targets].to_numpy())
        given_residents = getattr(row, "residents", None)
        if given_residents is not None and pd.notna(given_residents):
            people = spread(
                max(0, int(given_residents) - int(res.loc[fixed].sum())), area.loc[targets].to_numpy()
            )
        else:
            people = np.round(parts * params.residents_per_household).astype(int)
        changed.append(pd.DataFrame(
            {"households": parts, "residents": people, "households_from": LEDGER, "estimated": False},
            index=targets,
        ))  # fmt: skip
        lines.append(replace(line, doubt=_large_shares(buildings, targets, parts, rest)))
    out = pd.concat(changed) if changed else pd.DataFrame(columns=list(HOUSEHOLD_COLUMNS))
    return out, lines


def _large_shares(buildings: pd.DataFrame, targets: pd.Index, parts: np.ndarray, total: int) -> str:
    """What a spread gave to buildings of a footprint larger than homes have, in words ("" for
    none): their floor area drew the count to them, as it drew an estimate."""
    large = _larger_than_homes(buildings.loc[targets]).to_numpy() & (parts > 0)
    if not large.any() or len(targets) < 2:
        return ""
    names = _column(buildings, "name").loc[targets[large]]
    named = ", ".join(
        f"building {int(i)}{f' {n}' if isinstance(n, str) and n else ''}" for i, n in names.items()
    )
    taken = int(parts[large].sum())
    return (
        f"{taken:,} of its {total:,} households ({100 * taken / total:.0f} %) went by floor area to {named}, "
        f"of a footprint over {LARGEST_HOME_FOOTPRINT_M2:,.0f} m², more than homes have: give "
        f"{'it its' if large.sum() == 1 else 'them their'} own count (--by building) if that is wrong"
    )


def homes_by_area(buildings: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per area of ``areas`` (``id``, ``code``, ``name``; the same CRS as ``buildings``, the
    building's point deciding), the buildings with homes, households and residents, and the
    residents by where they came from; buildings outside every area in a row of their own."""
    inside = containing_ids(buildings.representative_point(), areas) if len(areas) else None
    rows = []
    keys = [
        *areas[["id", "code", "name"]].itertuples(index=False, name=None),
        (None, "", "(outside every area)"),
    ]
    for ident, code, name in keys:
        if inside is None:
            chosen = buildings if ident is None else buildings.iloc[0:0]
        else:
            chosen = (
                buildings[inside.isna().to_numpy()]
                if ident is None
                else buildings[inside.eq(ident).fillna(False).to_numpy()]
            )
        origins = home_origins(chosen)
        if ident is None and not len(chosen):
            continue
        rows.append({
            "code": code, "name": name,
            "buildings_with_homes": int((pd.to_numeric(chosen["households"], errors="coerce").fillna(0) > 0).sum()),
            "households": int(sum(origins.households.values())), "residents": origins.total_residents,
            **{f"residents_{s}": origins.residents.get(s, 0) for s in (GIVEN, LEDGER, ESTIMATE)},
        })  # fmt: skip
    return pd.DataFrame(rows)
