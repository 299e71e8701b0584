"""Party-building figures from the layers: branch coverage of compounds, party groups and
leaders of buildings, grid leaders and workers, 双报到 registrations, "1+10" household links,
leaders' loads and members' skills per grid.

:func:`organisation_report` works on GeoDataFrames and plain frames indexed by feature id.
Every figure is given for the whole area, each street and each community, with the ids of
what is missing (which compounds have no branch …) and, for spatial features, a layer of them
to map. Only current assignments count (no ``valid_to``); buildings count when they house
someone (households or residents above 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.crs import metric_crs_for
from gridmap.geometry import containing_ids

LINKS_PER_MEMBER = 10  # "1+10": each in-service member links about ten households

#: figure id → (Chinese label, short label, whether what lacks it is missing something)
FIGURES = {
    "compounds_with_branch": ("有党支部的小区", "支部", True),
    "compounds_in_joint_branch": ("联合支部覆盖的小区", "联合支部", False),
    "buildings_with_party_group": ("有党小组的楼栋", "党小组", True),
    "buildings_with_leader": ("有楼栋长的楼栋", "楼栋长", True),
    "grids_with_leader": ("有网格长的网格", "网格长", True),
    "grids_with_workers": ("有网格员的网格", "网格员", True),
    "in_service_registered": ("在职党员双报到", "双报到", True),
    "members_linking_10": (f"联系{LINKS_PER_MEMBER}户以上的在职党员", "1+10", True),
}
REPORT_SCOPES = ("area", "street", "community")  # the areas the organisation report is given for
#: the layers :func:`organisation_report` reads
ORG_LAYERS = ("streets", "communities", "grids", "compounds", "buildings", "party_orgs", "members",
              "households", "assignments")  # fmt: skip


@dataclass
class OrgReport:
    """Figures per scope, what is missing, leaders' loads, and skills per grid."""

    figures: pd.DataFrame  # scope, unit_id, code, name, figure, figure_zh, count, total, share, missing
    missing: dict[str, gpd.GeoDataFrame]  # figure → the features that lack it (spatial layers)
    leader_load: pd.DataFrame  # role, person_name, target ids, households, ratio to the role's mean
    skills: pd.DataFrame  # grid code, skill, members

    def area(self) -> pd.DataFrame:
        return self.figures[self.figures["scope"] == "area"].reset_index(drop=True)


def current_assignments(assignments: pd.DataFrame | None, role: str, layer: str) -> pd.DataFrame:
    """The assignments of ``role`` to features of ``layer`` still in force (no ``valid_to``)."""
    if assignments is None or len(assignments) == 0:
        return pd.DataFrame(columns=["person_name", "target_id"])
    a = assignments[(assignments["role"] == role) & (assignments["target_layer"] == layer)]
    if "valid_to" in a.columns:
        a = a[a["valid_to"].isna()]
    return a


def area_of(buildings: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None) -> pd.Series:
    """The id of the area (community, grid) each building's representative point lies in."""
    if areas is None or len(areas) == 0 or len(buildings) == 0:
        return pd.Series(pd.NA, index=buildings.index, dtype="Int64")
    metric = metric_crs_for(buildings)
    points = buildings.geometry.to_crs(metric).representative_point()
    return containing_ids(points, areas[["geometry"]].to_crs(metric).assign(id=areas.index))


