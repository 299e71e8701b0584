"""Integrity checks of the grid map: is every part of every community in exactly one grid,
every grid in one community, every building in one grid, every code well formed?

:func:`check_grid_map` takes the layers as GeoDataFrames (any CRS) and returns the findings,
one row each: ``kind``, ``severity`` (error or warning), ``layer``, ``feature_ids``,
``codes``, ``message``, ``area_m2`` and a ``geometry`` (EPSG:4326) to show on a map — the
overlap, the hole, the part outside the community, the building. Areas are measured in the
UTM zone of the data; pieces smaller than the sliver tolerance are not reported.

Grids are compared within their network: the same ``kind`` and ``level``. Holes, buildings
outside grids and buildings split across grids are checked against each network. Each grid
kind is judged by its rules in the organisation catalogue: whether it may span communities
(大网格, 警务网格) and which code standard it follows (DB11, CJ/T 349-2010, the district's own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.crs import STORAGE_CRS, CRSLike, densified_to, metric_crs_for
from gridmap.errors import InputError
from gridmap.geometry import containing_ids
from gridmap.gridcode import parse_grid_code
from gridmap.households import LARGEST_HOME_FOOTPRINT_M2, counted_twice, doubtful_estimates, estimated_mask
from gridmap.orgcatalogue import org_catalogue
from gridmap.settings import Settings

ERROR, WARNING = "error", "warning"
Finding = dict[str, Any]  # one row of findings: FINDING_COLUMNS and a geometry
FINDING_COLUMNS = ["kind", "severity", "layer", "feature_ids", "codes", "message", "area_m2"]
CHECKED_LAYERS = ("districts", "streets", "communities", "grids", "compounds", "buildings")
_TILING_LAYERS = ("districts", "streets", "communities", "grids")  # polygons that must tile exactly

#: Finding kinds, their severity and what they mean.
KINDS = {
    "invalid_geometry": (ERROR, "a geometry is not valid"),
    "grid_overlap": (ERROR, "grids of the same network overlap"),
    "grid_hole": (ERROR, "part of a community lies in no grid"),
    "grid_crosses_community": (ERROR, "a grid reaches outside its community"),
    "grid_code_malformed": (ERROR, "a grid code breaks its kind's standard"),
    "grid_code_duplicate": (ERROR, "two grids share a code"),
    "building_outside_grids": (WARNING, "a building lies in no grid"),
    "building_split_across_grids": (WARNING, "a building lies in several grids"),
    "compound_split_across_communities": (WARNING, "a compound lies in several communities"),
    "grid_households_out_of_range": (WARNING, "a grid's households are outside the target range"),
    "building_homes_doubtful": (WARNING, "a building's homes are estimated from too large a footprint"),
    "compound_counted_twice": (
        WARNING,
        "a ledger's marker holds a compound's count beside its drawn buildings",
    ),
}


@dataclass(frozen=True)
class Tolerances:
    """What the checks overlook. Square metres and households."""

    sliver_m2: float = 1.0  # overlaps, holes and parts smaller than this are not findings
    sliver_width_m: float = 0.1  # nor those thinner than this on average (seams along an edge)
    households_min: int = 300
    households_max: int = 500

    @classmethod
    def from_settings(cls, settings: Settings) -> Tolerances:
        """The tolerances a :class:`gridmap.settings.Settings` names."""
        return cls(
            sliver_m2=settings.sliver_m2,
            sliver_width_m=settings.sliver_width_m,
            households_min=settings.grid_households_min,
            households_max=settings.grid_households_max,
        )


def _finding(
    kind: str,
    layer: str,
    ids: Iterable[Any],
    codes: Iterable[Any],
    message: str,
    area: float,
    geom: shapely.Geometry | None,
) -> Finding:
    return {
        "kind": kind,
        "severity": KINDS[kind][0],
        "layer": layer,
        "feature_ids": ",".join(str(int(i)) for i in ids),
        "codes": ",".join(str(c) for c in codes if c not in (None, "") and not pd.isna(c)),
        "message": message,
        "area_m2": round(float(area), 1),
        "geometry": geom,
    }


def _codes(frame: gpd.GeoDataFrame, ids: Iterable[Any]) -> list[Any]:
    if "code" not in frame.columns:
        return []
    return [frame.at[i, "code"] for i in ids]


def _invalid(layers: Mapping[str, gpd.GeoDataFrame]) -> list[Finding]:
    out = []
    for name in CHECKED_LAYERS:
        frame = layers.get(name)
        if frame is None or len(frame) == 0:
            continue
        geoms = frame.to_crs(STORAGE_CRS).geometry.values
        bad = np.flatnonzero(~shapely.is_valid(geoms))
        for k in bad:
            fid = frame.index[k]
            reason = shapely.is_valid_reason(geoms[k])
            out.append(_finding("invalid_geometry", name, [fid], _codes(frame, [fid]), f"{name} {fid}: {reason}", 0.0,
                                geoms[k]))  # fmt: skip
    return out


def _doubtful_homes(buildings: gpd.GeoDataFrame | None) -> list[Finding]:
    """Buildings (EPSG:4326) whose households are estimated from a footprint larger than a
    building of homes usually has (:func:`gridmap.households.doubtful_estimates`)."""
    if buildings is None or not len(buildings):
        return []
    doubtful = doubtful_estimates(buildings)
    out = []
    for fid, row in doubtful.iterrows():
        name = f" {row['name']}" if pd.notna(row.get("name")) and row.get("name") else ""
        out.append(_finding("building_homes_doubtful", "buildings", [fid], [],
                            f"building {fid}{name}: {int(row['households']):,} households estimated from a "
                            f"footprint of {row['footprint_m2']:,.0f} m², larger than a building of homes usually "
                            f"has ({LARGEST_HOME_FOOTPRINT_M2:,.0f} m²): an estate, a mall or a block drawn as one "
                            "outline? Give its households (`gridmap households ledger`) or correct its use",
                            row["footprint_m2"], row.geometry))  # fmt: skip
    return out


def _counted_twice(buildings: gpd.GeoDataFrame | None) -> list[Finding]:
    """Compounds whose ledger count a marker holds beside drawn buildings of homes
    (``buildings`` in EPSG:4326; :func:`gridmap.households.counted_twice`)."""
    if buildings is None or not len(buildings):
        return []
    out = []
    for fid, row in counted_twice(buildings).iterrows():
        out.append(_finding("compound_counted_twice", "buildings", [fid], [],
                            f"building {fid} {row.get('name') or ''} holds a ledger's {int(row['households']):,} "
                            f"households of compound {int(row['compound_id'])} beside {int(row['beside'])} drawn "
                            f"building(s) of {int(row['beside_households']):,}: counted twice until the ledger is "
                            "run again (`gridmap households ledger FILE --by compound`)", 0.0, row.geometry))  # fmt: skip
    return out


def _kind_rules(grids: pd.DataFrame) -> pd.Series:
    """The catalogue's rules for each grid's kind (a grid without a kind, or of a kind the
    catalogue no longer holds, is judged as a party grid)."""
    catalogue = org_catalogue()
    kinds = grids["kind"] if "kind" in grids.columns else pd.Series(None, index=grids.index, dtype=object)
    return kinds.map(lambda k: catalogue.grid_kinds.get(k) if isinstance(k, str) else None).map(
        lambda rule: rule or catalogue.grid_kind(None)
    )


def _networks(grids: gpd.GeoDataFrame) -> list[tuple[str, gpd.GeoDataFrame]]:
    """Grids grouped by (kind, level): each group is one network."""
    kind = grids["kind"].fillna("") if "kind" in grids.columns else pd.Series("", index=grids.index)
    level = grids["level"].fillna(0) if "level" in grids.columns else pd.Series(0, index=grids.index)
    out = []
    for (k, lv), part in grids.groupby([kind, level], sort=True):
        label = f"{k or 'grids'} level {int(lv)}" if lv else (k or "grids")
        out.append((label, part))
    return out


def _real_area(geom: shapely.Geometry, tol: Tolerances) -> float:
    """Square metres of ``geom`` in parts that are neither small nor thin seams (mean width
    2·area/perimeter below the width tolerance)."""
    parts = _pieces(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    area, length = shapely.area(parts), shapely.length(parts)
    real = (area > tol.sliver_m2) & (2 * area > tol.sliver_width_m * np.maximum(length, 1e-9))
    return float(area[real].sum())


def _overlaps(net: str, grids: gpd.GeoDataFrame, tol: Tolerances) -> list[Finding]:
    geoms = grids.geometry.values
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    out = []
    for i, j in zip(a[keep], b[keep], strict=True):
        piece = shapely.intersection(geoms[i], geoms[j])
        area = _real_area(piece, tol)
        if area > 0:
            ids = [grids.index[i], grids.index[j]]
            codes = _codes(grids, ids)
            out.append(_finding("grid_overlap", "grids", ids, codes,
                                f"grids {' and '.join(map(str, codes or ids))} ({net}) overlap by {area:,.0f} m²",
                                area, piece))  # fmt: skip
    return out


def _pieces(geom: shapely.Geometry) -> np.ndarray:
    return (
        shapely.get_parts(geom)
        if geom is not None and not shapely.is_empty(geom)
        else np.zeros(0, dtype=object)
    )


def _holes(
    net: str, grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, tol: Tolerances
) -> list[Finding]:
    out = []
    covered = shapely.union_all(grids.geometry.values)
    shapes = communities.geometry.values
    uncovered = shapely.difference(shapes, covered)
    # that network's communities: those it covers more than a sliver of (what is covered is
    # the community less what is not, one overlay fewer than intersecting them)
    touched = shapely.area(shapes) - shapely.area(uncovered) > tol.sliver_m2
    for cid, rest in zip(communities.index[touched], uncovered[touched], strict=True):
        for piece in _pieces(rest):
            area = _real_area(piece, tol)
            if area > 0:
                out.append(_finding("grid_hole", "communities", [cid], _codes(communities, [cid]),
                                    f"{area:,.0f} m² of community {cid} lies in no grid ({net})", area, piece))  # fmt: skip
    return out


def _outside_community(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, tol: Tolerances
) -> list[Finding]:
    out = []
    own = grids["community_id"] if "community_id" in grids.columns else pd.Series(pd.NA, index=grids.index)
    spans = _kind_rules(grids).map(lambda rule: rule.spans_communities)
    for gid, geom, cid in zip(grids.index, grids.geometry.values, own, strict=True):
        if spans[gid]:
            continue  # its kind may span communities (大网格, 警务网格)
        if pd.isna(cid) or cid not in communities.index:
            # the community holding most of the grid
            shares = communities.geometry.intersection(geom).area
            if len(shares) == 0 or shares.max() <= 0:
                continue
            cid = shares.idxmax()
        outside = shapely.difference(geom, communities.geometry.loc[cid])
        area = _real_area(outside, tol)
        if area > 0:
            out.append(_finding("grid_crosses_community", "grids", [gid], _codes(grids, [gid]),
                                f"grid {grids.at[gid, 'code'] if 'code' in grids.columns else gid} reaches "
                                f"{area:,.0f} m² outside community {cid}", area, outside))  # fmt: skip
    return out


def _codes_check(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None) -> list[Finding]:
    if "code" not in grids.columns:
        return []
    out = []
    codes = grids["code"].astype(str)
    prefix = (
        communities["code"].astype(str) if communities is not None and "code" in communities.columns else None
    )
    rules = _kind_rules(grids)
    own = grids["community_id"] if "community_id" in grids.columns else pd.Series(pd.NA, index=grids.index)
    for gid, code, geom, cid in zip(grids.index, codes, grids.geometry.values, own, strict=True):
        rule = rules[gid]
        community = prefix[cid] if prefix is not None and not pd.isna(cid) and cid in prefix.index else None
        message = rule.code.problem(code, community)
        if message is None and rule.code.id == "db11" and parse_grid_code(code) is None:
            message = f"grid code '{code}' has a street, community or sequence of 000 (DB11)"
        if message:
            message = f"{message} ({rule.id} grid)"
            out.append(_finding("grid_code_malformed", "grids", [gid], [code], message, 0.0, geom))
    for code, part in grids[codes.duplicated(keep=False)].groupby(codes):
        geom = shapely.union_all(part.geometry.values)
        out.append(_finding("grid_code_duplicate", "grids", list(part.index), [code],
                            f"{len(part)} grids share the code {code}", 0.0, geom))  # fmt: skip
    return out


def _overlapping(parts: np.ndarray, wholes: np.ndarray, min_area: float) -> tuple[np.ndarray, np.ndarray]:
    """(part index, whole index) of the pairs sharing more than ``min_area`` square metres."""
    pi, wi = shapely.STRtree(wholes).query(parts, predicate="intersects")
    real = shapely.area(shapely.intersection(parts[pi], wholes[wi])) > min_area
    return pi[real], wi[real]


def _buildings(
    net: str, grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, tol: Tolerances
) -> list[Finding]:
    out = []
    b = buildings.geometry.values
    bi, gi = _overlapping(b, grids.geometry.values, tol.sliver_m2)
    count = np.bincount(bi, minlength=len(b))
    for k in np.flatnonzero(count == 0):
        fid = buildings.index[k]
        out.append(_finding("building_outside_grids", "buildings", [fid], [],
                            f"building {fid} lies in no grid ({net})", shapely.area(b[k]), b[k]))  # fmt: skip
    for k in np.flatnonzero(count > 1):
        fid = buildings.index[k]
        ids = grids.index[gi[bi == k]]
        codes = _codes(grids, ids)
        out.append(_finding("building_split_across_grids", "buildings", [fid], codes,
                            f"building {fid} lies in {len(ids)} grids: {', '.join(map(str, codes or ids))} ({net})",
                            shapely.area(b[k]), b[k]))  # fmt: skip
    return out


def _compounds(compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, tol: Tolerances) -> list[Finding]:
    out = []
    c = compounds.geometry.values
    ci, mi = _overlapping(c, communities.geometry.values, tol.sliver_m2)
    for k in np.flatnonzero(np.bincount(ci, minlength=len(c)) > 1):
        fid = compounds.index[k]
        ids = communities.index[mi[ci == k]]
        name = compounds.at[fid, "name"] if "name" in compounds.columns else ""
        out.append(_finding("compound_split_across_communities", "compounds", [fid], _codes(communities, ids),
                            f"compound {fid} {name or ''} lies in {len(ids)} communities", shapely.area(c[k]), c[k]))  # fmt: skip
    return out


def _households(
    grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, tol: Tolerances
) -> list[Finding]:
    """Grids whose households fall outside the target range: counted from the buildings
    whose point lies in the grid where buildings hold households, else the grid's own field."""
    own = pd.to_numeric(grids["households"], errors="coerce") if "households" in grids.columns else None
    counted = estimated = None
    if buildings is not None and "households" in buildings.columns and len(grids):
        homes = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
        if homes.sum() > 0:
            inside = containing_ids(buildings.representative_point(), grids.assign(id=grids.index))
            counted = homes.groupby(inside).sum().reindex(grids.index, fill_value=0)
            guessed = estimated_mask(buildings)
            estimated = homes[guessed].groupby(inside[guessed]).sum().reindex(grids.index, fill_value=0)
    hh = counted if counted is not None else own
    if hh is None:
        return []
    out = []
    bad = hh.notna() & ((hh < tol.households_min) | (hh > tol.households_max))
    for gid in grids.index[bad.to_numpy()]:
        n = int(hh[gid])
        code = grids.at[gid, "code"] if "code" in grids.columns else gid
        if counted is not None and estimated is not None:
            share = f"{100 * estimated[gid] / n:.0f} % estimated" if n else "none"
            differs = own is not None and pd.notna(own[gid]) and int(own[gid]) != n
            field = f"; its households field says {int(own[gid])}" if differs and own is not None else ""
            said = f"grid {code}: {n:,} households in its buildings ({share}){field}"
        else:
            said = f"grid {code}: {n:,} households (its own field; no building holds any)"
        out.append(_finding("grid_households_out_of_range", "grids", [gid], _codes(grids, [gid]),
                            f"{said}; target {tol.households_min}–{tol.households_max}",
                            0.0, grids.geometry.loc[gid]))  # fmt: skip
    return out


