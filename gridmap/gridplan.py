"""Drawing work grids: a community cut into contiguous grids of balanced households, with
codes that stay stable when grids are redrawn.

**Units.** The part of the community to draw is cut along its streets into blocks. Inside a
block, every *atom* — a compound, the buildings outside compounds, or those of a compound
that alone holds more than the maximum (one atom per block while they stay under it, else one
per building) — gets the part of the block nearest to it (Voronoi of its buildings and of its
compound's outline). A compound's parts in several blocks form one unit, so a compound is
split only when it alone exceeds the maximum. Blocks without homes join the neighbour they
share the longest border with.

**Regions.** spopt's AZP (automatic zoning procedure) groups the units into contiguous grids.
Its objective here: households of each grid close to the middle of the target range, with a
steep penalty outside it, plus the length of borders that do not run along a street.

**Redraws and codes.** Existing grids whose households are within the range, and that share no
compound with another grid, are kept as they are, codes and all; only the rest of the
community is redrawn, together with kept neighbours of a piece too small for a grid or (for a
few rounds) of a drawn grid still out of range. A redrawn grid that is still the old one
keeps its code ("reshaped"). Codes are DB11 (community code + 3-digit sequence): a first drawing
numbers grids west → east, then north → south; later new grids take the next free numbers
(never a retired one), and each carries a lineage record of the grids it came from (split,
merged, redrawn).

Inputs are in EPSG:4326; work happens in a metric CRS picked for the community (outlines
densified first, so that they are the stored lines); drawn grids are fitted to the stored
community and kept grids again in degrees, so that they tile it as stored. Outputs are in
EPSG:4326 with lengths in metres and areas in square metres.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.sparse import csgraph

from gridmap.crs import CRSLike, densified_to, metric_crs_for
from gridmap.errors import InputError
from gridmap.geometry import containing, points_in
from gridmap.gridcode import grid_code, parse_grid_code, reading_order
from gridmap.households import doubtful_mask
from gridmap.model import layer_spec
from gridmap.orgcatalogue import org_catalogue

#: OSM ``highway`` values whose lines make good grid borders (streets, not paths in a compound).
STREET_HIGHWAYS: tuple[str, ...] = (
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "pedestrian",
)  # fmt: skip

#: a grid's status in a plan: unchanged; same code with a redrawn outline; a new code
KEPT, RESHAPED, NEW = "kept", "reshaped", "new"
REDRAWN = "redrawn"  # lineage: one old grid became one new grid of another code
_OUTLINE_STEP_M = 15.0  # spacing of seed points along a compound's outline
_PRECISION_M = 0.01  # coordinates snap to this grid so that shared edges merge exactly
_TOUCH_M = 0.05  # how far apart two unit edges may lie and still count as shared
_BORDER_WEIGHT = 1.0  # objective cost of a non-street border as long as the area's side
_OUT_OF_RANGE_WEIGHT = 25.0  # how much steeper the cost is outside the target range
_SAME_SHARE = 0.9  # a redrawn grid keeps its code when it is this much the old one
_WIDEN_ROUNDS = 2  # times kept grids next to an out-of-range grid are drawn again
_SEEDS = 4  # AZP runs from different random starts; the best is kept


@dataclass(frozen=True)
class GridPlan:
    """A proposed drawing of one community's grids.

    ``grids`` (EPSG:4326): code, status (kept | reshaped | new), households, buildings,
    area_m2, parts (polygons; 1 when contiguous), in_range, geometry.
    ``lineage``: old_code, new_code, relation (split | merged | redrawn | new), area_m2 and
    households the new grid took from the old one.
    """

    community_code: str
    households_range: tuple[int, int]
    grids: gpd.GeoDataFrame
    lineage: pd.DataFrame
    retired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    based_on: tuple[str, ...] = ()  # codes of the existing grids the plan was drawn from


class _BalanceObjective:
    """AZP objective: households per region near the range's middle, steeply penalised
    outside the range, plus the (normalised) length of non-street borders between regions.
    It answers as spopt's ``ObjectiveFunction`` does (a call and ``update``), without
    importing spopt where no grids are drawn."""

    def __init__(self, households: np.ndarray, border: sparse.csr_matrix, lo: int, hi: int) -> None:
        self.metric = None
        self.households = households
        self.border = border
        self.lo, self.hi = lo, hi
        self.mid, self.span = (lo + hi) / 2, max(hi - lo, 1)

    def _cost(self, h: np.ndarray | float) -> np.ndarray | float:
        value = np.asarray(h)
        excess = np.maximum(0, np.maximum(value - self.hi, self.lo - value)) / self.span
        cost: np.ndarray | float = ((value - self.mid) / self.span) ** 2 + _OUT_OF_RANGE_WEIGHT * (
            excess + excess**2
        )
        return cost

    def __call__(self, labels: ArrayLike, attr: Any) -> float:
        labels = np.asarray(labels)
        _, inverse = np.unique(labels, return_inverse=True)
        totals = np.bincount(inverse, weights=self.households)
        coo = self.border.tocoo()
        crossing = coo.data[labels[coo.row] != labels[coo.col]].sum() / 2
        return float(np.sum(self._cost(totals)) + crossing)

    def update(self, moving_area: int, recipient_region: int, labels: ArrayLike, attr: Any) -> float:
        labels = np.asarray(labels)
        donor = labels[moving_area]
        h = self.households[moving_area]
        h_donor = self.households[labels == donor].sum()
        h_recipient = self.households[labels == recipient_region].sum()
        before = self._cost(h_donor) + self._cost(h_recipient)
        after = self._cost(h_donor - h) + self._cost(h_recipient + h)
        row = self.border.getrow(moving_area)
        neighbours = labels[row.indices]
        border = row.data[neighbours == donor].sum() - row.data[neighbours == recipient_region].sum()
        return float(after - before + border)


def _street_lines(roads: gpd.GeoDataFrame | None, highways: tuple[str, ...], crs: CRSLike) -> np.ndarray:
    if roads is None or roads.empty:
        return np.array([], dtype=object)
    streets = roads[roads["highway"].isin(highways)] if "highway" in roads.columns else roads
    return np.asarray(streets.to_crs(crs).geometry.to_numpy())


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The valid polygonal part of ``geom`` (invalid rings repaired, stray lines dropped)."""
    parts = shapely.get_parts(shapely.make_valid(geom, method="structure", keep_collapsed=False))
    return shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])


