"""Who may read what: the layers of each access role, a grid leader's area, and masking.

Roles (DESIGN §6): ``admin`` reads and edits everything; ``planner`` reads every layer with
personal data masked; ``grid_leader`` reads their own grids and what lies in them, unmasked
(they call these people); ``public`` reads facilities, the street network, administrative
boundaries and aggregate coverage only. Pure functions on frames indexed by feature id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.model import LAYER_SPECS, LAYERS, UserRole
from gridmap.organisation import area_of, base_grids

#: layers anyone may read, signed in or not
PUBLIC_LAYERS: tuple[str, ...] = ("districts", "streets", "communities", "facilities", "roads")
#: layers read whole by a grid leader: shared context, no personal data
SHARED_LAYERS: tuple[str, ...] = (*PUBLIC_LAYERS, "entrances")
#: the layers a grid leader's area is computed from
AREA_INPUTS: tuple[str, ...] = (
    "grids", "buildings", "compounds", "party_orgs", "communities", "households", "members", "coop_units", "assignments"
)  # fmt: skip


_READERS = (UserRole.ADMIN, UserRole.PLANNER)
#: who reads what coverage runs and siting scenarios compute (a grid leader within their
#: area): the one table for their tiles, GeoJSON, summaries and jobs
ANALYSIS_READERS: dict[str, tuple[str, ...]] = {
    "coverage": (*_READERS, UserRole.GRID_LEADER),  # homes with their walking minutes
    "compound_checks": (*_READERS, UserRole.GRID_LEADER),
    "grid_summaries": (*_READERS, UserRole.GRID_LEADER),  # coverage shares per grid
    "gaps": _READERS,
    "circles": _READERS,
    "proposals": _READERS,  # siting scenarios and their sites
    "runs": _READERS,  # starting coverage runs and siting jobs, reading a run's report
}
#: the coverage summaries the public reads (all of gridmap.model.SUMMARY_SCOPES but grids)
PUBLIC_SUMMARY_SCOPES: tuple[str, ...] = ("area", "street", "community")


def analysis_readers(what: str) -> tuple[str, ...]:
    """The roles that read ``what`` (a key of :data:`ANALYSIS_READERS`)."""
    return ANALYSIS_READERS[what]


def readable_layers(role: str) -> tuple[str, ...]:
    """The layers ``role`` may read at all (for a grid leader, only their part of some)."""
    return PUBLIC_LAYERS if role == UserRole.PUBLIC else LAYERS


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


def _ids(values) -> frozenset[int]:
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
    ):
        frame = layers.get(name)
        if frame is not None and len(frame):
            ids[name] = _ids(frame.index[frame[column].isin(targets)])
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
    if layer not in readable_layers(role):
        return frame.iloc[0:0]
    if role == UserRole.ADMIN:
        return frame
    if role == UserRole.GRID_LEADER:
        if area is None:
            raise ValueError("a grid leader's frame needs their area")
        if layer in SHARED_LAYERS:
            return frame
        return frame[frame.index.isin(area.ids.get(layer, frozenset()))]
    return mask_personal(layer, frame, names=layer != "assignments")