def check_grid_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    tolerances: Tolerances | None = None,
    near: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Every integrity finding of the grid map, errors first. Layers are indexed by feature id,
    in any CRS (EPSG:4326 with ``near``); the findings' geometry is in EPSG:4326. With
    ``near`` (EPSG:4326), the findings that touch it — the same as those of the whole map that
    do — from the features within reach of it only (see :func:`_within_reach`), as an edit's
    check needs them."""
    if near is not None:
        found = check_grid_map(_within_reach(layers, near), tolerances)
        if "grids" in layers and len(layers["grids"]):  # a code may repeat a grid's far away
            codes = _codes_check(layers["grids"], layers.get("communities"))
            found = pd.concat([found[found["kind"] != "grid_code_duplicate"],
                               _frame([f for f in codes if f["kind"] == "grid_code_duplicate"], layers["grids"].crs)
                               .to_crs(STORAGE_CRS)], ignore_index=True)  # fmt: skip
        return _ordered(gpd.GeoDataFrame(found[found.geometry.intersects(near)], crs=STORAGE_CRS))
    tol = tolerances or Tolerances()
    buildings = layers.get("buildings")
    if buildings is not None:
        buildings = buildings.to_crs(STORAGE_CRS)  # the findings' shapes, as stored
    invalid = _frame(_invalid(layers) + _doubtful_homes(buildings) + _counted_twice(buildings), STORAGE_CRS)
    rows: list[Finding] = []
    grids = layers.get("grids")
    if grids is not None and len(grids):
        metric = metric_crs_for(grids)
        valid = {
            name: (densified_to if name in _TILING_LAYERS else gpd.GeoDataFrame.to_crs)(
                frame[shapely.is_valid(frame.geometry.values)], metric
            )
            for name in CHECKED_LAYERS
            if (frame := layers.get(name)) is not None and len(frame)
        }
        g = valid.get("grids", grids.iloc[:0].to_crs(metric))
        communities = valid.get("communities")
        for net, part in _networks(g):
            rows += _overlaps(net, part, tol)
            if communities is not None:
                rows += _holes(net, part, communities, tol)
            if "buildings" in valid:
                rows += _buildings(net, part, valid["buildings"], tol)
            rows += _households(part, valid.get("buildings"), tol)
        if communities is not None:
            rows += _outside_community(g, communities, tol)
            if "compounds" in valid:
                rows += _compounds(valid["compounds"], communities, tol)
        rows += _codes_check(g, layers.get("communities"))
        found = _frame(rows, metric).to_crs(STORAGE_CRS)
        invalid = gpd.GeoDataFrame(pd.concat([invalid, found], ignore_index=True), crs=STORAGE_CRS)
    return _ordered(invalid)


def _within_reach(
    layers: Mapping[str, gpd.GeoDataFrame], near: shapely.Geometry
) -> dict[str, gpd.GeoDataFrame]:
    """The features of ``layers`` (EPSG:4326) that a finding touching ``near`` can involve:
    those inside the reach of ``near`` — itself, the communities, grids, compounds and
    buildings it touches, each whole — so that each community there keeps all its grids and
    each grid all its buildings."""
    parts = [near]
    for name in ("communities", "grids", "compounds", "buildings"):
        frame = layers.get(name)
        if frame is not None and len(frame):
            parts.extend(frame.geometry.values[frame.geometry.intersects(near).to_numpy()])
    reach = shapely.union_all(shapely.make_valid(np.asarray(parts, dtype=object)))
    return {name: frame[frame.geometry.intersects(reach)] for name, frame in layers.items()}


def _frame(rows: list[Finding], crs: CRSLike) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, columns=[*FINDING_COLUMNS, "geometry"], geometry="geometry", crs=crs)


def _ordered(findings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Errors before warnings, then by kind in the order of :data:`KINDS`."""
    rank = {k: i for i, k in enumerate(KINDS)}
    key = findings["severity"].map({ERROR: 0, WARNING: 1}) * 100 + findings["kind"].map(rank)
    return findings.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