def _blocks(area: shapely.Geometry, streets: np.ndarray) -> list[shapely.Geometry]:
    """``area`` cut along the street lines into polygons that tile it."""
    if len(streets) == 0:
        return list(shapely.get_parts(area))
    # whole street lines, not clipped ones: a clipped end may miss the boundary by a rounding
    # error and leave the street dangling; the union nodes them where they cross it
    noded = shapely.union_all(np.concatenate([[shapely.boundary(area)], streets]))
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    polys = shapely.set_precision(
        polys[shapely.contains(area, shapely.point_on_surface(polys))], _PRECISION_M
    )
    # whatever the lines did not enclose (rounding at the edge) still belongs to some block
    rest = shapely.get_parts(shapely.difference(area, shapely.union_all(polys)))
    return list(polys) + [p for p in rest if p.area > 1.0]


def _atoms(buildings: gpd.GeoDataFrame, block_of: np.ndarray, hi: int) -> np.ndarray:
    """Atom label per building: its compound, unless the compound alone exceeds ``hi``
    households. Buildings outside compounds, and those of such a large compound, are grouped
    per street block (one atom while the group stays within ``hi``, else one per building)."""
    compound = (
        buildings["compound_id"] if "compound_id" in buildings.columns else pd.Series(np.nan, buildings.index)
    )
    hh = buildings["households"]
    whole = compound.notna() & (hh.groupby(compound).transform("sum") <= hi)
    group = (
        np.where(compound.notna(), "c" + compound.astype("Int64").astype(str), "l")
        + "/"
        + block_of.astype(str)
    )
    loose_hh = hh.groupby(group).transform("sum").to_numpy()
    per_building = "b" + buildings["id"].astype(str).to_numpy()
    labels = np.where(
        whole, "c" + compound.astype("Int64").astype(str), np.where(loose_hh <= hi, group, per_building)
    )
    return np.asarray(labels, dtype=object)


def _seeds(
    block: shapely.Geometry, atom_of: np.ndarray, points: np.ndarray, outlines: dict[str, shapely.Geometry]
) -> tuple[np.ndarray, np.ndarray]:
    """Seed points in ``block`` and their atom labels: building points and compound outlines."""
    inside = shapely.contains(block, points)
    seeds, labels = list(points[inside]), list(atom_of[inside])
    for atom in set(atom_of[inside]):
        outline = outlines.get(atom)
        if outline is None:
            continue
        line = shapely.intersection(outline, block)
        for part in shapely.get_parts(line):
            if part.geom_type != "LineString" or part.length < _OUTLINE_STEP_M:
                continue
            along = shapely.line_interpolate_point(part, np.arange(0, part.length, _OUTLINE_STEP_M))
            seeds.extend(along)
            labels.extend([atom] * len(along))
    return np.array(seeds, dtype=object), np.array(labels, dtype=object)


def _split_block(
    block: shapely.Geometry, seeds: np.ndarray, labels: np.ndarray
) -> dict[str | None, shapely.Geometry]:
    """The parts of ``block`` nearest each atom's seeds (atom label → geometry)."""
    if len(set(labels)) <= 1:
        return {labels[0]: block} if len(labels) else {None: block}
    xy = shapely.get_coordinates(seeds)
    _, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    seeds, labels = seeds[first], labels[first]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.MultiPoint(list(seeds)), extend_to=block, ordered=True)
    )
    cells = shapely.intersection(cells, block, grid_size=_PRECISION_M)
    frame = gpd.GeoDataFrame({"atom": labels}, geometry=cells)
    return {
        atom: shapely.union_all(part.geometry.to_numpy(), grid_size=_PRECISION_M)
        for atom, part in frame.groupby("atom")
    }


