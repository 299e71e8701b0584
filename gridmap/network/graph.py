"""The walking network: street lines split at junctions, as a graph with lengths in metres.

Lines are split wherever a vertex is shared by another line (or is a line's end), never at
mere crossings: OSM bridges and tunnels cross without a shared node. Node identity is the
vertex position rounded to 1 cm in the metric CRS. Parallel edges keep the shortest length;
self-loops are dropped, since they never shorten a path. Disconnected parts stay in the graph
and are listed by :meth:`WalkingNetwork.islands`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import connected_components

from gridmap.crs import metric_crs_for, transformer
from gridmap.errors import InputError
from gridmap.model import WALK_HIGHWAYS

NODE_PRECISION_M = 0.01


@dataclass
class WalkingNetwork:
    """A walking network in a metric CRS.

    ``node_xy`` holds node coordinates (metres, in ``crs``); edge ``i`` runs from node
    ``edge_u[i]`` to ``edge_v[i]`` along ``edge_geometry[i]`` with ``edge_length[i]`` metres,
    and came from the road feature ``edge_road_id[i]``.
    """

    crs: CRS
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_geometry: np.ndarray
    edge_road_id: np.ndarray
    component: np.ndarray = field(init=False)
    _tree: shapely.STRtree | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        _, self.component = connected_components(self.adjacency(), directed=False)

    @property
    def node_count(self) -> int:
        return len(self.node_xy)

    @property
    def edge_count(self) -> int:
        return len(self.edge_u)

    @property
    def tree(self) -> shapely.STRtree:
        """A spatial index over the edge geometries."""
        if self._tree is None:
            # small nodes: nearest-edge queries for many points run about a third faster
            self._tree = shapely.STRtree(self.edge_geometry, node_capacity=4)
        return self._tree

    def adjacency(self) -> sp.csr_matrix:
        """The symmetric adjacency matrix, weights in metres."""
        return adjacency_matrix(self.node_count, self.edge_u, self.edge_v, self.edge_length)

    def islands(self) -> pd.DataFrame:
        """Connected parts of the network, largest first.

        Columns: ``component``, ``nodes``, ``edges``, ``length_m``, ``main`` (the largest part)
        and ``geometry`` (its extent as a WKT box in the metric CRS, for reports).
        """
        if self.node_count == 0:
            return pd.DataFrame(columns=["component", "nodes", "edges", "length_m", "main"])
        nodes = np.bincount(self.component)
        edge_comp = self.component[self.edge_u]
        edges = np.bincount(edge_comp, minlength=len(nodes))
        length = np.bincount(edge_comp, weights=self.edge_length, minlength=len(nodes))
        frame = pd.DataFrame(
            {"component": np.arange(len(nodes)), "nodes": nodes, "edges": edges, "length_m": length}
        )
        frame = frame.sort_values(["length_m", "nodes"], ascending=False, kind="stable").reset_index(
            drop=True
        )
        frame["main"] = frame.index == 0
        return frame


def adjacency_matrix(n: int, u: np.ndarray, v: np.ndarray, length: np.ndarray) -> sp.csr_matrix:
    """Symmetric CSR matrix of ``n`` nodes; of parallel edges the shortest is kept."""
    keep = u != v
    a = np.concatenate([u[keep], v[keep]])
    b = np.concatenate([v[keep], u[keep]])
    w = np.concatenate([length[keep], length[keep]])
    pair = a.astype(np.int64) * n + b
    order = np.argsort(pair)
    a, b, w, pair = a[order], b[order], w[order], pair[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    shortest = np.minimum.reduceat(w, np.flatnonzero(first)) if len(w) else w
    indptr = np.concatenate([[0], np.cumsum(np.bincount(a[first], minlength=n))])
    return sp.csr_matrix((shortest, b[first], indptr), shape=(n, n))


def select_walkable(roads: gpd.GeoDataFrame, highways: Iterable[str] | None) -> gpd.GeoDataFrame:
    """The roads whose ``highway`` is one of ``highways``; roads without a type are kept."""
    if highways is None or "highway" not in roads.columns:
        return roads
    allowed = set(highways)
    kind = roads["highway"]
    return roads[kind.isna() | kind.isin(allowed)]


def build_network(
    roads: gpd.GeoDataFrame,
    *,
    highways: Iterable[str] | None = WALK_HIGHWAYS,
    crs: CRS | None = None,
) -> WalkingNetwork:
    """Build the walking network from a road layer (any CRS; lines or multilines).

    ``highways`` limits the OSM ``highway`` types used (None: all). The network is built in
    ``crs`` (metres), by default the UTM zone of the roads' extent.
    """
    if roads.crs is None:
        raise InputError("the road layer has no CRS; cannot measure lengths in metres")
    roads = select_walkable(roads, highways)
    roads = roads[~roads.geometry.isna() & ~roads.geometry.is_empty]
    metric = crs or metric_crs_for(roads if len(roads) else roads.set_crs(roads.crs))
    parts, road_ids = _lines_of(np.asarray(roads.geometry.values), np.asarray(roads.index))
    coords, line = shapely.get_coordinates(parts, return_index=True)
    if len(coords):  # only the vertices are projected: the pieces are built from them in metres
        to_metric = transformer(CRS.from_user_input(roads.crs), metric)
        coords = np.column_stack(to_metric.transform(coords[:, 0], coords[:, 1]))
    return _split_at_junctions(coords, line, road_ids, metric)


def _lines_of(geoms: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The line strings among ``geoms`` with multi-lines split into their parts, in order, and
    the id of the feature each came from."""
    kind = shapely.get_type_id(geoms)
    single = kind == shapely.GeometryType.LINESTRING
    multi = np.flatnonzero(kind == shapely.GeometryType.MULTILINESTRING)
    if len(multi) == 0:
        return geoms[single], ids[single]
    parts, owner = shapely.get_parts(geoms[multi], return_index=True)
    owner = np.concatenate([np.flatnonzero(single), multi[owner]])
    order = np.argsort(owner, kind="stable")  # each feature's parts where the feature was
    return np.concatenate([geoms[single], parts])[order], ids[owner[order]]


