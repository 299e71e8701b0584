"""Service-circle polygons: the area a facility serves within a walking distance.

A circle is drawn from the reachable part of the network, not from a convex hull: the
reached nodes, plus the point where the walk runs out on every edge left part-way, form a
concave hull, widened by a margin for the homes along the outermost streets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import shapely

from gridmap.geometry import cores, point_groups
from gridmap.grouping import ByKey
from gridmap.network.paths import FacilityGraph

#: Concave hull ratio (0 = tightest, 1 = convex hull).
HULL_RATIO = 0.3


def service_circles(
    graph: FacilityGraph,
    facilities: np.ndarray,
    limits_m: Sequence[float] | np.ndarray,
    *,
    margin_m: float = 30.0,
    progress: Callable[[int], None] | None = None,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Circles of ``facilities`` (indices into the graph's facilities) for every limit.

    One bounded search per facility at the largest limit serves all limits. Returns
    (facility index, limit, polygon) arrays, one row per facility and limit that reaches
    anything; the polygons in the graph's metric CRS, or as ``project`` makes them (e.g.
    :func:`~gridmap.crs.project_shapes` to EPSG:4326), which is done as they are drawn.
    """
    limits = sorted(float(x) for x in limits_m)
    none = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=object)
    if not limits or len(facilities) == 0:
        return none
    drawn: list[tuple[np.ndarray, Future[np.ndarray]]] = []

    def outlines(groups: np.ndarray) -> np.ndarray:
        hulls = shapely.concave_hull(groups, ratio=HULL_RATIO)
        polygons: np.ndarray = shapely.buffer(hulls, margin_m, quad_segs=2)
        return polygons if project is None else project(polygons)

    # each part's outlines (GEOS and PROJ, free of Python's lock) are drawn while the next part
    # is searched (numpy and SciPy, mostly holding it), so that the two share the time
    with ThreadPoolExecutor(cores(), thread_name_prefix="outlines") as pool:
        for part, xy, owner in _reached_points(graph, np.asarray(facilities), limits):
            if len(owner):
                keys, groups = point_groups(xy, owner)
                drawn.append((keys, pool.submit(outlines, groups)))
            if progress is not None:
                progress(len(part))
        if not drawn:
            return none
        keys = np.concatenate([k for k, _ in drawn])
        polygons = np.concatenate([outlined.result() for _, outlined in drawn])
    order = np.argsort(keys, kind="stable")
    keys, polygons = keys[order], polygons[order]
    return np.asarray(facilities)[keys // len(limits)], np.asarray(limits)[keys % len(limits)], polygons


def _reached_points(
    graph: FacilityGraph, facilities: np.ndarray, limits: list[float]
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each part of :meth:`FacilityGraph.searches` at the largest limit: (its positions
    in ``facilities``, the points its circles are drawn around as x, y in the metric CRS,
    the circle each point belongs to as ``position × len(limits) + limit index``). The
    points are the nodes reached within each limit and, on every edge a walk leaves part-way,
    the point where it runs out."""
    net = graph.network
    ends = [ByKey(graph.sub_u, graph.node_count), ByKey(graph.sub_v, graph.node_count)]
    for part, local, dist in graph.searches(facilities, limits[-1]):
        coords: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        fac, node = np.nonzero(np.isfinite(dist))
        d = dist[fac, node]
        node = local[node]
        # every sub-edge at a reached node, with the walk to that end: (facility, edge, metres)
        at_ends = []
        for end in ends:
            rep, edge = end.expand(node)
            at_ends.append((fac[rep], edge, d[rep]))
        for j, limit in enumerate(limits):
            inside = d <= limit
            coords.append(graph.node_xy[node[inside]])
            owners.append(part[fac[inside]] * len(limits) + j)
            # the point where the walk runs out, from either end of a part-walked edge
            for (f, e, d_end), from_u in zip(at_ends, (True, False), strict=True):
                cut = (d_end <= limit) & (limit - d_end < graph.sub_length[e])
                if cut.any():
                    f, e, along = f[cut], e[cut], limit - d_end[cut]
                    offset = graph.sub_start[e] + (along if from_u else graph.sub_length[e] - along)
                    p = shapely.line_interpolate_point(net.edge_geometry[graph.sub_edge[e]], offset)
                    coords.append(shapely.get_coordinates(p))
                    owners.append(part[f] * len(limits) + j)
        yield part, np.vstack(coords), np.concatenate(owners)
