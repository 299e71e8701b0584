"""The figures of a district's party-building report, from the layers: branches by form and
the compounds they cover, groups on buildings and grids, central households, building
leaders and how many are members, red owners' committees and property companies, 一肩挑,
grid leaders and workers, 双报到 of units and members, "1+10" links and the households they
reach, sponsored compounds, needs claimed and done, points.

:func:`organisation_report` works on GeoDataFrames and plain frames indexed by feature id.
Every figure is given for the whole area and per district, street, community and grid, with
the ids of what is missing (which compounds have no branch …) and, for spatial features, a
layer of them to map. Figures are as on a day (:class:`ReportOptions`): terms in force then,
registrations, claims and points made by then. Buildings count when they house someone.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.crs import metric_crs_for
from gridmap.geometry import containing_ids
from gridmap.orgcatalogue import OrgCatalogue, org_catalogue

LINKS_PER_MEMBER = 10  # "1+10": each in-service member links about ten households
#: the compounds a coverage figure may count (``ReportOptions.base``)
BASES: Mapping[str, str] = {
    "all": "all compounds",
    "property": "compounds with a property company",
    "households": "compounds with at least MIN households",
}
SHARE, COUNT, SUM = "share", "count", "sum"  # a share of a total, a number of things, a total of values

#: figure id → (Chinese label, short label, what it is, whether what lacks it is missing
#: something to map); ``branches_FORM`` for each branch form of the catalogue is added to these
FIGURES: dict[str, tuple[str, str, str, bool]] = {
    "branches": ("党支部", "支部", COUNT, False),
    "compounds_with_branch": ("有党支部的小区", "小区覆盖", SHARE, True),
    "compounds_in_joint_branch": ("联合支部覆盖的小区", "联合", SHARE, False),
    "grids_with_branch": ("建有支部/小组的网格", "网格支部", SHARE, True),
    "building_groups": ("楼栋党小组", "楼栋小组", COUNT, False),
    "buildings_with_party_group": ("有党小组的楼栋", "党小组", SHARE, True),
    "central_households": ("党员中心户", "中心户", COUNT, False),
    "buildings_with_leader": ("有楼栋长的楼栋", "楼栋长", SHARE, True),
    "member_building_leaders": ("党员楼栋长", "党员楼栋长", SHARE, False),
    "red_owners_committees": ("红色业委会(占有业委会的小区)", "红色业委会", SHARE, False),
    "red_property_companies": ("红色物业(占有物业的小区)", "红色物业", SHARE, False),
    "one_shoulder": ("一肩挑的党组织书记", "一肩挑", SHARE, False),
    "grids_with_leader": ("有网格长的网格", "网格长", SHARE, True),
    "grids_with_workers": ("有网格员的网格", "网格员", SHARE, True),
    "units_registered": ("到社区报到的共建单位", "单位报到", SHARE, True),
    "compounds_sponsored": ("有单位包保的小区", "包保", SHARE, True),
    "in_service_registered": ("到居住地报到的在职党员", "双报到", SHARE, False),
    "in_service_registered_unit": ("到单位共建社区报到的在职党员", "单位社区报到", SHARE, False),
    "members_linking_10": (f"联系{LINKS_PER_MEMBER}户以上的在职党员", "1+10", SHARE, False),
    "households_linked": ("有党员联系的住户", "联系户", SHARE, False),
    "needs_claimed": ("已认领的需求", "认领", SHARE, False),
    "needs_done": ("已办结的需求", "办结", SHARE, False),
    "points": ("党员积分", "积分", SUM, False),
}
#: the areas the report is given for, from the whole area down to the grid
REPORT_SCOPES = ("area", "district", "street", "community", "grid")
#: the layers :func:`organisation_report` reads
ORG_LAYERS = ("districts", "streets", "communities", "grids", "compounds", "buildings", "party_orgs", "members",
              "households", "assignments", "coop_units", "sponsorships", "needs", "points")  # fmt: skip
FIGURE_COLUMNS = ["scope", "unit_id", "code", "name", "figure", "figure_zh", "what", "count", "total", "share",
                  "missing"]  # fmt: skip


@dataclass(frozen=True)
class ReportOptions:
    """What the report counts: as on ``on`` (None: today, every term without an end), and
    which compounds make the base of compound coverage (a key of :data:`BASES`; with
    ``households``, those of ``min_households`` or more)."""

    on: dt.date | None = None
    base: str = "all"
    min_households: int = 0

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise ValueError(f"base {self.base!r}: expected one of {', '.join(BASES)}")


@dataclass
class OrgReport:
    """Figures per scope, what is missing, leaders' loads, and skills per grid."""

    figures: pd.DataFrame  # FIGURE_COLUMNS
    missing: dict[str, gpd.GeoDataFrame]  # figure → the features that lack it (spatial layers)
    leader_load: pd.DataFrame  # role, person_name, target ids, households, ratio to the role's mean
    skills: pd.DataFrame  # grid code, skill, members
    labels: dict[str, tuple[str, str, str]]  # figure → (Chinese label, short label, what it is)
    options: ReportOptions = ReportOptions()

    def area(self) -> pd.DataFrame:
        return self.figures[self.figures["scope"] == "area"].reset_index(drop=True)


