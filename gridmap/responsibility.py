"""Who is responsible here: the areas a point lies in and the people and party organisations
in charge of them on a given day.

An assignment is in force on day ``at`` when ``valid_from <= at`` and it has no ``valid_to``
or ``at < valid_to`` (the day a successor starts ends the term). :class:`Responsibility` is
built once from layers held in memory (frames indexed by feature id, geometry in EPSG:4326)
and answers a lookup in well under a millisecond.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap.errors import InputError
from gridmap.model import OrgKind, Role
from gridmap.values import json_value as plain

#: the layers a lookup reads
LAYERS = (
    "districts",
    "streets",
    "communities",
    "grids",
    "compounds",
    "buildings",
    "party_orgs",
    "assignments",
)

_UNIT_COLUMNS = {
    "districts": ("code", "name"),
    "streets": ("code", "name"),
    "communities": ("code", "name"),
    "grids": ("code", "name", "level", "kind"),
    "compounds": ("name", "kind", "property_company", "branch_id"),
    "buildings": ("name", "levels", "households", "residents", "party_group_id"),
    "party_orgs": ("name", "kind", "joint"),
}
_NO_END = np.datetime64("9999-12-31", "D")


def _units(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    if frame is None or len(frame) == 0:
        return {}
    present = [c for c in columns if c in frame.columns]
    values = {c: frame[c].tolist() for c in present}
    out = {}
    for i, fid in enumerate(frame.index.astype(int)):
        out[fid] = {"id": fid, **{c: plain(values[c][i]) for c in present}}
    return out


class Responsibility:
    """Point lookups of areas, organisations and people in charge, over fixed layers."""

    def __init__(self, layers: Mapping[str, pd.DataFrame]) -> None:
        self._trees: dict[str, tuple[shapely.STRtree, np.ndarray]] = {}
        self._units: dict[str, dict[int, dict[str, Any]]] = {}
        for name, columns in _UNIT_COLUMNS.items():
            frame = layers.get(name)
            self._units[name] = _units(frame, columns)
            if frame is not None and len(frame) and "geometry" in frame:
                geoms = np.asarray(frame.geometry.values)
                self._trees[name] = (shapely.STRtree(geoms), frame.index.to_numpy(dtype=int))
        grids = self._units["grids"]
        self._grid_order = {g: (plain(u.get("level")) or 0, u.get("code") or "") for g, u in grids.items()}
        orgs = layers.get("party_orgs")
        self._committee: dict[int, int] = {}
        if orgs is not None and len(orgs):
            committees = orgs[(orgs["kind"] == OrgKind.COMMUNITY_COMMITTEE) & orgs["building_id"].isna()]
            for oid, community in zip(committees.index, committees["community_id"], strict=True):
                if plain(community) is not None:
                    self._committee.setdefault(int(community), int(oid))
        self._people: dict[tuple[str, int], list[tuple[np.datetime64, np.datetime64, dict[str, Any]]]] = (
            defaultdict(list)
        )
        a = layers.get("assignments")
        if a is not None and len(a):
            start = pd.to_datetime(a["valid_from"]).to_numpy(dtype="datetime64[D]")
            end = pd.to_datetime(a["valid_to"]).to_numpy(dtype="datetime64[D]")
            end = np.where(np.isnat(end), _NO_END, end)
            records = a.assign(assignment_id=a.index).to_dict("records")
            for s, e, r in zip(start, end, records, strict=True):
                person = {
                    "assignment_id": int(r["assignment_id"]),
                    "role": r["role"],
                    "person_name": plain(r["person_name"]),
                    "phone": plain(r.get("phone")),
                    "member_id": plain(r.get("member_id")),
                    "valid_from": plain(r["valid_from"]),
                    "valid_to": plain(r.get("valid_to")),
                    "target_layer": r["target_layer"],
                    "target_id": int(r["target_id"]),
                }
                self._people[(r["target_layer"], int(r["target_id"]))].append((s, e, person))

    def _hits(self, layer: str, point: shapely.Point) -> list[int]:
        if layer not in self._trees:
            return []
        tree, ids = self._trees[layer]
        return [int(i) for i in ids[np.sort(tree.query(point, predicate="intersects"))]]

    def _persons(self, layer: str, target: int, day: np.datetime64, *roles: Role) -> list[dict[str, Any]]:
        return [
            dict(p)
            for s, e, p in self._people.get((layer, target), ())
            if s <= day < e and p["role"] in roles
        ]

    def _org(self, org_id: Any, day: np.datetime64) -> dict[str, Any] | None:
        if org_id is None or int(org_id) not in self._units["party_orgs"]:
            return None
        out = dict(self._units["party_orgs"][int(org_id)])
        out["secretaries"] = self._persons("party_orgs", int(org_id), day, Role.BRANCH_SECRETARY)
        return out

    def _unit(self, layer: str, point: shapely.Point) -> dict[str, Any] | None:
        hits = self._hits(layer, point)
        return dict(self._units[layer][hits[0]]) if hits else None

    def at(self, lon: float, lat: float, day: dt.date | None = None) -> dict[str, Any]:
        """Community, grids (with codes), compound, building, branch, building party group and
        the people in charge (grid leaders and workers, building and lane leaders,
        secretaries) at (``lon``, ``lat``) in EPSG:4326 on ``day`` (default today)."""
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError(f"lon {lon}, lat {lat} is not a WGS 84 coordinate (lon -180…180, lat -90…90)")
        day = day or dt.date.today()
        when = np.datetime64(day, "D")
        point = shapely.Point(lon, lat)
        out: dict[str, Any] = {"lon": lon, "lat": lat, "at": day.isoformat()}
        for layer, key in (("districts", "district"), ("streets", "street"), ("communities", "community")):
            out[key] = self._unit(layer, point)
        if out["community"] is not None:
            out["community"]["party_org"] = self._org(self._committee.get(out["community"]["id"]), when)
        out["grids"] = []
        for gid in sorted(self._hits("grids", point), key=self._grid_order.__getitem__):
            entry = dict(self._units["grids"][gid])
            entry["leaders"] = self._persons("grids", gid, when, Role.GRID_LEADER)
            entry["workers"] = self._persons("grids", gid, when, Role.GRID_WORKER)
            out["grids"].append(entry)
        out["compound"] = compound = self._unit("compounds", point)
        if compound is not None:
            compound["branch"] = self._org(compound.pop("branch_id", None), when)
            compound["lane_leaders"] = self._persons("compounds", compound["id"], when, Role.LANE_LEADER)
        out["building"] = building = self._unit("buildings", point)
        if building is not None:
            building["party_group"] = self._org(building.pop("party_group_id", None), when)
            building["leaders"] = self._persons("buildings", building["id"], when, Role.BUILDING_LEADER)
        return out


def people_in(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every person entry of a :meth:`Responsibility.at` answer (to mask them in place)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "person_name" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(answer)
    return found
