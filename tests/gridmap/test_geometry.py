"""Geometry helpers: point groups hull like multipoints, work split over cores changes nothing,
and points placed in the shapes that contain them."""

import numpy as np
import pytest
import shapely

from gridmap import geometry


def test_point_groups_hull_exactly_like_multipoints():
    rng = np.random.default_rng(7)
    xy = rng.random((5000, 2)) * 1000.0
    group = rng.integers(0, 400, len(xy)) * 3  # sparse keys, unsorted
    group[:3] = [5000, 5001, 5001]  # a lone point and a pair
    keys, lines = geometry.point_groups(xy, group)
    assert np.array_equal(keys, np.unique(group))
    order = np.lexsort((xy[:, 1], xy[:, 0], group))  # each group's points by x, then y
    multipoints = shapely.multipoints(xy[order], indices=np.searchsorted(keys, group[order]))
    ours = shapely.concave_hull(lines, ratio=0.3)
    theirs = shapely.concave_hull(multipoints, ratio=0.3)
    assert shapely.equals_exact(ours, theirs, 0.0).all()
    shuffled = rng.permutation(len(xy))  # the same points in any order: the same hulls
    _, again = geometry.point_groups(xy[shuffled], group[shuffled])
    assert shapely.equals_exact(shapely.concave_hull(again, ratio=0.3), ours, 0.0).all()
    lone = int(np.searchsorted(keys, 5000))
    assert ours[lone].equals(shapely.Point(xy[0]))
    assert shapely.get_num_coordinates(lines[lone]) == 2  # a lone point is written twice
    # ordered: by x, then y, the groups interleaved (sorted here), or one group after another
    for ordered in (np.lexsort((xy[:, 1], xy[:, 0])), order):
        keys_again, same = geometry.point_groups(xy[ordered], group[ordered], ordered=True)
        assert np.array_equal(keys_again, keys) and shapely.equals_exact(same, lines, 0.0).all()
    keys, lines = geometry.point_groups(np.zeros((0, 2)), np.zeros(0, dtype=np.int64))
    assert len(keys) == len(lines) == 0


def test_work_on_all_cores_equals_one_call(monkeypatch):
    rng = np.random.default_rng(3)
    _, groups = geometry.point_groups(rng.random((40000, 2)) * 5000.0, rng.integers(0, 3000, 40000))
    monkeypatch.setattr(geometry, "cores", lambda: 3)
    split = geometry.concave_hulls(groups, ratio=0.3)
    assert len(split) == len(groups)
    assert shapely.equals_exact(split, shapely.concave_hull(groups, ratio=0.3), 0.0).all()
    buffered = geometry.on_all_cores(lambda g: shapely.buffer(g, 5.0), split)
    assert shapely.equals_exact(buffered, shapely.buffer(split, 5.0), 0.0).all()


def test_small_arrays_stay_in_one_call(monkeypatch):
    calls = []

    def record(a):
        calls.append(len(a))
        return a * 2

    monkeypatch.setattr(geometry, "cores", lambda: 4)
    assert geometry.on_all_cores(record, np.arange(10)).tolist() == list(range(0, 20, 2))
    assert calls == [10]
    calls.clear()
    out = geometry.on_all_cores(record, np.arange(4 * geometry.MIN_CHUNK))
    assert np.array_equal(out, np.arange(4 * geometry.MIN_CHUNK) * 2)
    assert calls == [geometry.MIN_CHUNK] * 4


def test_containing_gives_the_first_shape_or_minus_one():
    shapes = np.array([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10), shapely.box(20, 0, 30, 10)])
    points = shapely.points([(2, 5), (7, 5), (12, 5), (17, 5), (10, 5)])
    # (7, 5) lies in the first two shapes; (17, 5) in none; (10, 5) on the first one's edge
    assert geometry.containing(points, shapes).tolist() == [0, 0, 1, -1, 1]


def test_a_core_budget_of_one_keeps_the_work_on_one_thread():
    import threading

    seen: set[int] = set()

    def work(a):
        seen.add(threading.get_ident())
        return shapely.buffer(a, 1.0)

    points = shapely.points(np.random.default_rng(1).random((20000, 2)))
    token = geometry.CORE_BUDGET.set(1)
    try:
        assert geometry.cores() == 1
        geometry.on_all_cores(work, points)
    finally:
        geometry.CORE_BUDGET.reset(token)
    assert seen == {threading.get_ident()}
    assert geometry.cores() >= 1


def test_work_beside_has_the_cores_the_caller_leaves_and_runs_at_once_on_one_core():
    """``second_thread``: work runs on a second thread with the caller's core budget (less
    the core a busy caller goes on using), or at once, on the caller's thread, where the
    budget is one core; errors come out of the future either way."""
    import threading

    def where() -> tuple[int, int, bool]:
        return threading.get_ident(), geometry.cores(), geometry.CALLER_BUSY.get()

    def fails() -> None:
        raise ValueError("no")

    here = threading.get_ident()
    for budget, busy in ((3, False), (3, True), (1, False), (1, True)):
        token = geometry.CORE_BUDGET.set(budget)
        try:
            with geometry.second_thread("test", caller_busy=busy) as start:
                thread, seen, told = start(where).result()
                failed = start(fails)
        finally:
            geometry.CORE_BUDGET.reset(token)
        assert seen == (budget - 1 if busy and budget > 1 else budget) and (thread != here) == (budget > 1)
        assert told == (busy and budget > 1)  # the work beside knows its caller is busy
        with pytest.raises(ValueError, match="no"):
            failed.result()


def test_work_beside_may_outlast_its_block():
    """``second_thread(wait=False)``: the block ends while the work goes on; its future
    gives what the work gives once it ends."""
    import threading

    release, started = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "drawn"

    token = geometry.CORE_BUDGET.set(2)
    try:
        with geometry.second_thread("test", wait=False) as start:
            later = start(slow)
            assert started.wait(10)
    finally:
        geometry.CORE_BUDGET.reset(token)
    assert not later.done()  # the block has ended; the work has not
    release.set()
    assert later.result(10) == "drawn"
