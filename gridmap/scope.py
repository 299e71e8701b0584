"""Who may read and change what: the layers of each access role, the area a role works in,
what each role edits there, and masking.

Roles (DESIGN §6): ``admin`` reads and edits everything; ``planner`` reads every layer with
personal data masked; ``street_admin`` and ``community_admin`` edit the layers of
:data:`EDITABLE` inside their street's or community's outline and read it in full (the rest
of the district as a planner does); ``grid_leader`` and ``grid_worker`` read their own grids
and what lies in them, unmasked (they call these people), and a grid worker updates the
households there; ``public`` reads facilities, the street network, administrative boundaries
and aggregate figures only. Pure functions on frames indexed by feature id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.model import LAYER_SPECS, LAYERS, STEPPED_LAYERS, UserRole, layer_spec
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
#: … and a street's or community's area, which also holds the points and outlines inside it
COMMUNITY_AREA_INPUTS: tuple[str, ...] = (*AREA_INPUTS, "facilities", "entrances", "streets")
#: the columns an area needs of the layers that belong to it by reference alone (the others
#: it needs whole, shapes included): these are edited all day, each edit moving every area
#: that reads them, which then reads these columns again rather than the layers whole
AREA_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "households": ("building_id",),
    "members": ("building_id",),
    "coop_units": ("community_id",),
    "events": ("grid_id", "community_id"),
    "needs": ("grid_id", "community_id"),
    "offers": ("member_id",),
    "points": ("member_id",),
    "sponsorships": ("target_layer", "target_id"),
    "visits": ("household_id",),
    "assignments": ("target_layer", "target_id"),
    "party_orgs": ("building_id", "community_id"),
}
#: values only admins and the grid leaders of their area read: who needs a visit, and why
#: (others read the rows without them; figures count them, never by name)
SENSITIVE: Mapping[str, tuple[str, ...]] = {"households": ("care_tags",)}


#: roles that work within their own grids, and roles that keep a street's or community's data
GRID_STAFF: tuple[str, ...] = (UserRole.GRID_LEADER, UserRole.GRID_WORKER)
AREA_ADMINS: tuple[str, ...] = (UserRole.STREET_ADMIN, UserRole.COMMUNITY_ADMIN)
_READERS = (UserRole.ADMIN, UserRole.PLANNER, *AREA_ADMINS)
_LEADERS = (*_READERS, *GRID_STAFF)  # grid staff within their area
_ADMIN = (UserRole.ADMIN,)
_KEEPERS = (UserRole.ADMIN, *AREA_ADMINS)  # the district anywhere, street and community admins in their area

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
    "my_area": GRID_STAFF,
    "assignment_history": _LEADERS,
    # maps to download
    "grid_map": _READERS,
    "analysis_maps": _READERS,  # coverage, gaps and siting maps
    "area_map": _LEADERS,
    # writes and the record of them
    # what each role edits, and where, is EDITABLE and edit_refusal below
    "edit_features": (*_KEEPERS, UserRole.GRID_WORKER),
    "assign_people": _KEEPERS,
    "assign_branches": _KEEPERS,
    "audit_log": _ADMIN,
    "feature_history": _KEEPERS,  # a feature's versions, values in full: who keeps it
    # grid events: moved by the grid leaders of their grids (and admins); the figures
    "event_steps": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "event_figures": _READERS,
    "log_visits": (UserRole.ADMIN, *GRID_STAFF),
    "event_counts": tuple(UserRole),  # open and closed per grid: counts, no one named
    # the 双报到 loop: needs filed and moved by the grid leaders of their grids (and admins),
    # points awarded to their members; rankings name members (masked for planners)
    "need_steps": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "award_points": (UserRole.ADMIN, UserRole.GRID_LEADER),
    "points_ranking": _LEADERS,
    "organisation_map": _LEADERS,  # branches by form, central households, sponsored compounds
}
#: the layers each role edits (besides admins, who edit every layer but those changed through
#: their own steps): street admins their communities and everything in them, community admins
#: what lies in their community, grid workers the households of their grids
_KEPT = ("grids", "compounds", "buildings", "facilities", "entrances", "party_orgs", "members", "households",
         "assignments", "coop_units", "sponsorships", "offers", "visits")  # fmt: skip
EDITABLE: Mapping[str, tuple[str, ...]] = {
    UserRole.ADMIN: tuple(layer for layer in LAYERS if layer not in STEPPED_LAYERS),
    UserRole.STREET_ADMIN: ("communities", *_KEPT),
    UserRole.COMMUNITY_ADMIN: _KEPT,
    UserRole.GRID_WORKER: ("households", "visits"),
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
    if role not in GRID_STAFF or what not in LEADER_ROWS:
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
    if role not in GRID_STAFF or layer in SHARED_LAYERS:
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
    """Where a role works: per layer the ids of the features there, the outline (EPSG:4326;
    the union of the grids or communities) and what it is called."""

    grid_ids: tuple[int, ...]
    ids: Mapping[str, frozenset[int]]
    outline: Any = None  # a shapely geometry, or None
    label: str = ""

    def allows(self, layer: str, feature_id: int) -> bool:
        return layer in SHARED_LAYERS or int(feature_id) in self.ids.get(layer, frozenset())

    def holds(self, layer: str, feature_id: int) -> bool:
        """Whether the feature lies in the area (shared layers included: for edits)."""
        return int(feature_id) in self.ids.get(layer, frozenset())


def _ids(values: Any) -> frozenset[int]:
    return frozenset(int(v) for v in pd.Series(values).dropna())


def grid_leader_area(layers: Mapping[str, pd.DataFrame], grid_ids: tuple[int, ...]) -> Area:
    """What lies in the grids ``grid_ids`` (a grid leader's or worker's): sub-grids, buildings
    (by their representative point), compounds with any of those buildings or inside the
    grids, their households, members, party organisations, assignments, communities and
    co-building units, the events and needs routed to the grids."""
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
    inside = area_of(compounds, mine) if len(mine) else pd.Series(pd.NA, index=compounds.index)
    communities = _ids(mine.get("community_id", pd.Series(dtype=float)))
    outline = shapely.union_all(mine.geometry.to_numpy()) if len(mine) else None
    label = "grid " + ", ".join(str(c) for c in mine.get("code", pd.Series(dtype=object)))
    return _area_around(layers, tuple(grid_ids), frozenset(own), building_ids, _ids(compounds.index[inside.notna()]),
                        communities, outline, label)  # fmt: skip


def community_area(
    layers: Mapping[str, pd.DataFrame], community_ids: tuple[int, ...], street_id: int | None = None
) -> Area:
    """What lies in the communities ``community_ids`` (a community admin's, or a street
    admin's street): their grids, the buildings, compounds, facilities and entrances inside
    their outline (by representative point), and what belongs to those as in a grid's area;
    the events and needs placed in them."""
    communities = layers["communities"]
    chosen = communities[communities.index.isin(community_ids)]
    outline = shapely.union_all(chosen.geometry.to_numpy()) if len(chosen) else None
    grids = layers["grids"]
    own = grids.index[grids["community_id"].isin(community_ids)] if len(grids) else grids.index
    buildings, compounds = layers["buildings"], layers["compounds"]
    building_ids = _ids(buildings.index[area_of(buildings, chosen).notna()]) if len(chosen) else frozenset()
    compound_ids = _ids(compounds.index[area_of(compounds, chosen).notna()]) if len(chosen) else frozenset()
    if street_id is None:
        label = "community " + ", ".join(str(c) for c in chosen.get("code", pd.Series(dtype=object)))
    else:
        streets = layers.get("streets")
        code = streets["code"].get(street_id) if streets is not None and "code" in streets.columns else None
        label = f"street {code or street_id}"
    area = _area_around(
        layers, (), _ids(own), building_ids, compound_ids, frozenset(community_ids), outline, label
    )
    ids = dict(area.ids)
    for name in ("facilities", "entrances"):
        frame = layers.get(name)
        if frame is not None and len(frame) and len(chosen):
            ids[name] = _ids(frame.index[area_of(frame, chosen).notna()])
    for name in ("events", "needs", "party_orgs"):  # placed in or kept by the communities
        frame = layers.get(name)
        if frame is not None and len(frame) and "community_id" in frame.columns:
            ids[name] = ids.get(name, frozenset()) | _ids(
                frame.index[frame["community_id"].isin(community_ids)]
            )
    if street_id is not None:
        ids["streets"] = frozenset({int(street_id)})
    return Area(area.grid_ids, ids, outline, label)


def _area_around(
    layers: Mapping[str, pd.DataFrame],
    grid_ids: tuple[int, ...],
    own: frozenset[int],
    building_ids: frozenset[int],
    compounds_inside: frozenset[int],
    communities: frozenset[int],
    outline: Any,
    label: str,
) -> Area:
    """The area of the grids ``own``, the buildings and compounds in it and its communities:
    what belongs to those (households, members, organisations, terms, units, visits …)."""
    grids = layers["grids"]
    mine = grids[grids.index.isin(own)]
    buildings = layers["buildings"]
    compounds = layers["compounds"]
    holding = _ids(buildings.loc[list(building_ids), "compound_id"]) if building_ids else frozenset()
    compound_ids = holding | compounds_inside
    org_ids = set(_ids(compounds.loc[compounds.index.isin(compound_ids), "branch_id"]))
    if "branch_id" in mine.columns:  # branches and groups built on their grids
        org_ids |= _ids(mine["branch_id"])
    org_ids |= _ids(buildings.loc[list(building_ids), "party_group_id"]) if building_ids else frozenset()
    orgs = layers.get("party_orgs")
    if orgs is not None and len(orgs):
        org_ids |= _ids(orgs.index[orgs["building_id"].isin(building_ids)])
    ids: dict[str, frozenset[int]] = {
        "grids": own,
        "buildings": building_ids,
        "compounds": compound_ids,
        "party_orgs": frozenset(org_ids),
        "communities": communities,
    }
    for name, column, targets in (
        ("households", "building_id", building_ids),
        ("members", "building_id", building_ids),
        ("coop_units", "community_id", communities),
        ("events", "grid_id", own),  # the events routed to their grids
        ("needs", "grid_id", own),  # the needs placed in their grids
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
    return Area(grid_ids, ids, outline, label)


#: how far a new outline may reach past the area's edge and still count as inside (metres)
EDGE_TOLERANCE_M = 0.5


def edit_refusal(
    role: str,
    area: Area | None,
    layer: str,
    *,
    stored_id: int | None = None,
    values: Mapping[str, Any] | None = None,
    geometry: Any = None,
    communities: pd.DataFrame | None = None,
) -> str | None:
    """Why ``role`` may not make an edit of ``layer`` — the stored feature ``stored_id`` (an
    update or delete), the new ``values`` and ``geometry`` (EPSG:4326) — naming what lies
    outside their area (``communities``, indexed by id with code and name, tell where a
    geometry reaches); None when they may."""
    if role == UserRole.ADMIN or layer in STEPPED_LAYERS:  # stepped layers: the edit itself says why not
        return None
    editable = EDITABLE.get(role, ())
    if layer not in editable:
        return f"a {role} does not edit '{layer}'" + (
            f"; it edits: {', '.join(editable)}" if editable else ""
        )
    if area is None:
        return f"a {role} edits within an area, and this account has none"
    where = area.label or "your area"
    if stored_id is not None and not area.holds(layer, stored_id):
        return f"{layer} {stored_id} lies outside {where}"
    for ref in layer_spec(layer).references:
        value = (values or {}).get(ref.column)
        if (
            value is not None
            and not pd.isna(value)
            and ref.layer in area.ids
            and not area.holds(ref.layer, value)
        ):
            return f"{ref.column} {value}: {ref.layer} {value} lies outside {where}"
    target_layer, target_id = (values or {}).get("target_layer"), (values or {}).get("target_id")
    targeted = layer in ("assignments", "sponsorships") and target_id is not None
    if targeted and not area.holds(str(target_layer), int(target_id)):  # type: ignore[arg-type]
        return f"{target_layer} {target_id} lies outside {where}"
    if geometry is not None and area.outline is not None:
        return _reaches_outside(geometry, area, communities)
    return None


def _reaches_outside(geometry: Any, area: Area, communities: pd.DataFrame | None) -> str | None:
    from gridmap.crs import metric_crs_for

    frame = gpd.GeoDataFrame(geometry=[geometry, area.outline], crs="EPSG:4326")
    metric = frame.to_crs(metric_crs_for(frame)).geometry.to_numpy()
    outside = shapely.difference(metric[0], shapely.buffer(metric[1], EDGE_TOLERANCE_M))
    if outside.is_empty or (outside.area <= 1.0 and shapely.get_dimensions(metric[0]) == 2):
        return None
    into = ""
    if communities is not None and len(communities):
        back = gpd.GeoSeries([outside], crs=metric_crs_for(frame)).to_crs("EPSG:4326").iloc[0]
        hit = communities[communities.geometry.intersects(back)]
        names = [f"{c.get('code', i)} {c.get('name', '')}".strip() for i, c in hit.iterrows()]
        into = f" into community {', '.join(names)}" if names else " outside every community"
    size = f"{outside.area:,.0f} m²" if outside.area > 0 else "part of it"
    return f"the new geometry reaches {size}{into}, outside {area.label or 'your area'}"


def visible_frame(
    layer: str, frame: pd.DataFrame, role: str, area: Area | None = None
) -> pd.DataFrame | gpd.GeoDataFrame:
    """The rows and values of ``frame`` (a whole layer) that ``role`` may read.

    Grid staff pass their ``area``; they read shared layers whole and other layers within
    their area, unmasked. Planners read everything with personal data masked (names too,
    except the names of office holders in ``assignments``); street and community admins read
    their area so too, and the rows inside it in full. Public: public layers only.
    """
    keep = visible_ids(layer, role, area)
    if keep is not None:
        return frame[frame.index.isin(keep)]
    if role == UserRole.ADMIN or role in GRID_STAFF:
        return frame
    masked = mask_personal(layer, frame, names=layer != "assignments")
    hidden = [c for c in SENSITIVE.get(layer, ()) if c in masked.columns]
    if hidden:
        masked = masked.copy() if masked is frame else masked
        masked[hidden] = None
    if role in AREA_ADMINS and area is not None and masked is not frame:  # their own rows in full
        inside = frame.index.isin(area.ids.get(layer, frozenset()))
        masked = masked.copy()
        masked.loc[inside] = frame.loc[inside]
    return masked


def masked_answer(answer: dict[str, Any], role: str, area: Area | None = None) -> dict[str, Any]:
    """A ``/who`` answer (:meth:`gridmap.responsibility.Responsibility.at`) as ``role`` may
    read it, masked in place: admins read all; a grid leader reads their own area's people in
    full; planners read names; others family names only. Phone numbers and member links are
    masked for all but admins and the area's grid leader; a building's household figures are
    for the readers of buildings (admins, planners, the building's grid leader)."""
    if role == UserRole.ADMIN:
        return answer
    readers = (UserRole.PLANNER, *AREA_ADMINS)  # they read every layer, masked outside their area
    for person in people_in(answer):
        if area is not None and area.allows(person["target_layer"], person["target_id"]):
            continue
        person["phone"] = mask_phone(person["phone"])
        person["member_id"] = None
        if role not in readers:
            person["person_name"] = mask_name(person["person_name"])
    building = answer.get("building")
    if role not in readers and building and (area is None or not area.allows("buildings", building["id"])):
        for key in ("households", "residents"):
            building.pop(key, None)
    return answer