def figure_labels(catalogue: OrgCatalogue | None = None) -> dict[str, tuple[str, str, str, bool]]:
    """Every figure's labels: :data:`FIGURES` and a count of branches of each form."""
    forms = (catalogue or org_catalogue()).branch_forms
    out = dict(FIGURES)
    at = list(out).index("branches") + 1
    items = list(out.items())
    per_form = [(f"branches_{form}", (name_zh, name_zh, COUNT, False)) for form, name_zh in forms.items()]
    return dict(items[:at] + per_form + items[at:])


def _column(frame: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object if default is None else None)


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce")


def in_force(assignments: pd.DataFrame | None, on: dt.date | None) -> pd.DataFrame:
    """The terms in force on ``on`` (None: every term without an end)."""
    if assignments is None or len(assignments) == 0:
        return pd.DataFrame(columns=["person_name", "role", "target_layer", "target_id", "member_id"])
    ends = _dates(_column(assignments, "valid_to"))
    if on is None:
        return assignments[ends.isna()]
    day = pd.Timestamp(on)
    starts = _dates(_column(assignments, "valid_from"))
    return assignments[(starts.isna() | (starts <= day)) & (ends.isna() | (ends > day))]


def current_assignments(
    assignments: pd.DataFrame | None, role: str, layer: str, on: dt.date | None = None
) -> pd.DataFrame:
    """The terms of ``role`` for features of ``layer`` in force on ``on`` (None: no end)."""
    return _held(in_force(assignments, on), role, layer)


def _held(terms: pd.DataFrame, role: str, layer: str) -> pd.DataFrame:
    """The terms of ``role`` for features of ``layer`` among ``terms`` (already in force)."""
    return terms[(terms["role"] == role) & (terms["target_layer"] == layer)]


def area_of(features: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None) -> pd.Series:
    """The id of the area (community, grid) each feature's representative point lies in."""
    if areas is None or len(areas) == 0 or len(features) == 0:
        return pd.Series(pd.NA, index=features.index, dtype="Int64")
    metric = metric_crs_for(features)
    points = features.geometry.to_crs(metric).representative_point()
    return containing_ids(points, areas[["geometry"]].to_crs(metric).assign(id=areas.index))