def _units(
    area: shapely.Geometry,
    streets: np.ndarray,
    buildings: gpd.GeoDataFrame,
    points: np.ndarray,
    outlines: dict[str, shapely.Geometry],
    hi: int,
) -> gpd.GeoDataFrame:
    """Units tiling ``area``: one per atom (its parts in all blocks) and one per empty block;
    ``points`` are the buildings' representative points."""
    blocks = _blocks(area, streets)
    block_of = containing(points, np.array(blocks, dtype=object))  # blocks do not overlap
    atom_of = _atoms(buildings, block_of, hi)
    parts: dict[str, list[shapely.Geometry]] = {}
    empty = []
    for block in blocks:
        seeds, labels = _seeds(block, atom_of, points, outlines)
        for atom, geom in _split_block(block, seeds, labels).items():
            if atom is None:
                empty.append(geom)
            else:
                parts.setdefault(atom, []).append(geom)
    atoms = sorted(parts)
    hh = buildings.groupby(atom_of)["households"].sum()
    n_buildings = pd.Series(atom_of).value_counts()
    geoms = [shapely.union_all(parts[a], grid_size=_PRECISION_M) for a in atoms] + empty
    return gpd.GeoDataFrame(
        {
            "atom": atoms + [None] * len(empty),
            "households": [float(hh.get(a, 0)) for a in atoms] + [0.0] * len(empty),
            "buildings": [int(n_buildings.get(a, 0)) for a in atoms] + [0] * len(empty),
        },
        geometry=geoms,
        crs=buildings.crs,
    )


def _adjacency(
    units: gpd.GeoDataFrame, street_band: shapely.Geometry | None
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(shared border, of it off the streets) between units, in metres; both symmetric.
    ``street_band`` is the streets' narrow buffer (None without streets)."""
    geoms = units.geometry.to_numpy()
    n = len(geoms)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.buffer(geoms[right], _TOUCH_M))
    length = shapely.length(shared)
    touching = length > 2 * _TOUCH_M + 0.5
    left, right, shared, length = left[touching], right[touching], shared[touching], length[touching]
    if street_band is not None:
        off_street = shapely.length(shapely.difference(shared, street_band))
    else:
        off_street = length
    rows, cols = np.concatenate([left, right]), np.concatenate([right, left])
    total = sparse.csr_matrix((np.concatenate([length, length]), (rows, cols)), shape=(n, n))
    off = sparse.csr_matrix((np.concatenate([off_street, off_street]), (rows, cols)), shape=(n, n))
    return total, off


def _absorb_empty(units: gpd.GeoDataFrame, shared: sparse.csr_matrix) -> gpd.GeoDataFrame:
    """Units without homes joined to the neighbour (with homes, or already joined to one)
    they share the longest border with; those with no such neighbour stay alone."""
    target = np.where(units["buildings"].to_numpy() > 0, np.arange(len(units)), -1)
    changed = True
    while changed:
        changed = False
        for i in np.flatnonzero(target < 0):
            row = shared.getrow(i)
            joined = target[row.indices] >= 0
            if joined.any():
                target[i] = target[row.indices[joined][np.argmax(row.data[joined])]]
                changed = True
    target[target < 0] = np.flatnonzero(target < 0) + len(units)
    merged = units.assign(target=target).dissolve(
        "target", aggfunc={"atom": "first", "households": "sum", "buildings": "sum"}, grid_size=_PRECISION_M
    )
    return merged.reset_index(drop=True)


def _region_counts(hh: np.ndarray, lo: int, hi: int) -> list[int]:
    """How many grids to try for units of ``hh`` households, best first. A unit that alone
    holds more than the maximum is a grid of its own, whatever the rest; for the rest, the
    count whose mean is nearest the middle of the range, then its neighbours among the counts
    that can keep every grid within the range."""
    alone = int((hh > hi).sum())
    rest = hh[hh <= hi]
    if alone and rest.sum() <= 0:
        return [alone]
    return [alone + c for c in _counts_within(float(rest.sum()), lo, hi, int((rest > 0).sum()))]


def _counts_within(households: float, lo: int, hi: int, units_with_homes: int) -> list[int]:
    if households <= hi:
        return [1]
    fewest, most = math.ceil(households / hi), max(math.floor(households / lo), 1)
    if fewest > most:
        # no count keeps every grid in range: one grid more than the maximum allows, and one fewer
        return list(dict.fromkeys(max(1, min(c, units_with_homes)) for c in (fewest, fewest - 1)))
    best = min(max(round(households / ((lo + hi) / 2)), fewest), most)
    counts = [c for c in (best, best - 1, best + 1) if fewest <= c <= most and 1 <= c <= units_with_homes]
    return counts or [max(1, min(best, units_with_homes))]


def _zoning(
    adj: sparse.csr_matrix, hh: np.ndarray, objective: _BalanceObjective, count: int, seed: int
) -> tuple[np.ndarray, float, float]:
    """Best of several AZP runs into ``count`` regions: (labels, households outside the
    range, objective)."""
    if count == 1:  # one region is all of them; AZP takes two or more
        whole = np.zeros(len(hh), dtype=int)
        outside = float(max(0.0, hh.sum() - objective.hi, objective.lo - hh.sum()))
        return whole, outside, objective(whole, None)
    from spopt.region.azp import AZPOrig  # spopt (with matplotlib) only where grids are drawn

    best, best_key = np.zeros(0, dtype=int), (math.inf, math.inf)
    state = random.getstate()  # AZP seeds Python's random module; leave it as found
    for s in range(_SEEDS):
        azp = AZPOrig(random_state=seed + s)
        azp.fit_from_scipy_sparse_matrix(adj, hh.reshape(-1, 1), count, objective_func=objective)
        labels = azp.labels_.astype(int)
        totals = np.bincount(np.unique(labels, return_inverse=True)[1], weights=hh)
        outside = float(np.maximum(0, np.maximum(totals - objective.hi, objective.lo - totals)).sum())
        key = (outside, objective(labels, None))
        if key < best_key:
            best, best_key = labels, key
    random.setstate(state)
    return best, *best_key