# --- multi-grid alignment (多网合一) ------------------------------------------------------------


@dataclass
class Alignment:
    """How two grid networks line up. Metres and square metres."""

    kind_a: str
    kind_b: str
    boundary_a_m: float  # inner boundary length of network a
    boundary_b_m: float
    shared_m: float  # length of a's inner boundary that b's boundaries follow (within the tolerance)
    grids: pd.DataFrame  # per grid of either network: its best match in the other, share of its area
    split_buildings: gpd.GeoDataFrame  # buildings in one grid of one network but several of the other

    @property
    def shared_share_a(self) -> float:
        return self.shared_m / self.boundary_a_m if self.boundary_a_m else 1.0

    @property
    def shared_share_b(self) -> float:
        return self.shared_m / self.boundary_b_m if self.boundary_b_m else 1.0


def _inner_boundary(grids: gpd.GeoDataFrame) -> shapely.Geometry:
    """Grid borders inside the network: every grid outline, less the network's outline."""
    lines = shapely.union_all(shapely.boundary(grids.geometry.values))
    return shapely.difference(lines, shapely.boundary(shapely.union_all(grids.geometry.values)).buffer(0.01))


#: the widest gap (m) within which two grid borders count as one
MAX_TOLERANCE_M = 1000.0


def grid_alignment(
    grids: gpd.GeoDataFrame,
    kind_a: str,
    kind_b: str,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = 5.0,
    nested_share: float = 0.95,
) -> Alignment:
    """Compare the grids of ``kind_a`` and ``kind_b`` (any CRS): how much of their inner
    boundaries coincide (within ``tolerance_m``), which grid of one lies in which of the other
    (``nested`` when at least ``nested_share`` of its area does), and which buildings one
    network keeps whole but the other splits."""
    if not 0 <= tolerance_m <= MAX_TOLERANCE_M:  # NaN too
        raise InputError(f"a tolerance of {tolerance_m:g} m: expected 0 to {MAX_TOLERANCE_M:g} metres")
    kinds = grids["kind"].fillna("") if "kind" in grids.columns else pd.Series("", index=grids.index)
    metric = metric_crs_for(grids)
    a = grids[kinds == kind_a].to_crs(metric)
    b = grids[kinds == kind_b].to_crs(metric)
    for kind, part in ((kind_a, a), (kind_b, b)):
        if part.empty:
            raise InputError(
                f"there are no grids of kind '{kind}'; kinds present: {', '.join(sorted(set(kinds)))}"
            )
    inner_a, inner_b = _inner_boundary(a), _inner_boundary(b)
    shared = shapely.length(shapely.intersection(inner_a, shapely.buffer(inner_b, tolerance_m)))
    rows = []
    for mine, other, name in ((a, b, kind_a), (b, a, kind_b)):
        oi, mi = shapely.STRtree(mine.geometry.values).query(other.geometry.values, predicate="intersects")
        area = shapely.area(shapely.intersection(mine.geometry.values[mi], other.geometry.values[oi]))
        pairs = pd.DataFrame({"grid": mine.index[mi], "other": other.index[oi], "area": area})
        best = pairs.sort_values("area", ascending=False).drop_duplicates("grid").set_index("grid")
        own_area = mine.geometry.area
        for gid in mine.index:
            match = best["other"].get(gid)
            share = float(best["area"].get(gid, 0.0) / own_area[gid]) if own_area[gid] else 0.0
            rows.append({"kind": name, "grid_id": gid, "code": mine.at[gid, "code"] if "code" in mine.columns else "",
                         "best_match_id": match, "best_match_code": other.at[match, "code"]
                         if match is not None and "code" in other.columns else "",
                         "share_in_match": round(share, 4), "nested": share >= nested_share})  # fmt: skip
    split = gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
    if buildings is not None and len(buildings):
        bm = buildings.to_crs(metric)
        counts = {}
        for key, net in (("a", a), ("b", b)):
            bi, _ = _overlapping(bm.geometry.values, net.geometry.values, 0.5)
            counts[key] = np.bincount(bi, minlength=len(bm))
        odd = ((counts["a"] == 1) & (counts["b"] > 1)) | ((counts["b"] == 1) & (counts["a"] > 1))
        split = buildings[odd].to_crs(STORAGE_CRS).assign(grids_a=counts["a"][odd], grids_b=counts["b"][odd])
    return Alignment(
        kind_a=kind_a,
        kind_b=kind_b,
        boundary_a_m=round(float(shapely.length(inner_a)), 1),
        boundary_b_m=round(float(shapely.length(inner_b)), 1),
        shared_m=round(float(shared), 1),
        grids=pd.DataFrame(rows),
        split_buildings=split,
    )