def base_grids(grids: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The grids features are counted in: of the party network when there is one (grids of no
    kind count as party grids), else of all kinds; of its lowest level."""
    if grids is None or len(grids) == 0:
        return grids
    kind = _column(grids, "kind")
    party = kind.isna() | (kind == "party")
    if party.any():
        grids = grids[party]
    level = pd.to_numeric(grids.get("level"), errors="coerce").fillna(1)
    return grids[level == level.min()]


class _Places:
    """Where things lie: the community and base grid of each feature, and the street and
    district of each community."""

    def __init__(self, layers: Mapping[str, pd.DataFrame]) -> None:
        def layer(name: str, *columns: str) -> pd.DataFrame:
            frame = layers.get(name)
            return pd.DataFrame(columns=list(columns)) if frame is None else frame

        self.communities = layer("communities", "code", "name", "street_id")
        self.streets = layer("streets", "code", "name", "district_id")
        self.districts = layer("districts", "code", "name")
        grids = base_grids(layers.get("grids"))
        self.grids: pd.DataFrame = pd.DataFrame() if grids is None else grids
        self._spatial: dict[str, pd.DataFrame] = {}

    def of(self, name: str, features: pd.DataFrame) -> pd.DataFrame:
        """Community and grid of each of ``features`` (a spatial layer), cached by ``name``."""
        if name not in self._spatial:
            community = _column(features, "community_id").astype("Int64") if len(features) else pd.Series()
            if isinstance(features, gpd.GeoDataFrame) and len(features):
                located = area_of(features, self.communities if len(self.communities) else None)
                community = community.fillna(located) if "community_id" in features.columns else located
                grid = area_of(features, self.grids if isinstance(self.grids, gpd.GeoDataFrame) else None)
            else:
                grid = pd.Series(pd.NA, index=features.index, dtype="Int64")
            self._spatial[name] = pd.DataFrame({"community": community, "grid": grid}, index=features.index)
        return self._spatial[name]

    def units(self, where: pd.DataFrame) -> dict[str, pd.Series]:
        """The unit of every scope for each row of ``where``."""
        street = where["community"].map(_column(self.communities, "street_id"))
        district = street.map(_column(self.streets, "district_id"))
        return {
            "area": pd.Series(0, index=where.index),
            "district": district,
            "street": street,
            "community": where["community"],
            "grid": where["grid"],
        }

    def labels(self, scope: str, units: pd.Index) -> tuple[list[str], list[str]]:
        """(codes, names) of ``units`` of ``scope`` ("" where a unit or its value is unknown)."""
        if scope == "area":
            return [""] * len(units), ["全域"] * len(units)
        frame = {"district": self.districts, "street": self.streets, "community": self.communities,
                 "grid": self.grids}[scope]  # fmt: skip
        out = []
        for column in ("code", "name"):
            known = frame[column].reindex(units) if column in frame.columns else pd.Series(None, index=units)
            out.append(["" if v is None or pd.isna(v) else str(v) for v in known.tolist()])
        return out[0], out[1]


class _Figures:
    """Collects the rows of every figure."""

    def __init__(self, places: _Places, labels: Mapping[str, tuple[str, str, str, bool]]) -> None:
        self.places = places
        self.labels = labels
        self.rows: list[dict[str, Any]] = []
        self.missing: dict[str, gpd.GeoDataFrame] = {}

    def add(
        self, name: str, values: pd.Series, where: pd.DataFrame, features: pd.DataFrame | None = None
    ) -> None:
        """Figure ``name`` over the things of ``values`` (yes/no for a share or a count of
        those that are yes, numbers for a sum), each lying at ``where``'s row."""
        zh, _, what, mappable = self.labels[name]
        units = self.places.units(where.reindex(values.index))
        if what == SUM:
            numbers = pd.to_numeric(values, errors="coerce").fillna(0).to_numpy(dtype=float)
        else:
            has = values.fillna(False).astype(bool).to_numpy()
        ids = values.index.to_numpy()
        for scope, key in units.items():
            known = key.notna().to_numpy()
            if not known.any():
                if scope == "area":  # the whole area has its row even with nothing in it
                    self.rows.append(self._row(scope, None, "", "全域", name, zh, what, 0, 0, ""))
                continue
            unit_ids, at = np.unique(key.to_numpy()[known], return_inverse=True)  # the units in order
            totals, missing = None, None
            if what == SUM:
                counts = np.bincount(at, weights=numbers[known], minlength=len(unit_ids))
            else:
                yes = has[known]
                counts = np.bincount(at, weights=yes, minlength=len(unit_ids)).astype(np.int64)
                totals = np.bincount(at, minlength=len(unit_ids))
                if what == SHARE:
                    missing = _lacking_by_unit(ids[known][~yes], at[~yes], len(unit_ids))
            codes, labels = self.places.labels(scope, pd.Index(unit_ids))
            for k, unit in enumerate(unit_ids.tolist()):
                self.rows.append(self._row(
                    scope, None if scope == "area" else int(unit), codes[k], labels[k], name, zh, what,
                    counts[k], None if totals is None else int(totals[k]), "" if missing is None else missing[k],
                ))  # fmt: skip
        if mappable and isinstance(features, gpd.GeoDataFrame):
            lacking = values.fillna(False).astype(bool)
            self.missing[name] = features.loc[values.index[~lacking]]

    @staticmethod
    def _row(scope: str, unit: int | None, code: str, label: str, name: str, zh: str, what: str,
             count: Any, total: int | None, missing: str) -> dict[str, Any]:  # fmt: skip
        """One figure of one unit: a count (or sum), and for a share its total and the ids of
        the things lacking."""
        row: dict[str, Any] = {"scope": scope, "unit_id": unit, "code": code, "name": label, "figure": name,
                               "figure_zh": zh, "what": what, "count": int(count)}  # fmt: skip
        if what == SHARE:
            return row | {"total": total, "share": count / total if total else np.nan, "missing": missing}
        return row | {"total": None, "share": np.nan, "missing": ""}

    def frame(self) -> pd.DataFrame:
        out = pd.DataFrame(self.rows, columns=FIGURE_COLUMNS)
        out["unit_id"] = out["unit_id"].astype("Int64")
        out["total"] = out["total"].astype("Int64")
        return out


def _lacking_by_unit(ids: np.ndarray, at: np.ndarray, units: int) -> list[str]:
    """For each of ``units`` units, the ids of the things in it that lack the figure's
    thing, comma-separated in the things' order ("" for none); ``at``: each id's unit."""
    order = np.argsort(at, kind="stable")
    bounds = np.searchsorted(at[order], np.arange(units + 1))
    text = [str(int(i)) for i in ids[order]]
    return [",".join(text[lo:hi]) for lo, hi in itertools.pairwise(bounds)]


def _households(buildings: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(_column(buildings, "households"), errors="coerce").fillna(0)


def _homes(buildings: pd.DataFrame) -> pd.DataFrame:
    residents = pd.to_numeric(_column(buildings, "residents"), errors="coerce").fillna(0)
    return buildings[(_households(buildings) > 0) | (residents > 0)]


def _base_compounds(compounds: pd.DataFrame, buildings: pd.DataFrame, options: ReportOptions) -> pd.DataFrame:
    if options.base == "property":
        company = _column(compounds, "property_company")
        return compounds[company.notna() & (company.astype(str).str.strip() != "")]
    if options.base == "households":
        per = _households(buildings).groupby(_column(buildings, "compound_id")).sum()
        return compounds[compounds.index.to_series().map(per).fillna(0) >= options.min_households]
    return compounds


def _as_of(layers: Mapping[str, pd.DataFrame], on: dt.date | None) -> dict[str, pd.DataFrame]:
    """The layers as they stood on ``on``: organisations founded by then, registrations,
    claims and points made by then (later dates read as not yet), needs filed by then."""
    out = dict(layers)
    if on is None:
        return out
    day = pd.Timestamp(on)

    def by(frame: pd.DataFrame | None, column: str) -> pd.DataFrame | None:
        if frame is None or column not in frame.columns:
            return frame
        dates = _dates(frame[column])
        return frame[dates.isna() | (dates <= day)]

    def blank_after(frame: pd.DataFrame | None, *columns: str) -> pd.DataFrame | None:
        if frame is None:
            return frame
        frame = frame.copy()
        for column in columns:
            if column in frame.columns:
                frame.loc[_dates(frame[column]) > day, column] = None
        return frame

    out["party_orgs"] = by(layers.get("party_orgs"), "founded_on")
    out["members"] = blank_after(layers.get("members"), "registered_on", "unit_registered_on")
    out["coop_units"] = blank_after(layers.get("coop_units"), "registered_on")
    needs = by(layers.get("needs"), "filed_on")
    out["needs"] = blank_after(needs, "claimed_on", "done_on", "confirmed_on")
    out["points"] = by(layers.get("points"), "earned_on")
    return out


def organisation_report(
    layers: Mapping[str, pd.DataFrame], options: ReportOptions | None = None
) -> OrgReport:
    """The party-building figures of ``layers`` (frames indexed by feature id)."""
    options = options or ReportOptions()
    catalogue = org_catalogue()
    labels = figure_labels(catalogue)
    layers = _as_of(layers, options.on)
    empty = pd.DataFrame()
    places = _Places(layers)
    figures = _Figures(places, labels)
    compounds = layers.get("compounds", empty)
    buildings = layers.get("buildings", empty)
    grids = layers.get("grids", empty)
    orgs = layers.get("party_orgs")
    orgs = empty if orgs is None else orgs
    assignments = in_force(layers.get("assignments"), options.on)
    at_compound = (
        places.of("compounds", compounds) if len(compounds) else pd.DataFrame(columns=["community", "grid"])
    )
    homes = _homes(buildings) if len(buildings) else empty
    at_building = places.of("buildings", homes) if len(homes) else pd.DataFrame(columns=["community", "grid"])
    at_grid = (
        pd.DataFrame({"community": _column(grids, "community_id"), "grid": grids.index.to_series()})
        if len(grids)
        else pd.DataFrame(columns=["community", "grid"])
    )

    _branches(figures, orgs, _Located(compounds, grids, homes, at_compound, at_grid, at_building), catalogue)
    if len(compounds):
        base = _base_compounds(compounds, buildings, options)
        branch = _column(base, "branch_id")
        figures.add("compounds_with_branch", branch.notna(), at_compound, base)
        shared = branch.map(_column(compounds, "branch_id").value_counts()).fillna(0) > 1
        joint = branch.map(_column(orgs, "joint")).fillna(False).astype(bool) if len(orgs) else False
        figures.add("compounds_in_joint_branch", branch.notna() & (shared | joint), at_compound, base)
        committee = compounds[_column(compounds, "owners_committee").fillna(False).astype(bool)]
        figures.add(
            "red_owners_committees", _column(committee, "red_owners_committee").fillna(False), at_compound
        )
        company = _column(compounds, "property_company")
        managed = compounds[company.notna() & (company.astype(str).str.strip() != "")]
        figures.add("red_property_companies", _column(managed, "red_property").fillna(False), at_compound)
        sponsored = _sponsored(layers.get("sponsorships"), options.on)
        figures.add("compounds_sponsored", base.index.to_series().isin(sponsored), at_compound, base)
    if len(homes):
        figures.add(
            "buildings_with_party_group", _column(homes, "party_group_id").notna(), at_building, homes
        )
        leaders = _held(assignments, "building_leader", "buildings")
        figures.add("buildings_with_leader", homes.index.to_series().isin(set(leaders["target_id"])), at_building,
                    homes)  # fmt: skip
        figures.add("member_building_leaders", _column(leaders, "member_id").notna(),
                    places_of(leaders["target_id"], at_building))  # fmt: skip
    if len(grids):
        for name, role in (("grids_with_leader", "grid_leader"), ("grids_with_workers", "grid_worker")):
            held = set(_held(assignments, role, "grids")["target_id"])
            figures.add(name, grids.index.to_series().isin(held), at_grid, grids)
    _one_shoulder(figures, assignments, orgs, at_compound, compounds, catalogue)
    _registrations(figures, layers, places, at_building)
    _needs_and_points(figures, layers, places, at_building)
    load = _leader_load(assignments, homes, grids)
    skills = _skills(layers.get("members", empty), buildings, grids)
    return OrgReport(figures.frame(), figures.missing, load, skills,
                     {k: v[:3] for k, v in labels.items()}, options)  # fmt: skip


@dataclass(frozen=True)
class _Located:
    """The features organisations are placed on, and where each lies (community, grid)."""

    compounds: pd.DataFrame
    grids: pd.DataFrame
    homes: pd.DataFrame
    at_compound: pd.DataFrame
    at_grid: pd.DataFrame
    at_building: pd.DataFrame


def _org_places(orgs: pd.DataFrame, located: _Located) -> pd.DataFrame:
    """Where each organisation lies: the compound it serves, else the grid it is on, else its
    building, else its community."""
    # nullable numbers: an organisation on a building that is no home (an office block's
    # party group) is placed nowhere by it, and NA has to fit the column it is written into
    where = pd.DataFrame(
        {"community": pd.to_numeric(_column(orgs, "community_id"), errors="coerce").astype("Float64"),
         "grid": pd.Series(pd.NA, index=orgs.index, dtype="Float64")},
    )  # fmt: skip
    sources: list[tuple[pd.Series, pd.DataFrame]] = []
    for features, at in ((located.compounds, located.at_compound), (located.grids, located.at_grid)):
        if len(features):
            first = _column(features, "branch_id").dropna()
            sources.append((pd.Series(first.index, index=first.to_numpy()).groupby(level=0).first(), at))
    if len(located.homes):
        sources.append((_column(orgs, "building_id").dropna(), located.at_building))
    for keys, at in sources:
        keys = keys[keys.index.isin(orgs.index)]
        found = places_of(keys, at)
        for column in ("community", "grid"):
            where.loc[found.index, column] = where.loc[found.index, column].where(
                where.loc[found.index, column].notna(), pd.to_numeric(found[column]).astype("Float64")
            )
    return where


def places_of(keys: pd.Series, at: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``at`` for each feature id in ``keys``, indexed like ``keys``."""
    out = at.reindex(pd.to_numeric(keys, errors="coerce").to_numpy())
    out.index = keys.index
    return out


def _branches(figures: _Figures, orgs: pd.DataFrame, located: _Located, catalogue: OrgCatalogue) -> None:
    kind = _column(orgs, "kind")
    branches = orgs[kind.isin(catalogue.kinds_counted_as("branch"))] if len(orgs) else orgs
    if len(branches) == 0 and len(orgs) and "kind" not in orgs.columns:
        branches = orgs  # a frame of branches only
    where = _org_places(branches, located)
    figures.add("branches", pd.Series(True, index=branches.index), where)
    form = _column(branches, "form")
    for key in catalogue.branch_forms:
        figures.add(f"branches_{key}", form == key, where)
    groups = orgs[kind.isin(catalogue.kinds_counted_as("group")) & _column(orgs, "building_id").notna()]
    figures.add("building_groups", pd.Series(True, index=groups.index), _org_places(groups, located))
    grids = located.grids
    if len(grids):
        figures.add("grids_with_branch", _column(grids, "branch_id").notna(), located.at_grid, grids)


def _sponsored(sponsorships: pd.DataFrame | None, on: dt.date | None) -> set[int]:
    """The compounds a co-building unit sponsors on ``on``."""
    if sponsorships is None or len(sponsorships) == 0:
        return set()
    held = in_force(sponsorships, on)
    return {int(t) for t in held.loc[held["target_layer"] == "compounds", "target_id"]}


def _person(frame: pd.DataFrame) -> pd.Series:
    """Who holds a term: the member, else the name and phone."""
    member = _column(frame, "member_id")
    named = _column(frame, "person_name").astype(str) + "|" + _column(frame, "phone").fillna("").astype(str)
    return member.map(lambda m: None if pd.isna(m) else f"m{int(m)}").fillna(named)


def _one_shoulder(
    figures: _Figures,
    assignments: pd.DataFrame,
    orgs: pd.DataFrame,
    at_compound: pd.DataFrame,
    compounds: pd.DataFrame,
    catalogue: OrgCatalogue,
) -> None:
    """Secretaries of party organisations who hold, at once, another post of a cross-post
    (一肩挑: a secretary who also directs the residents' committee or chairs the owners')."""
    if len(assignments) == 0 or not catalogue.cross_posts:
        return
    person = _person(assignments)
    leads = assignments[assignments["role"].isin({posts[0] for _, posts in catalogue.cross_posts.values()})]
    both = pd.Series(False, index=leads.index)
    for _, (lead, *others) in catalogue.cross_posts.values():
        also = set(person[assignments["role"].isin(others)])
        both |= (leads["role"] == lead) & person[leads.index].isin(also)
    org_community = _column(orgs, "community_id")
    where = pd.DataFrame(
        {"community": leads["target_id"].map(org_community), "grid": pd.NA}, index=leads.index
    )
    figures.add("one_shoulder", both, where)


def _registrations(
    figures: _Figures, layers: Mapping[str, pd.DataFrame], places: _Places, at_building: pd.DataFrame
) -> None:
    empty = pd.DataFrame()
    units = layers.get("coop_units", empty)
    if len(units):
        figures.add(
            "units_registered", _column(units, "registered_on").notna(), places.of("coop_units", units), units
        )
    members = layers.get("members", empty)
    households = layers.get("households", empty)
    if len(members):
        home = places_of(_column(members, "building_id"), at_building)
        home["community"] = home["community"].fillna(_column(members, "community_id"))
        central = _column(members, "central_household").fillna(False).astype(bool)
        figures.add("central_households", central, home)
        in_service = members[_column(members, "kind") == "in_service"]
        where = home.loc[in_service.index]
        figures.add("in_service_registered", _column(in_service, "registered_on").notna(), where)
        with_unit = in_service[_column(in_service, "coop_unit_id").notna()]
        figures.add("in_service_registered_unit", _column(with_unit, "unit_registered_on").notna(),
                    where.loc[with_unit.index])  # fmt: skip
        linked = _column(households, "linked_member_id") if len(households) else pd.Series(dtype=float)
        links = linked.value_counts()
        figures.add(
            "members_linking_10", in_service.index.to_series().map(links).fillna(0) >= LINKS_PER_MEMBER, where
        )
    if len(households):
        where = places_of(_column(households, "building_id"), at_building)
        figures.add("households_linked", _column(households, "linked_member_id").notna(), where)


def _needs_and_points(
    figures: _Figures, layers: Mapping[str, pd.DataFrame], places: _Places, at_building: pd.DataFrame
) -> None:
    empty = pd.DataFrame()
    needs = layers.get("needs", empty)
    if len(needs):
        needs = needs[_column(needs, "state") != "cancelled"]
        where = pd.DataFrame({"community": _column(needs, "community_id"), "grid": _column(needs, "grid_id")})
        claimed = _column(needs, "claimed_on").notna() | _column(needs, "done_on").notna()
        figures.add("needs_claimed", claimed, where)
        figures.add("needs_done", _column(needs, "done_on").notna(), where)
    points = layers.get("points", empty)
    members = layers.get("members", empty)
    if len(points) and len(members):
        home = places_of(_column(members, "building_id"), at_building)
        home["community"] = home["community"].fillna(_column(members, "community_id"))
        figures.add(
            "points", pd.to_numeric(points["points"], errors="coerce"), places_of(points["member_id"], home)
        )


def _leader_load(assignments: pd.DataFrame, homes: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Households each current grid leader and building leader answers for, and the ratio to
    the mean of their role (1.0 is an even share)."""
    columns = ["role", "person_name", "targets", "households", "ratio_to_mean"]
    if len(homes) == 0:
        return pd.DataFrame(columns=columns)
    hh = _households(homes)
    per_grid = hh.groupby(area_of(homes, base_grids(grids))).sum() if len(grids) else pd.Series(dtype=float)
    frames = []
    for role, layer, per_target in (("grid_leader", "grids", per_grid), ("building_leader", "buildings", hh)):
        held = _held(assignments, role, layer)
        if len(held) == 0:
            continue
        held = held.assign(households=held["target_id"].map(per_target).fillna(0))
        person = held.groupby("person_name").agg(
            targets=("target_id", lambda s: ",".join(str(int(t)) for t in s)),
            households=("households", "sum"),
        )
        person = person.reset_index().assign(role=role)
        mean = person["households"].mean()
        person["ratio_to_mean"] = (person["households"] / mean).round(2) if mean else np.nan
        frames.append(person[columns])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _skills(members: pd.DataFrame, buildings: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Members who offer each skill, per grid of the building they live in."""
    columns = ["grid_id", "grid_code", "skill", "members"]
    if len(members) == 0 or "skills" not in members.columns or len(buildings) == 0 or len(grids) == 0:
        return pd.DataFrame(columns=columns)
    grid_of = area_of(buildings, base_grids(grids))
    m = members[members["skills"].notna()].copy()
    m["skill"] = m["skills"].astype(str).str.split(r"[,，、]")
    m = m.explode("skill")
    m["skill"] = m["skill"].str.strip()
    m["grid_id"] = m["building_id"].map(grid_of)
    m = m[(m["skill"] != "") & m["grid_id"].notna()]
    out = m.groupby(["grid_id", "skill"]).size().rename("members").reset_index()
    out["grid_code"] = out["grid_id"].map(grids["code"]) if "code" in grids.columns else ""
    return out[columns].sort_values(["grid_code", "members"], ascending=[True, False]).reset_index(drop=True)


def figures_by_unit(report: OrgReport, scope: str) -> pd.DataFrame:
    """One row per unit of ``scope`` (a :data:`REPORT_SCOPES` value), one column per figure's
    count, and for shares its ``_total`` and ``_share`` beside it: the table a report prints."""
    part = report.figures[report.figures["scope"] == scope]
    units = part[["unit_id", "code", "name"]].drop_duplicates("unit_id").set_index("unit_id")
    columns: dict[str, pd.Series] = {}
    for name, (_, _, what) in report.labels.items():
        rows = part[part["figure"] == name].set_index("unit_id")
        if rows.empty:
            continue
        columns[name] = rows["count"].reindex(units.index)
        if what != SHARE:  # a unit with none of them counts 0
            columns[name] = columns[name].fillna(0).astype(int)
        else:
            columns[f"{name}_total"] = rows["total"]
            columns[f"{name}_share"] = rows["share"].round(4)
    out = pd.concat([units, pd.DataFrame(columns, index=units.index)], axis=1)
    return out.reset_index().sort_values(["code", "unit_id"], kind="stable").reset_index(drop=True)
