"""Who may read what: the layers of each access role, a grid leader's area, and masking.

Roles (DESIGN §6): ``admin`` reads and edits everything; ``planner`` reads every layer with
personal data masked; ``grid_leader`` reads their own grids and what lies in them, unmasked
(they call these people); ``public`` reads facilities, the street network, administrative
boundaries and aggregate coverage only. Pure functions on frames indexed by feature id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.model import LAYER_SPECS, LAYERS, UserRole
from gridmap.organisation import area_of, base_grids
from gridmap.responsibility import people_in

#: layers anyone may read, signed in or not
PUBLIC_LAYERS: tuple[str, ...] = ("districts", "streets", "communities", "facilities", "roads")
#: layers read whole by a grid leader: shared context, no personal data
SHARED_LAYERS: tuple[str, ...] = (*PUBLIC_LAYERS, "entrances")
#: the layers a grid leader's area is computed from
AREA_INPUTS: tuple[str, ...] = (
    "grids", "buildings", "compounds", "party_orgs", "communities", "households", "members", "coop_units",
    "assignments", "events", "visits", "needs", "offers", "points", "sponsorships",
)  # fmt: skip
#: values only admins and the grid leaders of their area read: who needs a visit, and why
#: (others read the rows without them; figures count them, never by name)
SENSITIVE: Mapping[str, tuple[str, ...]] = {"households": ("care_tags",)}


_READERS = (UserRole.ADMIN, UserRole.PLANNER)
_LEADERS = (*_READERS, UserRole.GRID_LEADER)  # a grid leader within their area
_ADMIN = (UserRole.ADMIN,)

#: who may do what, besides reading the stored layers (:func:`layer_readers`): the one table
#: for the service's routes, tiles, downloads and jobs
ACCESS: dict[str, tuple[str, ...]] = {
    # what coverage runs and siting scenarios compute: tiles, GeoJSON, summaries, jobs
    "coverage": _LEADERS,  # homes with their walking minutes
    "compound_checks": _LEADERS,
    "grid_summaries": _LEADERS,  # coverage shares per grid
    "gaps": _READERS,
    "circles": _READERS,
    "proposals": _READERS,  # siting scenarios and their sites
    "runs": _READERS,  # starting coverage runs and siting jobs, reading a run's report
    # what the grid map and the organisation say of the stored layers
    "organisation_details": _READERS,  # which features lack a figure, leaders' loads, skills
    "grid_findings": _READERS,  # overlaps, holes and crossings of the grid map
    "grid_alignment": _READERS,
    "grid_drawings": _READERS,
    "my_area": (UserRole.GRID_LEADER,),
    "assignment_history": _LEADERS,
    # maps to download
    "grid_map": _READERS,
    "analysis_maps": _READERS,  # coverage, gaps and siting maps
    "area_map": _LEADERS,
    # writes and the record of them
    "edit_features": _ADMIN,
    "assign_people": _ADMIN,
    "assign_branches": _ADMIN,
    "audit_log": _ADMIN,
    # grid events: moved by the grid leaders of their grids (and admins); the figures
    "event_steps": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "event_figures": _READERS,
    "log_visits": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "event_counts": tuple(UserRole),  # open and closed per grid: counts, no one named
    # the 双报到 loop: needs filed and moved by the grid leaders of their grids (and admins),
    # points awarded to their members; rankings name members (masked for planners)
    "need_steps": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "award_points": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "points_ranking": _LEADERS,
    "organisation_map": _LEADERS,  # branches by form, central households, sponsored compounds
}
#: what a grid leader reads of an analysis output: its rows for their area's features of a layer
LEADER_ROWS: dict[str, str] = {
    "coverage": "buildings",
    "compound_checks": "compounds",
    "grid_summaries": "grids",
}
#: the coverage summaries the public reads (all of gridmap.model.SUMMARY_SCOPES but grids)
PUBLIC_SUMMARY_SCOPES: tuple[str, ...] = ("area", "street", "community")


def allowed_roles(action: str) -> tuple[str, ...]:
    """The roles that may do ``action`` (a key of :data:`ACCESS`)."""
    return ACCESS[action]


def may(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (a key of :data:`ACCESS`)."""
    return role in ACCESS[action]


