"""An oracle of walking distances that knows nothing of our graph: networkx's Dijkstra over
every pair of consecutive road vertices (joined where they meet to the centimetre), points
snapped to the nearest segment by brute force. Metres, in the metric CRS it is given."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from gridmap.model import WALK_HIGHWAYS
from gridmap.settings import Settings

Snap = tuple[int, float, float, float]  # segment, offset from its start, access (m), its length


def _key(xy) -> tuple[int, int]:
    return (round(xy[0] / 0.01), round(xy[1] / 0.01))


class WalkOracle:
    """Walking distances over ``roads`` (any CRS) in ``crs`` (metres), on the OSM types
    walked on by default; a point's walk starts with the straight line to its segment."""

    def __init__(self, roads: gpd.GeoDataFrame, crs, max_snap_m: float = Settings.max_snap_m) -> None:
        self.max_snap_m = max_snap_m
        walked = roads[roads["highway"].isin(WALK_HIGHWAYS) | roads["highway"].isna()]
        coords, index = shapely.get_coordinates(walked.to_crs(crs).geometry.values, return_index=True)
        same = index[1:] == index[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        keep = np.any(a != b, axis=1)
        self.a, self.b, self.crs = a[keep], b[keep], crs
        self._searched: dict[tuple[int, int], dict] = {}
        self.graph = nx.Graph()
        for p, q in zip(self.a, self.b, strict=True):
            w, ku, kv = float(np.hypot(*(q - p))), _key(p), _key(q)
            if ku != kv and (not self.graph.has_edge(ku, kv) or self.graph[ku][kv]["weight"] > w):
                self.graph.add_edge(ku, kv, weight=w)

    def _from(self, node: tuple[int, int]) -> dict:
        if node not in self._searched:
            self._searched[node] = nx.single_source_dijkstra_path_length(self.graph, node)
        return self._searched[node]

    def snap(self, p: np.ndarray) -> Snap:
        """The nearest point of the segments to ``p``."""
        ab = self.b - self.a
        length = np.hypot(ab[:, 0], ab[:, 1])
        t = np.clip(((p - self.a) * ab).sum(axis=1) / length**2, 0.0, 1.0)
        near = self.a + ab * t[:, None]
        d = np.hypot(*(near - p).T)
        i = int(np.argmin(d))
        return i, float(t[i] * length[i]), float(d[i]), float(length[i])

    def nearest(self, p: np.ndarray, targets: list[Snap]) -> float:
        """The shortest walk from ``p`` to any of ``targets`` (inf when none is reachable, or
        ``p`` or a target lies farther from every street than the snap distance)."""
        seg, off, access, length = self.snap(p)
        targets = [t for t in targets if t[2] <= self.max_snap_m]
        if access > self.max_snap_m:
            return np.inf
        from_a, from_b = self._from(_key(self.a[seg])), self._from(_key(self.b[seg]))
        best = np.inf
        for fseg, foff, faccess, flen in targets:
            ends = ((_key(self.a[fseg]), foff), (_key(self.b[fseg]), flen - foff))
            for table, lead in ((from_a, off), (from_b, length - off)):
                for node, tail in ends:
                    if node in table:
                        best = min(best, lead + table[node] + tail + faccess)
            if fseg == seg:
                best = min(best, abs(off - foff) + faccess)
        return best + access


def assert_walks_equal(inputs, result, categories: tuple[str, ...], *, level: int = 15, sample: int = 40,
                       seed: int = 3) -> int:  # fmt: skip
    """Each of ``sample`` homes' walks to each category in ``result`` (a coverage run of
    ``inputs``) equals the oracle's to 0.1 m, unreachable alike; returns how many were
    reachable."""
    crs = result.report["crs"]
    oracle = WalkOracle(inputs.roads, crs)
    points = shapely.get_coordinates(result.homes.to_crs(crs).geometry.representative_point().values)
    chosen = np.random.default_rng(seed).choice(len(points), min(sample, len(points)), replace=False)
    facilities = inputs.facilities.to_crs(crs)
    reached = 0
    for category in categories:
        mine = facilities[facilities["categories"].str.split(",").map(lambda c, cat=category: cat in c)]
        targets = [oracle.snap(p) for p in shapely.get_coordinates(mine.geometry.values)]
        for h in chosen:
            expected, got = oracle.nearest(points[h], targets), result.distances[(category, level)][h]
            assert (np.isinf(got) and np.isinf(expected)) or abs(got - expected) <= 0.1, (
                category,
                h,
                got,
                expected,
            )
            reached += int(np.isfinite(got))
    return reached