def _regions(
    units: gpd.GeoDataFrame,
    contiguity: sparse.csr_matrix,
    border: sparse.csr_matrix,
    lo: int,
    hi: int,
    seed: int,
) -> np.ndarray:
    """Region label per unit (contiguous, balanced); regions numbered across components."""
    labels = np.full(len(units), -1)
    n_comp, comp = csgraph.connected_components(contiguity, directed=False)
    households = units["households"].to_numpy()
    totals = np.bincount(comp, weights=households, minlength=n_comp)
    scale = math.sqrt(max(units.geometry.area.sum(), 1.0))
    next_label = 0
    for c in np.argsort(-totals, kind="stable"):
        idx = np.flatnonzero(comp == c)
        hh = households[idx]
        if totals[c] < lo and next_label > 0:
            # a detached piece too small for a grid of its own joins the nearest grid
            geoms = units.geometry.to_numpy()
            drawn = np.flatnonzero(labels >= 0)
            nearest = drawn[np.argmin(shapely.distance(geoms[drawn], shapely.union_all(geoms[idx])))]
            labels[idx] = labels[nearest]
            continue
        counts = _region_counts(hh, lo, hi)
        if counts == [1]:
            labels[idx] = next_label
            next_label += 1
            continue
        adj = contiguity[idx][:, idx].tocsr()
        objective = _BalanceObjective(hh, (border[idx][:, idx] * (_BORDER_WEIGHT / scale)).tocsr(), lo, hi)
        unavoidable = np.maximum(hh - hi, 0).sum()  # units that alone exceed the maximum
        best, best_key = np.zeros(0, dtype=int), (math.inf, math.inf)
        for count in counts:  # the next count only while some grid is still out of range
            found, outside, value = _zoning(adj, hh, objective, count, seed)
            if (outside, value) < best_key:
                best, best_key = found, (outside, value)
            if outside <= unavoidable:
                break
        _, local = np.unique(best, return_inverse=True)
        labels[idx] = local + next_label
        next_label += int(local.max()) + 1
    return labels