def analysis_ids(what: str, role: str, area: Area | None = None) -> frozenset[int] | None:
    """The ids of the stored features whose rows of the analysis output ``what`` (a key of
    :data:`ACCESS`) ``role`` reads: None for all rows (check :func:`may` first). A grid
    leader passes their ``area`` and reads the rows of their own buildings, compounds, grids."""
    if role != UserRole.GRID_LEADER or what not in LEADER_ROWS:
        return None
    return _leader_ids(area, LEADER_ROWS[what])


def _leader_ids(area: Area | None, layer: str) -> frozenset[int]:
    if area is None:
        raise ValueError("a grid leader's rows need their area")
    return area.ids.get(layer, frozenset())


def readable_layers(role: str) -> tuple[str, ...]:
    """The layers ``role`` may read at all (for a grid leader, only their part of some)."""
    return PUBLIC_LAYERS if role == UserRole.PUBLIC else LAYERS


def layer_readers(layer: str) -> tuple[str, ...]:
    """The roles that read (some of) the stored ``layer``."""
    return tuple(role for role in UserRole if layer in readable_layers(role))


def visible_ids(layer: str, role: str, area: Area | None = None) -> frozenset[int] | None:
    """The feature ids of the stored ``layer`` that ``role`` may read: None for all of them,
    an empty set for none. A grid leader passes their ``area``."""
    if layer not in readable_layers(role):
        return frozenset()
    if role != UserRole.GRID_LEADER or layer in SHARED_LAYERS:
        return None
    return _leader_ids(area, layer)


def mask_phone(phone: object) -> object:
    """``13812345678`` → ``138****5678``; short or empty values are hidden wholly."""
    if phone is None or (isinstance(phone, float) and np.isnan(phone)) or phone is pd.NA:
        return phone
    text = str(phone)
    if len(text) < 7:
        return "****"
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_name(name: object) -> object:
    """``王小明`` → ``王**``: the family name only."""
    if not isinstance(name, str) or not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_personal(layer: str, frame: pd.DataFrame, *, names: bool) -> pd.DataFrame:
    """``frame`` with the layer's phone numbers masked and, with ``names``, names and birth years."""
    personal = LAYER_SPECS[layer].personal
    if not personal:
        return frame
    out = frame.copy()
    for column in personal:
        if column not in out.columns:
            continue
        if column == "phone":
            out[column] = out[column].map(mask_phone)
        elif column == "birth_year":
            if names:
                out[column] = None
        elif names:
            out[column] = out[column].map(mask_name)
    return out


@dataclass(frozen=True)
class Area:
    """A grid leader's area: per layer the feature ids they may read."""

    grid_ids: tuple[int, ...]
    ids: Mapping[str, frozenset[int]]

    def allows(self, layer: str, feature_id: int) -> bool:
        return layer in SHARED_LAYERS or int(feature_id) in self.ids.get(layer, frozenset())


def _ids(values: Any) -> frozenset[int]:
    return frozenset(int(v) for v in pd.Series(values).dropna())


