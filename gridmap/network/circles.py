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

from gridmap.geometry import CALLER_BUSY, on_all_cores, point_groups
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
    Beside a caller busy with work of its own (:data:`~gridmap.geometry.CALLER_BUSY`), each
    part's circles are outlined while the next part is searched; otherwise every circle is
    outlined, on every core, once all parts are searched. The circles are the same.
    """
    limits = sorted(float(x) for x in limits_m)
    none = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=object)
    if not limits or len(facilities) == 0:
        return none

    def outlines(groups: np.ndarray) -> np.ndarray:
        hulls = shapely.concave_hull(groups, ratio=HULL_RATIO)
        polygons: np.ndarray = shapely.buffer(hulls, margin_m, quad_segs=2)
        return polygons if project is None else project(polygons)

    parts = _reached_points(graph, np.asarray(facilities), limits, progress)
    drawn = _outlined_beside(parts, outlines) if CALLER_BUSY.get() else _outlined_after(parts, outlines)
    if drawn is None:
        return none
    keys, polygons = drawn
    return np.asarray(facilities)[keys // len(limits)], np.asarray(limits)[keys % len(limits)], polygons


#: the points of one part's circles: (circle keys, x, y in the metric CRS)
Parts = Iterator[tuple[np.ndarray, np.ndarray]]


def _outlined_after(
    parts: Parts, outlines: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Every part searched, then every circle outlined on all cores: (circle keys ascending,
    outlines)."""
    reached = list(parts)
    if not reached:
        return None
    keys, groups = point_groups(np.vstack([xy for _, xy in reached]), np.concatenate([k for k, _ in reached]))
    return keys, on_all_cores(outlines, groups, weights=shapely.get_num_coordinates(groups))


def _outlined_beside(
    parts: Parts, outlines: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each part's circles outlined (GEOS and PROJ, free of Python's lock) on a thread of their
    own while the next part is searched (numpy and SciPy, mostly holding it): beside a caller
    that goes on meanwhile with work that holds Python's lock, the searches share the lock
    with it and the outlines take the core left, rather than all of them waiting for the
    searches. Drawn this way the demo's circles end about 0.1 s sooner, while its run is
    saved; beside a caller that outlines its gaps on every core they would take its cores
    while it attaches the homes (the large city's run: 0.4 s longer). (Circle keys ascending,
    outlines.)"""
    drawn: list[tuple[np.ndarray, Future[np.ndarray]]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="outlines") as pool:
        for owner, xy in parts:
            keys, groups = point_groups(xy, owner)
            drawn.append((keys, pool.submit(outlines, groups)))
        if not drawn:
            return None
        keys = np.concatenate([k for k, _ in drawn])
        polygons = np.concatenate([outlined.result() for _, outlined in drawn])
    order = np.argsort(keys, kind="stable")
    return keys[order], polygons[order]


def _reached_points(
    graph: FacilityGraph, facilities: np.ndarray, limits: list[float], progress: Callable[[int], None] | None
) -> Parts:
    """For each part of :meth:`FacilityGraph.searches` at the largest limit that reaches
    anything: the circle each of its points belongs to (``position in facilities ×
    len(limits) + limit index``), and the points as x, y in the metric CRS: the nodes reached
    within each limit and, on every edge a walk leaves part-way, the point where it runs out.
    ``progress`` is told how many facilities each part searched."""
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
        if progress is not None:
            progress(len(part))
        owner = np.concatenate(owners)
        if len(owner):
            yield owner, np.vstack(coords)
