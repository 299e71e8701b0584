"""Service-circle polygons: the area a facility serves within a walking distance.

A circle is drawn from the reachable part of the network, not from a convex hull: the
reached nodes, plus the point where the walk runs out on every edge left part-way, form a
concave hull, widened by a margin for the homes along the outermost streets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import shapely

from gridmap.network.paths import FacilityGraph

#: Concave hull ratio (0 = tightest, 1 = convex hull).
HULL_RATIO = 0.3


def _incidence(graph: FacilityGraph) -> sp.csr_matrix:
    """Node × sub-edge incidence, to find the sub-edges at a set of nodes."""
    m = len(graph.sub_u)
    rows = np.concatenate([graph.sub_u, graph.sub_v])
    cols = np.concatenate([np.arange(m), np.arange(m)])
    return sp.csr_matrix((np.ones(2 * m, dtype=np.int8), (rows, cols)), shape=(graph.node_count, m))


def _distance_at(nodes: np.ndarray, dist: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distance of each ``query`` node from the reached ``nodes`` (sorted); inf if not reached."""
    pos = np.clip(np.searchsorted(nodes, query), 0, len(nodes) - 1)
    found = nodes[pos] == query
    return np.where(found, dist[pos], np.inf)


def service_circles(
    graph: FacilityGraph,
    facilities: np.ndarray,
    limits_m: Sequence[float],
    *,
    margin_m: float = 30.0,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Circles of ``facilities`` (indices into the graph's facilities) for every limit.

    One bounded search per facility at the largest limit serves all limits. Returns
    (facility index, limit, polygon in the metric CRS) arrays, one row per facility and limit
    that reaches anything.
    """
    limits = sorted(float(x) for x in limits_m)
    if not limits or len(facilities) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=object)
    incidence = _incidence(graph)
    net = graph.network
    coords: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for k, facility in enumerate(facilities):
        nodes, dist = graph.reach(int(facility), limits[-1])
        if len(nodes):
            edges = np.unique(incidence[nodes].indices)
            du = _distance_at(nodes, dist, graph.sub_u[edges])
            dv = _distance_at(nodes, dist, graph.sub_v[edges])
            length = graph.sub_length[edges]
            for j, limit in enumerate(limits):
                inside = dist <= limit
                pts = [graph.node_xy[nodes[inside]]]
                # the point where the walk runs out, from either end of a part-walked edge
                for d_end, from_u in ((du, True), (dv, False)):
                    part = (d_end <= limit) & (limit - d_end < length)
                    if part.any():
                        along = limit - d_end[part]
                        e = edges[part]
                        offset = graph.sub_start[e] + (along if from_u else length[part] - along)
                        p = shapely.line_interpolate_point(net.edge_geometry[graph.sub_edge[e]], offset)
                        pts.append(shapely.get_coordinates(p))
                xy = np.vstack(pts)
                coords.append(xy)
                owners.append(np.full(len(xy), k * len(limits) + j))
        if progress is not None:
            progress(1)
    if not coords:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=object)
    xy = np.vstack(coords)
    owner = np.concatenate(owners)
    keys = np.unique(owner)
    multipoints = shapely.multipoints(xy, indices=np.searchsorted(keys, owner))
    hulls = shapely.concave_hull(multipoints, ratio=HULL_RATIO)
    polygons = shapely.buffer(hulls, margin_m, quad_segs=2)
    return np.asarray(facilities)[keys // len(limits)], np.asarray(limits)[keys % len(limits)], polygons
