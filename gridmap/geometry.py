"""Vectorised geometry helpers for large arrays: groups of points as one geometry each, and
GEOS work spread over the machine's cores.

GEOS releases Python's global lock while it works on an array, so splitting one big call
into a chunk per core runs them side by side in threads; the results are the same as one
call's. Coordinates are whatever CRS the caller works in (metres for every caller here).
"""

from __future__ import annotations

import contextvars
import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Arrays shorter than this (or of less total weight) run in one call: threads would cost
#: more than they save.
MIN_CHUNK = 512

T = TypeVar("T")
#: starts a piece of work and gives its future (:func:`second_thread`)
Start = Callable[[Callable[[], Any]], "Future[Any]"]


#: the cores the work in this context may use (None: all this process may run on), as a Dask
#: worker's threads say: a worker of one thread is one core, its neighbours the others
CORE_BUDGET: ContextVar[int | None] = ContextVar("core_budget", default=None)
#: whether the work in this context runs beside a caller that goes on with work of its own
#: (:func:`second_thread` with ``caller_busy``)
CALLER_BUSY: ContextVar[bool] = ContextVar("caller_busy", default=False)


def cores() -> int:
    """The CPU cores this work may run on: the context's budget, else this process's."""
    budget = CORE_BUDGET.get()
    if budget is not None:
        return max(budget, 1)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


@contextmanager
def second_thread(name: str, *, wait: bool = True, caller_busy: bool = False) -> Iterator[Start]:
    """``start(work)`` runs ``work`` beside what the caller goes on with, on a second thread
    that carries the caller's context, and gives its future; where the work may use only one
    core, ``work`` runs at once instead. The work keeps the caller's core budget
    (:data:`CORE_BUDGET`), less one core with ``caller_busy``: where the caller goes on with
    long work of its own meanwhile (drawn on every core, the demo's circles slowed the saving
    of its results beside them by a third; where the caller soon only waits for them, they
    took a third longer on one core less), and says so in :data:`CALLER_BUSY`. The thread is
    waited for when the block ends, unless ``wait`` is false: then its work ends on its own,
    and its future holds what it gives."""
    if cores() < 2:

        def now(work: Callable[[], T]) -> Future[T]:
            done: Future[T] = Future()
            try:
                done.set_result(work())
            except Exception as exc:
                done.set_exception(exc)
            return done

        yield now
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix=name)

    def start(work: Callable[[], T]) -> Future[T]:
        context = contextvars.copy_context()
        if caller_busy:  # the caller goes on using one core: the work has the others
            context.run(CORE_BUDGET.set, cores() - 1)
            context.run(CALLER_BUSY.set, True)
        return pool.submit(context.run, work)

    try:
        yield start
    finally:
        pool.shutdown(wait=wait)


def on_all_cores(
    func: Callable[..., np.ndarray], *arrays: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
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


def point_groups(xy: np.ndarray, group: np.ndarray, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The points of each distinct value of ``group`` (any order) as one geometry, for
    hulls: (sorted group keys, geometries). Each group's points are sorted by x, then y, so
    that the same points in any order give the same hull (a concave hull of a street grid's
    points has ties that order would otherwise break); ``ordered`` says the points come in
    that order already, and are only grouped (with no copy at all when each group's points
    come one after another, groups in increasing order).

    Each group becomes a line through its points (a lone point twice), one coordinate array
    per group built in one call, rather than one object per point as ``shapely.multipoints``
    makes (several times slower, and some 150 bytes a point). Hulls only look at the
    vertices, so they come out the same as the multipoints' hulls. The lines themselves mean
    nothing.
    """
    order: np.ndarray | slice
    if ordered and (len(group) < 2 or bool((group[1:] >= group[:-1]).all())):
        order = slice(None)  # grouped already: no gather through memory at random
    elif ordered:
        order = np.argsort(group, kind="stable")
    else:
        order = np.lexsort((xy[:, 1], xy[:, 0], group))
    grouped = group[order]
    first = np.ones(len(grouped), dtype=bool)  # where each group starts (runs of the sorted keys)
    first[1:] = grouped[1:] != grouped[:-1]
    starts = np.flatnonzero(first)
    keys, counts = grouped[starts], np.diff(np.append(starts, len(grouped)))
    coords, line = xy[order], np.cumsum(first) - 1  # each point's group, in order
    if (counts == 1).any():  # a line needs two points: a lone one is written twice
        twice = np.where(counts == 1, 2, 1)[line]
        coords, line = np.repeat(coords, twice, axis=0), np.repeat(line, twice)
    return keys, shapely.linestrings(coords, indices=line)


def concave_hulls(groups: np.ndarray, ratio: float) -> np.ndarray:
    """``shapely.concave_hull`` of every geometry (e.g. from :func:`point_groups`), on all cores."""
    weights = shapely.get_num_coordinates(groups)
    return on_all_cores(lambda g: shapely.concave_hull(g, ratio=ratio), groups, weights=weights)


def points_in(shapes: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (shape, point) pair, as positions, where the shape contains the point.

    Each shape, prepared once, tests the points near it: far faster than testing a point at
    a time against the shapes."""
    pairs = shapely.STRtree(points).query(shapes, predicate="contains")
    return pairs[0], pairs[1]


def containing(points: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """For each point, the position of the first of ``shapes`` it lies in, or -1 (same CRS)."""
    shape, point = points_in(shapes, points)
    order = np.lexsort((shape, point))
    point, shape = point[order], shape[order]
    first = np.ones(len(point), dtype=bool)
    first[1:] = point[1:] != point[:-1]
    out = np.full(len(points), -1, dtype=np.int64)
    out[point[first]] = shape[first]
    return out


def containing_ids(points: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> pd.Series:
    """The ``id`` of the area of ``areas`` each point lies in (NA outside every area; the
    first area in ``areas`` order where areas overlap). Same CRS for both."""
    inside = containing(np.asarray(points.values), np.asarray(areas.geometry.values))
    ids = pd.array([pd.NA] * len(points), dtype="Int64")
    found = inside >= 0
    ids[found] = pd.array(areas["id"].to_numpy()[inside[found]], dtype="Int64")
    return pd.Series(ids, index=points.index)