def _node_numbers(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node of every vertex (equal when the positions agree to ``NODE_PRECISION_M``), nodes
    numbered in (x, y) order, and how many vertices each node has."""
    keys = np.round(coords / NODE_PRECISION_M).astype(np.int64)
    keys -= keys.min(axis=0)
    span = keys.max(axis=0) + 1
    if span[0] < np.iinfo(np.int64).max // span[1]:  # one integer per position sorts fastest
        _, node, uses = np.unique(keys[:, 0] * span[1] + keys[:, 1], return_inverse=True, return_counts=True)
    else:
        _, node, uses = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return node.ravel(), uses


def _first_of_copies(u: np.ndarray, v: np.ndarray, pieces: np.ndarray, road: np.ndarray) -> np.ndarray:
    """A mask keeping one piece of each set of pieces with the same shape between the same
    nodes (roads drawn twice, or sharing a stretch): the one of the lowest road id. A point
    then attaches to the same piece whichever other roads are read with it."""
    low, high = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((road, high, low))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (low[order][1:] != low[order][:-1]) | (high[order][1:] != high[order][:-1])
    keep = np.ones(len(u), dtype=bool)
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(order)))
    for start, size in zip(starts[sizes > 1], sizes[sizes > 1], strict=True):  # few: shapes one by one
        kept: list[int] = []
        for i in order[start : start + size]:
            if any(shapely.equals(pieces[i], pieces[j]) for j in kept):
                keep[i] = False
            else:
                kept.append(i)
    return keep


def _split_at_junctions(
    coords: np.ndarray, line: np.ndarray, road_ids: np.ndarray, crs: CRS
) -> WalkingNetwork:
    """The network of lines given as vertices ``coords`` (metres) of line ``line`` (numbered
    0.. in order), line ``i`` from road ``road_ids[i]``."""
    if len(coords) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return WalkingNetwork(
            crs, np.zeros((0, 2)), empty, empty, np.zeros(0), np.zeros(0, dtype=object), empty
        )
    # drop repeated consecutive vertices, which would make zero-length pieces
    repeat = np.zeros(len(coords), dtype=bool)
    repeat[1:] = (line[1:] == line[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)
    coords, line = coords[~repeat], line[~repeat]

    vertex_node, node_uses = _node_numbers(coords)
    start = np.ones(len(line), dtype=bool)
    start[1:] = line[1:] != line[:-1]
    end = np.ones(len(line), dtype=bool)
    end[:-1] = line[:-1] != line[1:]
    junction = start | end | (node_uses[vertex_node] > 1)

    # a piece runs from one junction vertex to the next within a line; interior junction
    # vertices end one piece and start the next, so they are taken twice
    group = np.cumsum(start) - 1  # the line of each vertex, numbered 0.. without gaps
    count = np.cumsum(junction)
    local = count - count[start][group]  # junctions before this vertex in its line
    pieces_per_line = np.bincount(group, weights=junction).astype(np.int64) - 1
    first_piece = np.concatenate([[0], np.cumsum(pieces_per_line)[:-1]])
    as_start = ~end
    as_end = junction & ~start
    rows = np.concatenate([np.flatnonzero(as_start), np.flatnonzero(as_end)])
    piece = np.concatenate(
        [first_piece[group[as_start]] + local[as_start], first_piece[group[as_end]] + local[as_end] - 1]
    )
    order = np.lexsort((rows, piece))
    rows, piece = rows[order], piece[order]
    pieces = shapely.linestrings(coords[rows], indices=piece)
    first_row = np.ones(len(piece), dtype=bool)
    first_row[1:] = piece[1:] != piece[:-1]
    last_row = np.ones(len(piece), dtype=bool)
    last_row[:-1] = piece[:-1] != piece[1:]
    u = vertex_node[rows[first_row]]
    v = vertex_node[rows[last_row]]
    piece_line = line[rows[first_row]]
    keep = _first_of_copies(u, v, pieces, road_ids[piece_line])
    u, v, pieces, piece_line = u[keep], v[keep], pieces[keep], piece_line[keep]

    node_xy = np.zeros((len(node_uses), 2))
    node_xy[vertex_node] = coords
    used = np.zeros(len(node_xy), dtype=bool)
    used[u] = used[v] = True
    renumber = np.cumsum(used) - 1
    return WalkingNetwork(
        crs=crs,
        node_xy=node_xy[used],
        edge_u=renumber[u],
        edge_v=renumber[v],
        edge_length=shapely.length(pieces),
        edge_geometry=pieces,
        edge_road_id=road_ids[piece_line],
    )
