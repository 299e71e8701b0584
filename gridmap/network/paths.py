"""Attach points to the walking network and find walking distances to the nearest facility.

A point attaches to the nearest point on an edge within a maximum snap distance; the straight
access leg from the point to the edge counts in every distance. Facilities are inserted into
the graph as nodes (the edge is split at the snap point and the access leg becomes an edge),
so a home and a facility on the same street measure along that street, not round the block.

The nearest facility of a set, for every node at once, is one multi-source Dijkstra pass
(``scipy.sparse.csgraph.dijkstra`` with ``min_only``), never one search per home. All
distances are metres in the network's metric CRS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from gridmap.geometry import on_all_cores
from gridmap.grouping import ByKey
from gridmap.network.graph import WalkingNetwork, adjacency_matrix

END_TOLERANCE_M = 1e-6


@dataclass
class Attachment:
    """Where points meet the network: ``edge`` (-1 when none within the snap distance),
    ``offset`` metres along the edge from its ``u`` end, ``access`` metres from the point to
    the edge."""

    edge: np.ndarray
    offset: np.ndarray
    access: np.ndarray

    @property
    def attached(self) -> np.ndarray:
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)


def attach(
    network: WalkingNetwork, xy: np.ndarray, max_snap_m: float, points: np.ndarray | None = None
) -> Attachment:
    """Attach points (``xy`` in the network's metric CRS) to their nearest edge.

    Points farther than ``max_snap_m`` metres from every edge are left unattached.
    ``points`` may pass the same points as shapely geometries when the caller has them.
    """
    n = len(xy)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    access = np.full(n, np.nan)
    if n == 0 or network.edge_count == 0:
        return Attachment(edge, offset, access)
    points = shapely.points(xy) if points is None else points
    tree = network.tree

    def nearest_edge(chunk: np.ndarray) -> np.ndarray:
        """(edge or -1, metres) per point of the chunk."""
        (point_idx, edge_idx), dist = tree.query_nearest(
            chunk, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        out = np.full((len(chunk), 2), [-1.0, np.nan])
        out[point_idx, 0], out[point_idx, 1] = edge_idx, dist
        return out

    found = on_all_cores(nearest_edge, points)
    edge[:] = found[:, 0].astype(np.int64)
    access[:] = found[:, 1]
    near = edge >= 0
    offset[near] = shapely.line_locate_point(network.edge_geometry[edge[near]], points[near])
    return Attachment(edge, offset, access)


def attach_only(network: WalkingNetwork, xy: np.ndarray, which: np.ndarray, max_snap_m: float) -> Attachment:
    """Like :func:`attach` for the points ``xy[which]``; the others are left unattached."""
    some = attach(network, xy[which], max_snap_m)
    out = Attachment(np.full(len(xy), -1, dtype=np.int64), np.full(len(xy), np.nan), np.full(len(xy), np.nan))
    out.edge[which], out.offset[which], out.access[which] = some.edge, some.offset, some.access
    return out


@dataclass
class Located:
    """Attached points expressed on the facility graph: reach node ``a`` after ``da`` metres
    or node ``b`` after ``db`` metres, plus the ``access`` leg (``a`` is -1 when unattached)."""

    a: np.ndarray
    da: np.ndarray
    b: np.ndarray
    db: np.ndarray
    access: np.ndarray


class FacilityGraph:
    """The walking network with facilities inserted as nodes.

    ``facility_node[i]`` is the graph node of facility ``i`` (-1 when it did not attach).
    Sub-edge ``j`` runs along network edge ``sub_edge[j]`` from offset ``sub_start[j]``, from
    node ``sub_u[j]`` to ``sub_v[j]`` over ``sub_length[j]`` metres.
    """

    def __init__(self, network: WalkingNetwork, facilities: Attachment) -> None:
        self.network = network
        self.facilities = facilities
        net_n = network.node_count
        att = facilities.attached
        f_edge, f_off = facilities.edge[att], facilities.offset[att]
        length = network.edge_length
        # a snap at an edge's end is that end node; others split the edge
        at_u = f_off <= END_TOLERANCE_M
        at_v = f_off >= length[f_edge] - END_TOLERANCE_M
        inner = ~at_u & ~at_v
        split_key = np.unique(np.column_stack([f_edge[inner], f_off[inner]]), axis=0)
        split_edge = split_key[:, 0].astype(np.int64)
        split_off = split_key[:, 1]
        split_node = net_n + np.arange(len(split_edge))
        self._split_edge, self._split_off, self._split_node = split_edge, split_off, split_node

        snap_node = np.empty(len(f_edge), dtype=np.int64)
        snap_node[at_u] = network.edge_u[f_edge[at_u]]
        snap_node[at_v & ~at_u] = network.edge_v[f_edge[at_v & ~at_u]]
        if inner.any():
            pos = self._split_position(f_edge[inner], f_off[inner], side="left")
            snap_node[inner] = split_node[pos]

        n_split = len(split_edge)
        point_node = net_n + n_split + np.arange(len(f_edge))
        self.facility_node = np.full(len(facilities), -1, dtype=np.int64)
        self.facility_node[att] = point_node
        self._node_facility = np.full(net_n + n_split + len(f_edge), -1, dtype=np.int64)
        self._node_facility[point_node] = np.flatnonzero(att)
        self.node_count = net_n + n_split + len(f_edge)

        # sub-edges: untouched edges, the pieces of split edges, and the access legs
        sub_edge, sub_start, sub_u, sub_v, sub_len = self._sub_edges()
        self.sub_edge, self.sub_start = sub_edge, sub_start
        self.sub_u, self.sub_v, self.sub_length = sub_u, sub_v, sub_len
        u = np.concatenate([sub_u, point_node])
        v = np.concatenate([sub_v, snap_node])
        w = np.concatenate([sub_len, facilities.access[att]])
        self.matrix: sp.csr_matrix = adjacency_matrix(self.node_count, u, v, w)

        self.node_xy = np.vstack(
            [
                network.node_xy,
                _snap_xy(network, split_edge, split_off),
                _snap_xy(network, f_edge, f_off),
            ]
        )

    def _split_position(
        self, edge: np.ndarray, offset: np.ndarray, side: Literal["left", "right"]
    ) -> np.ndarray:
        """Index into the sorted split points of (edge, offset) pairs, as ``np.searchsorted``."""
        scale = float(self.network.edge_length.max(initial=0.0)) + 1.0
        keys = self._split_edge * scale + self._split_off
        return np.asarray(np.searchsorted(keys, edge * scale + offset, side=side))

    def _sub_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        net = self.network
        e = np.arange(net.edge_count)
        has_split = np.zeros(net.edge_count, dtype=bool)
        has_split[self._split_edge] = True
        plain = e[~has_split]
        parts_edge = [plain]
        parts_start = [np.zeros(len(plain))]
        parts_u = [net.edge_u[plain]]
        parts_v = [net.edge_v[plain]]
        parts_len = [net.edge_length[plain]]
        if len(self._split_edge):
            se, so, sn = self._split_edge, self._split_off, self._split_node
            first = np.ones(len(se), dtype=bool)
            first[1:] = se[1:] != se[:-1]
            last = np.ones(len(se), dtype=bool)
            last[:-1] = se[:-1] != se[1:]
            prev_node = np.where(first, net.edge_u[se], np.roll(sn, 1))
            prev_off = np.where(first, 0.0, np.roll(so, 1))
            parts_edge += [se, se[last]]
            parts_start += [prev_off, so[last]]
            parts_u += [prev_node, sn[last]]
            parts_v += [sn, net.edge_v[se[last]]]
            parts_len += [so - prev_off, net.edge_length[se[last]] - so[last]]
        return (
            np.concatenate(parts_edge),
            np.concatenate(parts_start),
            np.concatenate(parts_u),
            np.concatenate(parts_v),
            np.concatenate(parts_len),
        )

    def locate(self, points: Attachment) -> Located:
        """Express attached points (homes, gates) as two graph nodes with distances to each."""
        net = self.network
        n = len(points)
        a = np.full(n, -1, dtype=np.int64)
        b = np.full(n, -1, dtype=np.int64)
        da = np.full(n, np.inf)
        db = np.full(n, np.inf)
        att = points.attached
        edge, off = points.edge[att], points.offset[att]
        a_node, a_off = net.edge_u[edge].copy(), np.zeros(len(edge))
        b_node, b_off = net.edge_v[edge].copy(), net.edge_length[edge].copy()
        if len(self._split_edge):
            # the split points around each point on its edge
            after = self._split_position(edge, off, side="left")
            before = after - 1
            ok = (before >= 0) & (self._split_edge[np.clip(before, 0, None)] == edge)
            a_node[ok] = self._split_node[before[ok]]
            a_off[ok] = self._split_off[before[ok]]
            ok = (after < len(self._split_edge)) & (
                self._split_edge[np.clip(after, None, len(self._split_edge) - 1)] == edge
            )
            b_node[ok] = self._split_node[after[ok]]
            b_off[ok] = self._split_off[after[ok]]
        a[att], b[att] = a_node, b_node
        da[att] = off - a_off
        db[att] = b_off - off
        return Located(a, np.maximum(da, 0.0), b, np.maximum(db, 0.0), points.access.copy())

    def nearest(self, facilities: np.ndarray, origins: Located) -> tuple[np.ndarray, np.ndarray]:
        """Walking metres from each origin to the nearest of ``facilities`` (indices into the
        facility attachment) and which facility that is (-1 when none is reachable).

        One multi-source Dijkstra pass over the whole graph.
        """
        n = len(origins.a)
        nodes = self.facility_node[facilities]
        sources = nodes[nodes >= 0]
        if len(sources) == 0 or n == 0:
            return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        dist, _, source = dijkstra(self.matrix, indices=sources, min_only=True, return_predecessors=True)
        ok = origins.a >= 0
        via_a = np.full(n, np.inf)
        via_b = np.full(n, np.inf)
        via_a[ok] = dist[origins.a[ok]] + origins.da[ok]
        via_b[ok] = dist[origins.b[ok]] + origins.db[ok]
        use_b = via_b < via_a
        best = np.where(use_b, via_b, via_a) + np.where(ok, origins.access, 0.0)
        best[~ok] = np.inf
        node = np.where(use_b, origins.b, origins.a)
        src = np.full(n, -1, dtype=np.int64)
        reached = ok & np.isfinite(best)
        src[reached] = source[node[reached]]
        facility = np.full(n, -1, dtype=np.int64)
        facility[reached] = self._node_facility[src[reached]]
        return best, facility

    def within(
        self, facilities: np.ndarray, origins: Located, limit_m: float, chunk: int = 64
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (facility, origin) pair within ``limit_m`` walking metres: (positions in
        ``facilities``, origin indices, metres), sorted by facility then origin.

        One bounded Dijkstra search per facility, in chunks of nearby facilities, each over
        the part of the graph within ``limit_m`` straight-line metres of the chunk; the reached
        nodes are joined to the origins attached next to them, so the work follows what is
        reached, not the size of the graph.
        """
        att = origins.a >= 0
        idx = np.flatnonzero(att)
        which = np.concatenate([idx, idx])
        extra = np.concatenate([origins.da[idx], origins.db[idx]]) + np.concatenate([origins.access[idx]] * 2)
        at_node = ByKey(np.concatenate([origins.a[idx], origins.b[idx]]), self.node_count)
        out_f, out_o, out_d = [], [], []
        for part, local, dist in self.searches(facilities, limit_m, chunk):
            f, n = np.nonzero(np.isfinite(dist))
            rep, item = at_node.expand(local[n])
            total = dist[f, n][rep] + extra[item]
            keep = total <= limit_m
            out_f.append(part[f[rep][keep]])
            out_o.append(which[item][keep])
            out_d.append(total[keep])
        if not out_f:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        # an origin reached by both ends of its edge keeps the shorter walk
        return shortest_per_pair(np.concatenate(out_f), np.concatenate(out_o), np.concatenate(out_d))

    def searches(
        self, facilities: np.ndarray, limit_m: float, chunk: int = 64
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Bounded Dijkstra searches from ``facilities`` (indices into the facility
        attachment), ``chunk`` nearby ones at a time, each chunk over the part of the graph
        within ``limit_m`` straight-line metres of it (which holds every node reachable
        within the limit).

        Yields (positions in ``facilities``, local node indices ascending, metres as a
        chunk × local array, inf where not reached). Facilities off the network are skipped.
        """
        nodes = self.facility_node[facilities]
        usable = np.flatnonzero(nodes >= 0)
        if len(usable) == 0:
            return
        xy = self.node_xy[nodes[usable]]
        cell = np.floor((xy - xy.min(axis=0)) / max(limit_m, 1.0)).astype(np.int64)
        usable = usable[np.lexsort((cell[:, 1], cell[:, 0]))]  # nearby ones together
        for lo in range(0, len(usable), chunk):
            part = usable[lo : lo + chunk]
            pxy = self.node_xy[nodes[part]]
            low, high = pxy.min(axis=0) - limit_m, pxy.max(axis=0) + limit_m
            local = np.flatnonzero(np.all((self.node_xy >= low) & (self.node_xy <= high), axis=1))
            sub = self.matrix[local][:, local]
            yield part, local, dijkstra(sub, indices=np.searchsorted(local, nodes[part]), limit=limit_m)


def shortest_per_pair(
    first: np.ndarray, second: np.ndarray, metres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (first, second) pair, the one with the fewest metres; sorted by pair."""
    if len(first) == 0:
        return first, second, metres
    pair = first.astype(np.int64) * (int(second.max()) + 1) + second
    if np.all(pair[1:] > pair[:-1]):  # already one row per pair, in order
        return first, second, metres
    order = np.argsort(pair, kind="stable")  # one sort; the rows of a pair then take the least
    pair = pair[order]
    start = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    least = np.minimum.reduceat(metres[order], start)
    keep = order[start]
    return first[keep], second[keep], least


def _snap_xy(net: WalkingNetwork, edge: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Where points meet their edges (metric CRS)."""
    if len(edge) == 0:
        return np.zeros((0, 2))
    snapped = shapely.line_interpolate_point(net.edge_geometry[edge], offset)
    return np.asarray(shapely.get_coordinates(snapped)).reshape(-1, 2)