def grid_leader_area(layers: Mapping[str, pd.DataFrame], grid_ids: tuple[int, ...]) -> Area:
    """What lies in the grids ``grid_ids``: sub-grids, buildings (by their representative
    point), compounds with any of those buildings or inside the grids, their households,
    members, party organisations, assignments, communities and co-building units."""
    grids = layers["grids"]
    own = set(grid_ids)
    parent = pd.to_numeric(grids.get("parent_id"), errors="coerce") if len(grids) else pd.Series(dtype=float)
    while True:  # sub-grids, all levels down
        more = set(grids.index[parent.isin(own)].astype(int)) - own
        if not more:
            break
        own |= more
    mine = grids[grids.index.isin(own)]
    buildings = layers["buildings"]
    in_grid = area_of(buildings, base_grids(mine)) if len(mine) else pd.Series(pd.NA, index=buildings.index)
    building_ids = _ids(buildings.index[in_grid.notna()])
    compounds = layers["compounds"]
    holding = _ids(buildings.loc[list(building_ids), "compound_id"]) if building_ids else frozenset()
    inside = area_of(compounds, mine) if len(mine) else pd.Series(pd.NA, index=compounds.index)
    compound_ids = holding | _ids(compounds.index[inside.notna()])
    org_ids = set(_ids(compounds.loc[compounds.index.isin(compound_ids), "branch_id"]))
    if "branch_id" in mine.columns:  # branches and groups built on their grids
        org_ids |= _ids(mine["branch_id"])
    org_ids |= _ids(buildings.loc[list(building_ids), "party_group_id"]) if building_ids else frozenset()
    orgs = layers.get("party_orgs")
    if orgs is not None and len(orgs):
        org_ids |= _ids(orgs.index[orgs["building_id"].isin(building_ids)])
    communities = _ids(mine.get("community_id", pd.Series(dtype=float)))
    ids: dict[str, frozenset[int]] = {
        "grids": frozenset(own),
        "buildings": building_ids,
        "compounds": compound_ids,
        "party_orgs": frozenset(org_ids),
        "communities": communities,
    }
    for name, column, targets in (
        ("households", "building_id", building_ids),
        ("members", "building_id", building_ids),
        ("coop_units", "community_id", communities),
        ("events", "grid_id", frozenset(own)),  # the events routed to their grids
        ("needs", "grid_id", frozenset(own)),  # the needs placed in their grids
    ):
        frame = layers.get(name)
        if frame is not None and len(frame):
            ids[name] = _ids(frame.index[frame[column].isin(targets)])
    members = ids.get("members", frozenset())
    for name in ("offers", "points"):  # what their members offer and earned
        frame = layers.get(name)
        if frame is not None and len(frame):
            ids[name] = _ids(frame.index[frame["member_id"].isin(members)])
    sponsorships = layers.get("sponsorships")
    if sponsorships is not None and len(sponsorships):
        sponsored = (sponsorships["target_layer"] == "compounds") & sponsorships["target_id"].isin(
            compound_ids
        )
        ids["sponsorships"] = _ids(sponsorships.index[sponsored])
    visits = layers.get("visits")
    if visits is not None and len(visits):
        ids["visits"] = _ids(visits.index[visits["household_id"].isin(ids.get("households", frozenset()))])
    assignments = layers.get("assignments")
    if assignments is not None and len(assignments):
        keep = np.zeros(len(assignments), dtype=bool)
        for target in ("grids", "buildings", "compounds", "party_orgs", "communities"):
            keep |= (assignments["target_layer"] == target).to_numpy() & assignments["target_id"].isin(
                ids[target]
            ).to_numpy()
        ids["assignments"] = _ids(assignments.index[keep])
    return Area(tuple(grid_ids), ids)


def visible_frame(
    layer: str, frame: pd.DataFrame, role: str, area: Area | None = None
) -> pd.DataFrame | gpd.GeoDataFrame:
    """The rows and values of ``frame`` (a whole layer) that ``role`` may read.

    A grid leader passes their ``area``; they read shared layers whole and other layers
    within their area, unmasked. Planners read everything with personal data masked (names
    too, except the names of office holders in ``assignments``). Public: public layers only.
    """
    keep = visible_ids(layer, role, area)
    if keep is not None:
        return frame[frame.index.isin(keep)]
    if role in (UserRole.ADMIN, UserRole.GRID_LEADER):
        return frame
    masked = mask_personal(layer, frame, names=layer != "assignments")
    hidden = [c for c in SENSITIVE.get(layer, ()) if c in masked.columns]
    if hidden:
        masked = masked.copy() if masked is frame else masked
        masked[hidden] = None
    return masked


def masked_answer(answer: dict[str, Any], role: str, area: Area | None = None) -> dict[str, Any]:
    """A ``/who`` answer (:meth:`gridmap.responsibility.Responsibility.at`) as ``role`` may
    read it, masked in place: admins read all; a grid leader reads their own area's people in
    full; planners read names; others family names only. Phone numbers and member links are
    masked for all but admins and the area's grid leader; a building's household figures are
    for the readers of buildings (admins, planners, the building's grid leader)."""
    if role == UserRole.ADMIN:
        return answer
    for person in people_in(answer):
        if area is not None and area.allows(person["target_layer"], person["target_id"]):
            continue
        person["phone"] = mask_phone(person["phone"])
        person["member_id"] = None
        if role != UserRole.PLANNER:
            person["person_name"] = mask_name(person["person_name"])
    building = answer.get("building")
    if (
        role != UserRole.PLANNER
        and building
        and (area is None or not area.allows("buildings", building["id"]))
    ):
        for key in ("households", "residents"):
            building.pop(key, None)
    return answer
