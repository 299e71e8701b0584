"""Vectorised geometry helpers for large arrays: groups of points as multipoints, and GEOS
work spread over the machine's cores.

GEOS releases Python's global lock while it works on an array, so splitting one big call
into a chunk per core runs them side by side in threads; the results are the same as one
call's. Coordinates are whatever CRS the caller works in (metres for every caller here).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

#: Arrays shorter than this (or of less total weight) run in one call: threads would cost
#: more than they save.
MIN_CHUNK = 512

_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
_HEADER = np.dtype([("order", "u1"), ("kind", "<u4"), ("count", "<u4")])


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def on_all_cores(func: Callable[..., np.ndarray], *arrays: np.ndarray, weights=None) -> np.ndarray:
    """``func(*arrays)`` computed in one chunk per core and concatenated.

    ``func`` must work element by element on equally long arrays and release the GIL (shapely's
    vectorised functions and STRtree queries do). ``weights`` (one per element, e.g. point
    counts) balance the chunks by work rather than by length.
    """
    n = len(arrays[0])
    workers = min(cores(), n if weights is not None else n // MIN_CHUNK)
    if weights is not None and np.sum(weights) < MIN_CHUNK:
        workers = 1
    if workers <= 1:
        return func(*arrays)
    if weights is None:
        bounds = np.linspace(0, n, workers + 1).astype(np.int64)
    else:
        total = np.cumsum(weights, dtype=np.float64)
        bounds = np.searchsorted(total, total[-1] * np.arange(workers + 1) / workers, side="left")
        bounds[0], bounds[-1] = 0, n
    chunks = [tuple(a[lo:hi] for a in arrays) for lo, hi in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda chunk: func(*chunk), chunks))
    return np.concatenate(parts)


def grouped_multipoints(xy: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One multipoint per distinct value of ``group`` (any order): (sorted group keys,
    multipoints). The same geometries as ``shapely.multipoints(xy, indices=...)``, built
    through WKB so that no Python object is made per point."""
    order = np.argsort(group, kind="stable")
    keys, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
    points = np.empty(len(xy), dtype=_POINT)
    points["order"], points["kind"] = 1, 1  # little-endian, Point
    points["x"], points["y"] = xy[order, 0], xy[order, 1]
    body = points.tobytes()
    headers = np.empty(len(keys), dtype=_HEADER)
    headers["order"], headers["kind"], headers["count"] = 1, 4, counts  # MultiPoint of count
    size = _POINT.itemsize
    wkb = np.empty(len(keys), dtype=object)
    for i, (head, start, count) in enumerate(zip(headers, starts.tolist(), counts.tolist(), strict=True)):
        wkb[i] = head.tobytes() + body[start * size : (start + count) * size]
    return keys, on_all_cores(shapely.from_wkb, wkb, weights=counts)


def concave_hulls(multipoints: np.ndarray, ratio: float) -> np.ndarray:
    """``shapely.concave_hull`` of every multipoint, on all cores."""
    weights = shapely.get_num_geometries(multipoints)
    return on_all_cores(lambda g: shapely.concave_hull(g, ratio=ratio), multipoints, weights=weights)