def _households_in(
    grids: np.ndarray, points: np.ndarray, households: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(households, buildings) whose point lies in each grid."""
    grid_idx, point_idx = points_in(grids, points)
    hh = np.bincount(grid_idx, weights=households[point_idx], minlength=len(grids))
    count = np.bincount(grid_idx, minlength=len(grids))
    return hh, count


def _kept_grids(
    existing: gpd.GeoDataFrame,
    area: shapely.Geometry,
    points: np.ndarray,
    hh_values: np.ndarray,
    compound_of: np.ndarray,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Which existing grids can stay as drawn: households in range, and no compound small
    enough for one grid shared with another grid."""
    grid_idx, point_idx = points_in(shapely.intersection(existing.geometry.to_numpy(), area), points)
    hh = np.bincount(grid_idx, weights=hh_values[point_idx], minlength=len(existing))
    ok: np.ndarray = (hh >= lo) & (hh <= hi)
    compound_hh = pd.Series(hh_values).groupby(compound_of).sum()
    pairs = pd.DataFrame({"grid": grid_idx, "compound": compound_of[point_idx]}).dropna()
    shared = pairs.drop_duplicates().groupby("compound")["grid"].nunique()
    for compound in shared[(shared > 1) & (compound_hh.reindex(shared.index) <= hi)].index:
        ok[pairs.loc[pairs["compound"] == compound, "grid"].unique()] = False
    return ok


def _same_grids(
    new: np.ndarray, old: np.ndarray, points: np.ndarray, households: np.ndarray
) -> list[tuple[int, int]]:
    """Pairs (new, old) that are the same grid: they share at least ``_SAME_SHARE`` of the
    households in either (of the area, where neither has any) and of the area in both."""
    if len(new) == 0 or len(old) == 0:
        return []
    new_idx, old_idx = shapely.STRtree(old).query(new, predicate="intersects")
    common = shapely.intersection(new[new_idx], old[old_idx])
    hh_common = _households_in(common, points, households)[0]
    hh_new, hh_old = _households_in(new, points, households)[0], _households_in(old, points, households)[0]
    area_common = shapely.area(common)
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for n, o, hh, a in zip(new_idx, old_idx, hh_common, area_common, strict=True):
        by_area = a >= _SAME_SHARE * max(new[n].area, old[o].area)
        homes = max(hh_new[n], hh_old[o])
        by_homes = hh >= _SAME_SHARE * homes if homes else True
        if by_area and by_homes and n not in {p[0] for p in pairs} and o not in used:
            pairs.append((int(n), int(o)))
            used.add(o)
    return pairs


def _relation(n_old: int, old_fanout: int) -> str:
    if n_old == 0:
        return NEW
    if n_old > 1:
        return "merged"
    return "split" if old_fanout > 1 else REDRAWN


def _lineage(
    new: gpd.GeoDataFrame, old: gpd.GeoDataFrame, points: np.ndarray, hh_values: np.ndarray
) -> pd.DataFrame:
    """Rows linking each newly coded grid to the retired grids it overlaps."""
    columns = ["old_code", "new_code", "relation", "area_m2", "households"]
    if new.empty:
        return pd.DataFrame(columns=columns)
    if old.empty:
        return pd.DataFrame(
            [(None, c, NEW, a, h) for c, a, h in zip(new["code"], new.area, new["households"], strict=True)],
            columns=columns,
        )
    new_idx, old_idx = shapely.STRtree(old.geometry.to_numpy()).query(
        new.geometry.to_numpy(), predicate="intersects"
    )
    overlap = shapely.intersection(new.geometry.to_numpy()[new_idx], old.geometry.to_numpy()[old_idx])
    area = shapely.area(overlap)
    moved = _households_in(overlap, points, hh_values)[0] if len(overlap) else np.array([])
    # slivers along a redrawn border are not lineage: only homes or a real share of the grid
    real = (moved > 0) | (area >= 0.01 * shapely.area(new.geometry.to_numpy()[new_idx]))
    new_idx, old_idx, area, moved = new_idx[real], old_idx[real], area[real], moved[real]
    n_old = np.bincount(new_idx, minlength=len(new))
    fanout = np.bincount(old_idx, minlength=len(old))
    rows = [
        (old["code"].iloc[o], new["code"].iloc[n], _relation(n_old[n], fanout[o]), float(a), float(h))
        for n, o, a, h in zip(new_idx, old_idx, area, moved, strict=True)
    ]
    rows += [
        (None, new["code"].iloc[n], NEW, float(new.geometry.iloc[n].area), float(new["households"].iloc[n]))
        for n in np.flatnonzero(n_old == 0)
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["new_code", "old_code"], na_position="first", ignore_index=True
    )


def _next_sequences(codes: Iterable[Any], community_code: str, count: int) -> list[int]:
    """``count`` sequence numbers above every one used so far in the community."""
    used = [
        int(parts[3])
        for c in codes
        if (parts := parse_grid_code(str(c))) and "".join(parts[:3]) == community_code
    ]
    start = max(used, default=0) + 1
    if start + count - 1 > 999:
        raise InputError(f"community {community_code} has no free grid numbers left (999 used)")
    return list(range(start, start + count))


def _touching(grids: np.ndarray, candidates: np.ndarray, piece: shapely.Geometry) -> np.ndarray:
    """Indices among ``candidates`` of the grids that share a border with ``piece``."""
    return np.asarray(candidates[shapely.intersects(grids[candidates], shapely.buffer(piece, 0.5))])


def _draw(area: shapely.Geometry, old: gpd.GeoDataFrame | None, keep: np.ndarray, buildings: gpd.GeoDataFrame,
          points: np.ndarray, streets: np.ndarray, outlines: dict[str, shapely.Geometry], households: tuple[int, int],
          seed: int) -> np.ndarray:  # fmt: skip
    """Grids drawn over the part of ``area`` outside the kept grids (metric CRS); ``points``
    are the buildings' representative points.

    Kept grids next to a piece too small for a grid of its own, or (for a few rounds) next to
    a drawn grid that ends up out of range, are released and drawn again: ``keep`` is updated
    in place. The grids tile the free part exactly.
    """
    lo, hi = households
    old_geoms = old.geometry.to_numpy() if old is not None else np.array([], dtype=object)
    street_band = shapely.buffer(shapely.union_all(streets), 2 * _TOUCH_M) if len(streets) else None
    widened = 0
    while True:
        free = shapely.difference(area, shapely.union_all(old_geoms[keep])) if keep.any() else area
        if free.is_empty or free.area < 1.0:
            return np.array([], dtype=object)
        in_free = shapely.contains(free, points)
        units = _units(free, streets, buildings[in_free], points[in_free], outlines, hi)
        units = _absorb_empty(units, _adjacency(units, street_band)[0])
        contiguity, border = _adjacency(units, street_band)
        geoms, unit_hh = units.geometry.to_numpy(), units["households"].to_numpy()
        n_comp, comp = csgraph.connected_components(contiguity, directed=False)
        totals = np.bincount(comp, weights=unit_hh, minlength=n_comp)
        small = [c for c in range(n_comp) if totals[c] < lo]
        nearby = [
            _touching(old_geoms, np.flatnonzero(keep), shapely.union_all(geoms[comp == c])) for c in small
        ]
        nearby = [t for t in nearby if len(t)]
        if nearby:  # the smallest kept neighbour of a piece too small for a grid
            grid_hh = _households_in(old_geoms[nearby[0]], points, buildings["households"].to_numpy())[0]
            keep[nearby[0][int(np.argmin(grid_hh))]] = False
            continue
        labels = _regions(units, contiguity, border, lo, hi, seed)
        region_hh = np.bincount(labels, weights=unit_hh)
        alone_over = np.bincount(labels, weights=unit_hh > hi) > 0  # a unit alone over the maximum
        bad = np.flatnonzero(((region_hh < lo) | (region_hh > hi)) & ~alone_over)
        if widened < _WIDEN_ROUNDS and len(bad) and keep.any():
            touched = [
                _touching(old_geoms, np.flatnonzero(keep), shapely.union_all(geoms[labels == r])) for r in bad
            ]
            released = np.unique(np.concatenate(touched))
            if len(released):
                keep[released] = False
                widened += 1
                continue
        return _tile(free, units.assign(region=labels))


def _closed(geoms: np.ndarray) -> np.ndarray:
    """Parts that touch, or whose shared edges differ by rounding, merged: a geometry in
    several parts is unioned again on a millimetre grid."""
    out = geoms.copy()
    several = shapely.get_num_geometries(geoms) > 1
    out[several] = [shapely.union_all(shapely.get_parts(g), grid_size=0.001) for g in geoms[several]]
    return out


def _fit(free: shapely.Geometry, grids: np.ndarray, touch: float) -> np.ndarray:
    """``grids`` clipped to ``free``, each piece of ``free`` they leave given to the grid it
    borders most (else the nearest); ``touch`` is how far apart shared edges may lie, in the
    CRS's units."""
    grids = shapely.make_valid(shapely.intersection(grids, free))
    rest = shapely.get_parts(shapely.difference(free, shapely.union_all(grids)))
    rest = rest[shapely.area(rest) > 0]
    if len(rest):  # each piece to its grid, all at once: one union per grid, not one per piece
        shared = shapely.length(
            shapely.intersection(shapely.boundary(grids)[None, :], shapely.buffer(rest, touch)[:, None])
        )
        owner = np.argmax(shared, axis=1)
        apart = shared.max(axis=1) == 0  # bordering no grid: the nearest one
        if apart.any():
            owner[apart] = np.argmin(shapely.distance(grids[None, :], rest[apart][:, None]), axis=1)
        for k in np.unique(owner):
            grids[k] = shapely.union_all([grids[k], *rest[owner == k]])
    for i in range(1, len(grids)):  # where two grids still overlap at a seam, the first keeps it
        grids[i] = shapely.difference(grids[i], shapely.union_all(grids[:i]))
    return np.array([_polygonal(g) for g in grids], dtype=object)


def _tile(free: shapely.Geometry, units: gpd.GeoDataFrame) -> np.ndarray:
    """One geometry per region that together tile ``free`` (metric CRS): the regions' units
    merged, fitted to ``free``, seams closed and specks along them dropped."""
    merged = units.dissolve("region", grid_size=_PRECISION_M).geometry.to_numpy()
    grids = shapely.intersection(_closed(_fit(free, merged, _TOUCH_M)), free)
    return np.array([_without_specks(_polygonal(g)) for g in grids], dtype=object)


def _without_specks(geom: shapely.Geometry, min_area_m2: float = 0.01) -> shapely.Geometry:
    """``geom`` without polygon parts smaller than ``min_area_m2``, unless that is all it has."""
    parts = shapely.get_parts(geom)
    big = parts[shapely.area(parts) >= min_area_m2]
    return shapely.union_all(big) if len(big) else geom


def propose_grids(
    community: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    existing: gpd.GeoDataFrame | None = None,
    households: tuple[int, int] = (300, 500),
    fresh: bool = False,
    street_highways: tuple[str, ...] = STREET_HIGHWAYS,
    seed: int = 0,
    taken: Iterable[str] = (),
) -> GridPlan:
    """Propose grids for one community.

    ``community``: one row with ``code`` (12-digit DB11 community code) and its polygon.
    ``buildings``: ``id``, ``households``, ``compound_id`` (may be empty), footprints; those
    whose representative point lies in the community count. ``compounds``: ``id`` and outline
    (to keep compounds whole). ``roads``: lines with ``highway``; those in ``street_highways``
    are preferred as borders. ``existing``: the community's current grids of the kind being
    drawn (``code`` and polygon); unless ``fresh``, grids within the range are kept. All in
    EPSG:4326. ``households`` is the (min, max) households per grid. ``taken``: the codes of
    the other grids there are (of other kinds and levels, or other communities), which new
    grids' numbers stay clear of.
    """
    lo, hi = households
    if lo < 1 or lo > hi:
        raise InputError(f"households range {lo}-{hi}: expected 1 <= MIN <= MAX")
    if len(community) != 1:
        raise InputError(f"expected one community, got {len(community)}")
    code = str(community["code"].iloc[0])
    if not (len(code) == 12 and code.isdigit()):
        raise InputError(f"community code {code!r}: expected 12 digits (district 6 + street 3 + community 3)")
    crs = metric_crs_for(community)
    area = _polygonal(densified_to(community, crs).geometry.iloc[0])
    b = buildings.to_crs(crs)
    b = b.assign(households=b["households"].fillna(0).astype(float))
    points = b.geometry.representative_point().to_numpy()
    inside = shapely.contains(area, points)
    b, points = b[inside], points[inside]
    hh_values = b["households"].to_numpy()
    compound_of = (
        b["compound_id"].to_numpy(dtype=float) if "compound_id" in b.columns else np.full(len(b), np.nan)
    )
    outlines = {}
    if compounds is not None and not compounds.empty:
        for cid, geom in zip(compounds["id"], compounds.to_crs(crs).geometry, strict=True):
            outlines[f"c{int(cid)}"] = shapely.boundary(geom)
    streets = _street_lines(roads, street_highways, crs)
    streets = streets[shapely.intersects(streets, area)] if len(streets) else streets
    notes: list[str] = []

    old = None
    if existing is not None and not existing.empty:
        old = densified_to(existing, crs).reset_index(drop=True)
    keep = np.zeros(0 if old is None else len(old), dtype=bool)
    if old is not None and not fresh:
        keep = _kept_grids(old, area, points, hh_values, compound_of, lo, hi)
    drawn_geoms = _draw(area, old, keep, b, points, streets, outlines, (lo, hi), seed)
    big = (
        b.groupby("compound_id")["households"].sum() if "compound_id" in b.columns else pd.Series(dtype=float)
    )
    for cid in big[big > hi].index:
        notes.append(
            f"compound {int(cid)} alone has {int(big[cid])} households (> {hi}); its buildings are split among grids"
        )
    doubtful = doubtful_mask(b)
    for bid, n, doubt in zip(b["id"], hh_values, doubtful, strict=True):
        if n > hi:
            why = (
                "; the count is doubtful, estimated from a footprint larger than homes have" if doubt else ""
            )
            notes.append(
                f"building {int(bid)} alone has {int(n)} households (> {hi}); its grid cannot be within range{why}"
            )
    return _plan(community, area, old, keep, drawn_geoms, existing, points, hh_values, (lo, hi), notes, taken)


def _plan(
    community: gpd.GeoDataFrame,
    area: shapely.Geometry,
    old: gpd.GeoDataFrame | None,
    keep: np.ndarray,
    drawn_geoms: np.ndarray,
    existing: gpd.GeoDataFrame | None,
    points: np.ndarray,
    hh_values: np.ndarray,
    households: tuple[int, int],
    notes: list[str],
    taken: Iterable[str],
) -> GridPlan:
    """The plan of grids ``old[keep]`` kept and ``drawn_geoms`` drawn (metric CRS of ``area``):
    codes — kept grids keep theirs, a drawn grid that is still an old one keeps its code, the
    others take the community's next free numbers (clear of ``taken`` too) in reading order —,
    households, lineage."""
    lo, hi = households
    code = str(community["code"].iloc[0])
    crs = metric_crs_for(community)
    # codes: unchanged grids keep theirs, and so does a redrawn grid that is still the old one
    old_codes = set(old["code"]) if old is not None else set()
    kept_codes = list(old["code"][keep]) if old is not None else []
    kept_geoms = list(shapely.intersection(old.geometry.to_numpy()[keep], area)) if old is not None else []
    codes: list[str | None] = [None] * len(drawn_geoms)
    if old is not None and len(drawn_geoms):
        released = np.flatnonzero(~keep)
        for i, j in _same_grids(drawn_geoms, old.geometry.to_numpy()[released], points, hh_values):
            codes[i] = str(old["code"].iloc[released[j]])
    fresh_idx = [i for i, c in enumerate(codes) if c is None]
    if fresh_idx:
        cx = shapely.get_x(shapely.centroid(drawn_geoms[fresh_idx]))
        cy = shapely.get_y(shapely.centroid(drawn_geoms[fresh_idx]))
        typical = float(np.median(np.sqrt(shapely.area(drawn_geoms[fresh_idx]))))
        order = reading_order(cx, cy, row_height=typical)
        for i, seq in zip(
            np.asarray(fresh_idx)[order],
            _next_sequences(old_codes | set(taken), code, len(fresh_idx)),
            strict=True,
        ):
            codes[i] = grid_code(code, seq)

    all_geoms = np.array(kept_geoms + list(drawn_geoms), dtype=object)
    hh, n_b = _households_in(all_geoms, points, hh_values) if len(all_geoms) else (np.array([]), np.array([]))
    status = [KEPT] * len(kept_geoms) + [RESHAPED if c in old_codes else NEW for c in codes]
    grids = gpd.GeoDataFrame(
        {
            "code": kept_codes + codes,
            "status": status,
            "households": hh.astype(int),
            "buildings": n_b.astype(int),
            "area_m2": shapely.area(all_geoms).round(1),
            "parts": shapely.get_num_geometries(all_geoms),
        },
        geometry=all_geoms,
        crs=crs,
    )
    grids["in_range"] = (grids["households"] >= lo) & (grids["households"] <= hi)
    retired = sorted(old_codes - set(grids["code"]))
    new = grids[grids["status"] == NEW].reset_index(drop=True)
    gone = (
        old[old["code"].isin(retired)]
        if old is not None
        else gpd.GeoDataFrame({"code": []}, geometry=[], crs=crs)
    )
    lineage = _lineage(new, gone.reset_index(drop=True), points, hh_values)
    for row in grids.itertuples():
        if not row.in_range:
            notes.append(f"grid {row.code} has {row.households} households, outside {lo}-{hi}")
    grids = grids.sort_values("code", ignore_index=True).to_crs("EPSG:4326")
    drawn = grids["status"] != KEPT
    if (~drawn).any() and existing is not None:  # kept grids as they are stored
        stored = dict(zip(existing["code"], existing.geometry, strict=True))
        grids.loc[~drawn, "geometry"] = [stored[c] for c in grids.loc[~drawn, "code"]]
    # drawn grids fitted again in degrees, to the stored community and kept grids
    if drawn.any():
        free_4326 = shapely.difference(
            _polygonal(community.geometry.iloc[0]), shapely.union_all(grids.geometry[~drawn].to_numpy())
        )
        grids.loc[drawn, "geometry"] = _fit(free_4326, grids.geometry[drawn].to_numpy(), _TOUCH_M * 1e-5)
        grids["parts"] = shapely.get_num_geometries(grids.geometry.to_numpy())
    based_on = tuple(sorted(map(str, old["code"]))) if old is not None else ()
    return GridPlan(code, (lo, hi), grids, lineage, retired, notes, based_on)


def redraw_grids(
    community: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    *,
    split: tuple[str, Any] | None = None,
    merge: tuple[str, ...] = (),
    households: tuple[int, int] = (300, 500),
    taken: Iterable[str] = (),
) -> GridPlan:
    """A clerk's redraw of some of a community's grids, under the same code and lineage rules
    as :func:`propose_grids`: ``split`` = (code, a line in EPSG:4326 across the grid) cuts one
    grid in pieces; ``merge`` = codes of neighbouring grids joined into one. The other grids
    are kept as they are; ``taken`` as for :func:`propose_grids`. InputError when the line does
    not cut the grid or the grids are not neighbours."""
    if (split is None) == (not merge):
        raise InputError("redraw either splits one grid along a line or merges grids")
    crs = metric_crs_for(community)
    area = _polygonal(densified_to(community, crs).geometry.iloc[0])
    old = densified_to(existing, crs).reset_index(drop=True)
    codes = list(old["code"].astype(str))
    named = [split[0]] if split is not None else list(merge)
    unknown = [c for c in named if c not in codes]
    if unknown:
        raise InputError(f"no grid of this community and kind has the code(s) {', '.join(unknown)}")
    keep = ~old["code"].isin(named).to_numpy()
    if split is not None:
        line = gpd.GeoSeries([split[1]], crs="EPSG:4326").to_crs(crs).iloc[0]
        whole = old.geometry[~keep].iloc[0]
        pieces = [p for p in shapely.get_parts(shapely.ops.split(_polygonal(whole), line)) if p.area > 1.0]
        if len(pieces) < 2:
            raise InputError(
                f"the line does not cut grid {split[0]} in two; draw it across the grid, edge to edge"
            )
        drawn = np.array(pieces, dtype=object)
    else:
        if len(named) < 2:
            raise InputError("merging needs two grids or more")
        parts = old.geometry[~keep].to_numpy()
        near = shapely.intersects(
            shapely.buffer(parts, 0.5)[:, None], parts[None, :]
        )  # shared within half a metre
        reached, frontier = {0}, [0]
        while frontier:
            i = frontier.pop()
            for j in np.flatnonzero(near[i]):
                if int(j) not in reached:
                    reached.add(int(j))
                    frontier.append(int(j))
        if len(reached) < len(parts):
            raise InputError(f"grids {', '.join(named)} do not share a border; only neighbours merge")
        drawn = np.array([shapely.union_all(old.geometry[~keep].to_numpy())], dtype=object)
    b = buildings.to_crs(crs)
    b = b.assign(households=b["households"].fillna(0).astype(float))
    points = b.geometry.representative_point().to_numpy()
    inside = shapely.contains(area, points)
    return _plan(community, area, old, keep, drawn, existing, points[inside], b["households"].to_numpy()[inside],
                 households, [], taken)  # fmt: skip


def grid_kind(kind: str) -> str:
    """``kind`` when the organisation catalogue knows it as a kind of grid; InputError naming
    the kinds it knows (a drawing of another kind would be stored as a kind nothing judges)."""
    known = org_catalogue().ids("grid_kinds")
    if kind not in known:
        raise InputError(
            f"'{kind}' is not a kind of grid; the organisation catalogue has: {', '.join(known)}"
        )
    return kind


def grid_level(level: int) -> int:
    """``level`` when the grids layer holds it (1 to 5: grids within grids); InputError else."""
    column = layer_spec("grids").column("level")
    if not column.minimum <= level <= column.maximum:  # type: ignore[operator]
        raise InputError(f"grid level {level}: expected {column.minimum:g} to {column.maximum:g}")
    return level


def community_named(communities: gpd.GeoDataFrame, name_or_code: str) -> gpd.GeoDataFrame:
    """The one community whose code or name is ``name_or_code`` (a one-row frame)."""
    text = str(name_or_code).strip()
    found = communities[(communities["code"].astype(str) == text) | (communities["name"].astype(str) == text)]
    if len(found) == 1:
        return found
    if len(found) > 1:
        raise InputError(f"{len(found)} communities are named {text!r}; give the 12-digit code instead")
    known = ", ".join(
        f"{c} {n}" for c, n in list(zip(communities["code"], communities["name"], strict=True))[:8]
    )
    raise InputError(f"no community has the code or name {text!r}; known: {known}")