def base_grids(grids: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The grids of the lowest level: the ones buildings belong to."""
    if grids is None or len(grids) == 0:
        return grids
    level = pd.to_numeric(grids.get("level"), errors="coerce").fillna(1)
    return grids[level == level.min()]


def _rows(
    name: str, has: pd.Series, community: pd.Series, units: dict[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """One row per scope unit for a yes/no figure over features (``has`` indexed by id)."""
    rows = []
    street_of = units["community"]["street_id"] if "street_id" in units["community"].columns else pd.Series()
    street = community.map(street_of)
    for scope in REPORT_SCOPES:
        key = {"area": pd.Series(0, index=has.index), "street": street, "community": community}[scope]
        frame = pd.DataFrame({"has": has.astype(bool), "unit": key.reindex(has.index)}).dropna(
            subset=["unit"]
        )
        for unit, part in frame.groupby("unit"):
            missing = part.index[~part["has"]]
            info = units.get(scope)
            rows.append(
                {
                    "scope": scope,
                    "unit_id": None if scope == "area" else int(unit),
                    "code": _label(info, unit, "code"),
                    "name": "全域" if scope == "area" else _label(info, unit, "name"),
                    "figure": name,
                    "figure_zh": FIGURES[name][0],
                    "count": int(part["has"].sum()),
                    "total": len(part),
                    "share": float(part["has"].mean()) if len(part) else np.nan,
                    "missing": ",".join(str(int(i)) for i in missing),
                }
            )
    return rows


def _label(units: pd.DataFrame | None, unit: Any, column: str) -> str:
    if units is None or column not in units.columns or unit not in units.index:
        return ""
    value = units.at[unit, column]
    return "" if pd.isna(value) else str(value)


def organisation_report(layers: Mapping[str, pd.DataFrame]) -> OrgReport:
    """The party-building figures of ``layers`` (frames indexed by feature id)."""
    empty = pd.DataFrame()
    communities = layers.get("communities")
    streets = layers.get("streets")
    compounds = layers.get("compounds", empty)
    buildings = layers.get("buildings", empty)
    grids = layers.get("grids", empty)
    members = layers.get("members", empty)
    households = layers.get("households", empty)
    orgs = layers.get("party_orgs", empty)
    assignments = layers.get("assignments")
    units = {
        "community": communities
        if communities is not None
        else pd.DataFrame(columns=["code", "name", "street_id"]),
        "street": streets if streets is not None else pd.DataFrame(columns=["code", "name"]),
    }
    rows: list[dict[str, Any]] = []
    missing: dict[str, gpd.GeoDataFrame] = {}

    def figure(name: str, has: pd.Series, community: pd.Series, features: pd.DataFrame) -> None:
        rows.extend(_rows(name, has, community, units))
        if isinstance(features, gpd.GeoDataFrame) and FIGURES[name][2]:
            missing[name] = features.loc[has.index[~has.astype(bool)]]

    if len(compounds):
        branch = compounds["branch_id"]
        comm = compounds["community_id"]
        figure("compounds_with_branch", branch.notna(), comm, compounds)
        shared = branch.map(branch.value_counts()).fillna(0) > 1
        joint_flag = (
            branch.map(orgs["joint"]).fillna(False).astype(bool) if "joint" in orgs.columns else False
        )
        figure("compounds_in_joint_branch", branch.notna() & (shared | joint_flag), comm, compounds)
    homes = empty
    if len(buildings):
        hh = pd.to_numeric(buildings.get("households"), errors="coerce").fillna(0)
        rs = pd.to_numeric(buildings.get("residents"), errors="coerce").fillna(0)
        homes = buildings[(hh > 0) | (rs > 0)]
        comm = area_of(homes, communities)
        figure("buildings_with_party_group", homes["party_group_id"].notna(), comm, homes)
        led = current_assignments(assignments, "building_leader", "buildings")["target_id"]
        figure("buildings_with_leader", homes.index.to_series().isin(set(led)), comm, homes)
    if len(grids):
        comm = grids["community_id"]
        for name, role in (("grids_with_leader", "grid_leader"), ("grids_with_workers", "grid_worker")):
            held = set(current_assignments(assignments, role, "grids")["target_id"])
            figure(name, grids.index.to_series().isin(held), comm, grids)
    if len(members):
        in_service = members[members["kind"] == "in_service"]
        comm = in_service["community_id"]
        figure("in_service_registered", in_service["registered_on"].notna(), comm, in_service)
        links = households["linked_member_id"].value_counts() if len(households) else pd.Series(dtype=int)
        linked = in_service.index.to_series().map(links).fillna(0)
        figure("members_linking_10", linked >= LINKS_PER_MEMBER, comm, in_service)

    load = _leader_load(assignments, homes, grids)
    skills = _skills(members, buildings, grids)
    figures = pd.DataFrame(rows, columns=["scope", "unit_id", "code", "name", "figure", "figure_zh", "count",
                                          "total", "share", "missing"])  # fmt: skip
    figures["unit_id"] = figures["unit_id"].astype("Int64")
    return OrgReport(figures=figures, missing=missing, leader_load=load, skills=skills)


def _leader_load(assignments: pd.DataFrame | None, homes: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Households each current grid leader and building leader answers for, and the ratio to
    the mean of their role (1.0 is an even share)."""
    columns = ["role", "person_name", "targets", "households", "ratio_to_mean"]
    if len(homes) == 0:
        return pd.DataFrame(columns=columns)
    hh = pd.to_numeric(homes["households"], errors="coerce").fillna(0)
    per_grid = hh.groupby(area_of(homes, base_grids(grids))).sum() if len(grids) else pd.Series(dtype=float)
    frames = []
    for role, layer, per_target in (("grid_leader", "grids", per_grid), ("building_leader", "buildings", hh)):
        held = current_assignments(assignments, role, layer)
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
