"""Location models over a :class:`SitingProblem`: maximal covering (MCLP), set covering
(LSCP) and p-median, solved as integer programs with HiGHS, or greedily with a bound.

- **MCLP**: at most ``k`` new sites bringing the most people (rows' weights) within their
  circle; rows already covered by an existing station gain nothing.
- **LSCP**: the fewest new sites so that everyone, or a stated share of all people, is within
  a circle, existing stations included.
- **p-median**: ``k`` new sites that least the total walk (person-metres) to the nearest station,
  existing ones included; walks beyond the search limit count at the limit. It is solved in its
  savings form: each row gains ``weight × (current − new)`` metres when it moves to a new site.

With ``capacity`` a station serves at most that many people (rows may be split between
stations). When an instance has more than ``max_nonzeros`` matrix entries, or HiGHS finds no
solution within the time limit, the greedy solution stands, with the bound that greedy
selection of a submodular objective gives (Minoux's online bound: the best value so far plus
the ``k`` largest marginal gains). HiGHS starts from the greedy solution in any case.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike

from gridmap.choices import SITING_MODELS
from gridmap.errors import InputError
from gridmap.grouping import ByKey
from gridmap.siting.problem import SitingProblem

MODELS = SITING_MODELS
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MAX_NONZEROS = 20_000_000
MIP_REL_GAP = 1e-6

MipAnswer = tuple[np.ndarray, str, float, float]  # column values, status, objective, dual bound


class _QuietHighs(highspy.Highs):
    """HiGHS without a word on standard output: its banner comes with the first call into a
    new solver (the callbacks its constructor enables), before any option could stop it."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def enableCallbacks(self) -> None:  # noqa: N802 (highspy's name)
        self.setOptionValue("output_flag", False)
        super().enableCallbacks()  # type: ignore[no-untyped-call]


@dataclass
class Solution:
    """A model's answer. ``chosen`` lists candidates in the order of their marginal gain."""

    model: str
    chosen: np.ndarray
    gains: np.ndarray  # marginal gain of each chosen site in order (people or person-metres)
    objective: float  # MCLP: people newly covered; LSCP: sites; p-median: person-metres walked
    bound: float  # best bound on the objective (upper for MCLP, lower for LSCP and p-median)
    status: str  # "optimal", "time limit", "greedy", "nothing to do"
    solver: str  # "highs" or "greedy"
    seconds: float
    note: str = ""

    @property
    def gap(self) -> float:
        """Relative distance between objective and bound (0 when proven optimal)."""
        if self.objective == self.bound:
            return 0.0
        return abs(self.objective - self.bound) / max(abs(self.objective), abs(self.bound), 1e-9)


def _check_common(problem: SitingProblem, capacity: float | None, spacing: np.ndarray | None) -> None:
    if problem.n_candidates == 0:
        raise InputError("there are no candidate sites to choose from")
    if capacity is not None and not 0 < capacity < math.inf:
        raise InputError(f"station capacity must be a positive number of people, not {capacity}")
    if spacing is not None and len(spacing) and (spacing.min() < 0 or spacing.max() >= problem.n_candidates):
        raise InputError("a spacing pair names a candidate that does not exist")


def _check_count(problem: SitingProblem, k: int) -> None:
    if not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"the number of sites must be a whole number of at least 1, not {k!r}")
    if k > problem.n_candidates:
        raise InputError(f"{k} sites were asked for but there are only {problem.n_candidates} candidates")


# --- greedy -------------------------------------------------------------------------------


class _Greedy:
    """Greedy selection over (row, candidate, benefit-per-person) pairs.

    ``remaining[i]`` is the weight of row ``i`` that a new site can still gain on. For
    coverage the benefit is 1 a person; for p-median it is the metres saved. Without capacity
    a chosen site takes every row it benefits; with capacity it takes the best rows first, up
    to the capacity.
    """

    def __init__(
        self,
        problem: SitingProblem,
        pairs: np.ndarray,
        per_person: np.ndarray,
        remaining: np.ndarray,
        capacity: float | None,
        spacing: np.ndarray | None,
    ) -> None:
        self.row = problem.row[pairs]
        self.col = problem.col[pairs]
        self.dist = problem.dist[pairs]
        self.per_person = per_person
        self.remaining = remaining.astype(float).copy()
        self.capacity = capacity
        self.m = problem.n_candidates
        self.blocked = np.zeros(self.m, dtype=bool)
        self.neighbours = _neighbour_lists(spacing, self.m)
        if capacity is None:  # a site takes all its rows: their order does not matter
            order = np.argsort(self.col, kind="stable")
        else:  # by candidate, the best rows first, then the nearest
            order = np.lexsort((self.dist, -per_person, self.col))
        self._order = order
        self._starts = np.searchsorted(self.col[order], np.arange(self.m + 1))
        self._gains: np.ndarray | None = None
        self._by_row: ByKey | None = None

    def gains(self) -> np.ndarray:
        """Each candidate's gain if opened now (do not modify: it may be kept between steps)."""
        if self.capacity is None and self._incremental:
            if self._gains is None:
                value = self.remaining[self.row] * self.per_person
                self._gains = np.bincount(self.col, weights=value, minlength=self.m)
                self._by_row = ByKey(self.row, int(self.row.max()) + 1 if len(self.row) else 0)
            return self._gains
        value = self.remaining[self.row] * self.per_person
        if self.capacity is None:
            return np.bincount(self.col, weights=value, minlength=self.m)
        # the best rows of each candidate up to its capacity
        o = self._order
        w = self.remaining[self.row[o]]
        cum = np.cumsum(w)
        before = cum - w - np.repeat(np.r_[0.0, cum][self._starts[:-1]], np.diff(self._starts))
        take = np.clip(self.capacity - before, 0.0, w)
        return np.bincount(self.col[o], weights=take * self.per_person[o], minlength=self.m)

    def take(self, j: int) -> float:
        """Open candidate ``j``; returns what it gains."""
        o = self._order[self._starts[j] : self._starts[j + 1]]
        rows, benefit = self.row[o], self.per_person[o]
        w = self.remaining[rows]
        if self.capacity is None:
            amount = w
        else:
            before = np.cumsum(w) - w
            amount = np.clip(self.capacity - before, 0.0, w)
        gain = float((amount * benefit).sum())
        self.settle(rows, amount, o)
        self.blocked[j] = True
        self.blocked[self.neighbours.get(j, [])] = True
        return gain

    #: without capacity, gains are kept up to date from the rows each step settles, rather
    #: than summed anew over every pair: a step costs what it covers, not the whole matrix
    _incremental = True

    def settle(self, rows: np.ndarray, amount: np.ndarray, pairs: np.ndarray) -> None:
        self.remaining[rows] -= amount
        if self._gains is not None and self._by_row is not None:
            at, pair = self._by_row.expand(rows)  # every pair of the settled rows
            lost = np.bincount(self.col[pair], weights=amount[at] * self.per_person[pair], minlength=self.m)
            self._gains = self._gains - lost


class _MedianGreedy(_Greedy):
    """p-median savings: without capacity a row moves to a closer site entirely and its
    remaining saving is measured from there; with capacity the moved part stays put."""

    _incremental = False

    def __init__(
        self,
        problem: SitingProblem,
        current: np.ndarray,
        remaining: np.ndarray,
        capacity: float | None,
        spacing: np.ndarray | None,
    ) -> None:
        self.current = current.copy()
        pairs = np.flatnonzero(problem.dist < current[problem.row])
        super().__init__(
            problem, pairs, current[problem.row[pairs]] - problem.dist[pairs], remaining, capacity, spacing
        )

    def settle(self, rows: np.ndarray, amount: np.ndarray, pairs: np.ndarray) -> None:
        if self.capacity is None:
            self.current[rows] = np.minimum(self.current[rows], self.dist[pairs])
            self.per_person = np.maximum(self.current[self.row] - self.dist, 0.0)
        else:
            self.remaining[rows] -= amount


def _neighbour_lists(spacing: np.ndarray | None, m: int) -> dict[int, np.ndarray]:
    if spacing is None or len(spacing) == 0:
        return {}
    both = np.vstack([spacing, spacing[:, ::-1]])
    frame = pd.DataFrame(both, columns=["a", "b"])
    return {int(a): g["b"].to_numpy() for a, g in frame.groupby("a")}


def _run_greedy(
    greedy: _Greedy, k: int | None, target: float | None, bound_every_step: bool
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Pick up to ``k`` sites (or until ``target`` is gained). Returns chosen, gains, and the
    online bound: for ``k``, an upper bound on the best total gain of ``k`` sites; for
    ``target``, a lower bound on the number of sites that reach it."""
    chosen: list[int] = []
    gains: list[float] = []
    total = 0.0
    bound = np.inf if k is not None else 0.0
    while True:
        g = greedy.gains()
        if k is not None and (bound_every_step or not chosen):
            bound = min(bound, total + float(np.sort(g)[::-1][:k].sum()))
        if target is not None and (bound_every_step or not chosen):
            need = target - total
            top = np.cumsum(np.sort(g)[::-1])
            more = int(np.searchsorted(top, need - 1e-9)) + 1 if need > 1e-9 else 0
            bound = max(bound, float(min(more, len(top))))
        if (k is not None and len(chosen) >= k) or (target is not None and total >= target - 1e-9):
            break
        g = np.where(greedy.blocked, -1.0, g)
        j = int(np.argmax(g))
        if g[j] <= 1e-12:
            break
        gain = greedy.take(j)
        chosen.append(j)
        gains.append(gain)
        total += gain
    return np.array(chosen, dtype=np.int64), np.array(gains), total, bound


# --- HiGHS --------------------------------------------------------------------------------


class _Mip:
    """A mixed-integer program assembled column block by column block, solved by HiGHS."""

    def __init__(self) -> None:
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.n_cols = 0
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.n_rows = 0

    def cols(
        self, n: int, cost: ArrayLike, lower: float = 0.0, upper: float = 1.0, integer: bool = False
    ) -> int:
        start = self.n_cols
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (n,)))
        self.lower.append(np.full(n, lower, dtype=float))
        self.upper.append(np.full(n, upper, dtype=float))
        self.integer.append(np.full(n, integer))
        self.n_cols += n
        return start

    def rows(
        self, lower: ArrayLike, upper: ArrayLike, row: np.ndarray, col: np.ndarray, value: ArrayLike
    ) -> None:
        """Rows numbered from 0 in ``row``; bounds per row (arrays or scalars)."""
        n = int(row.max()) + 1 if len(row) else 0
        self.entries.append((row + self.n_rows, col, np.asarray(value, dtype=float)))
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)))
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)))
        self.n_rows += n

    @property
    def nonzeros(self) -> int:
        return sum(len(e[0]) for e in self.entries)

    def solve(
        self, maximize: bool, time_limit_s: float, start: np.ndarray | None, presolve: bool = True
    ) -> MipAnswer | Literal["infeasible"] | None:
        """Returns (column values, status, objective, bound) or None without a solution."""
        r = np.concatenate([e[0] for e in self.entries])
        c = np.concatenate([e[1] for e in self.entries])
        v = np.concatenate([e[2] for e in self.entries])
        a = sp.csc_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_cols, self.n_rows
        lp.col_cost_ = np.concatenate(self.cost)
        lp.col_lower_ = np.concatenate(self.lower)
        lp.col_upper_ = np.concatenate(self.upper)
        lp.row_lower_ = np.concatenate(self.row_lower)
        lp.row_upper_ = np.concatenate(self.row_upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        integer = np.concatenate(self.integer)
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer
        ]
        lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        h = _QuietHighs()
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        h.setOptionValue("threads", 1)
        if not presolve:
            h.setOptionValue("presolve", "off")
        h.passModel(lp)
        if start is not None:
            # with the greedy solution to start from, HiGHS's own first-solution search
            # (feasibility jump) only costs time: a third of it on a district
            h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
            idx = np.flatnonzero(~np.isnan(start)).astype(np.int32)
            h.setSolution(len(idx), idx, start[idx].astype(float))
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        if info.primal_solution_status != 2:  # no feasible solution
            return None if status != highspy.HighsModelStatus.kInfeasible else "infeasible"
        x = np.asarray(h.getSolution().col_value)
        label = (
            "optimal"
            if status == highspy.HighsModelStatus.kOptimal
            else h.modelStatusToString(status).lower()
        )
        return x, label, float(info.objective_function_value), float(info.mip_dual_bound)


# --- models -------------------------------------------------------------------------------


def _merge_rows(cover: sp.csr_matrix, weight: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Rows with the same candidates merged, their weights summed: (matrix, weights, row key)."""
    ind, ptr = cover.indices, cover.indptr
    keys = [ind[ptr[i] : ptr[i + 1]].tobytes() for i in range(cover.shape[0])]
    code, uniques = pd.factorize(pd.Series(keys))
    first = np.unique(code, return_index=True)[1]
    merged_w = np.bincount(code, weights=weight, minlength=len(uniques))
    return cover[first], merged_w, code


def _coverage_parts(problem: SitingProblem) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Uncovered rows with weight, their cover matrix (csr, sorted) and those no site reaches."""
    cover = problem.cover_matrix().tocsr()
    cover.sort_indices()
    open_rows = ~problem.covered_before & (problem.weight > 0)
    reach = np.diff(cover.indptr) > 0
    return cover, open_rows & reach, open_rows & ~reach


def _cover_mip(a: sp.csr_matrix, w: np.ndarray, capacity: float | None) -> tuple[_Mip, int, int, int | None]:
    """Columns y (sites) then z (rows covered); with capacity also x (row-to-site shares).
    Returns the program and its column starts; rows z − Σ y ≤ 0 (or z − Σ x ≤ 0 with x ≤ y and
    Σ w x ≤ capacity × y)."""
    mip = _Mip()
    n, m = a.shape
    y0 = mip.cols(m, 0.0, integer=True)
    z0 = mip.cols(n, 0.0)
    coo = a.tocoo()
    if capacity is None:
        mip.rows(-np.inf, 0.0, np.r_[np.arange(n), coo.row], np.r_[z0 + np.arange(n), y0 + coo.col],
                 np.r_[np.ones(n), -np.ones(coo.nnz)])  # fmt: skip
        return mip, y0, z0, None
    x0 = mip.cols(coo.nnz, 0.0)
    xi = x0 + np.arange(coo.nnz)
    mip.rows(-np.inf, 0.0, np.r_[np.arange(n), coo.row], np.r_[z0 + np.arange(n), xi],
             np.r_[np.ones(n), -np.ones(coo.nnz)])  # fmt: skip
    k = np.arange(coo.nnz)
    mip.rows(-np.inf, 0.0, np.r_[k, k], np.r_[xi, y0 + coo.col], np.r_[np.ones(coo.nnz), -np.ones(coo.nnz)])
    mip.rows(-np.inf, 0.0, np.r_[coo.col, np.arange(m)], np.r_[xi, y0 + np.arange(m)],
             np.r_[w[coo.row], -capacity * np.ones(m)])  # fmt: skip
    return mip, y0, z0, x0


def _add_spacing(mip: _Mip, y0: int, spacing: np.ndarray | None) -> None:
    if spacing is not None and len(spacing):
        p = np.arange(len(spacing))
        mip.rows(-np.inf, 1.0, np.r_[p, p], y0 + np.r_[spacing[:, 0], spacing[:, 1]], np.ones(2 * len(p)))


def _start(
    mip: _Mip, y0: int, m: int, chosen: np.ndarray, cover: tuple[sp.csr_matrix, int] | None = None
) -> np.ndarray:
    """A starting point for HiGHS: the greedy sites open among the ``m`` site columns from
    ``y0``. With ``cover`` (the matrix and first z column of a cover program without capacity)
    the rows they cover are set too, which spares HiGHS an LP to complete the start; it
    completes the columns left NaN itself."""
    x = np.full(mip.n_cols, np.nan)
    x[y0 : y0 + m] = 0.0
    x[y0 + chosen] = 1.0
    if cover is not None:
        a, z0 = cover
        x[z0 : z0 + a.shape[0]] = np.minimum(a @ x[y0 : y0 + m], 1.0)
    return x


def _exact(
    mip: _Mip,
    maximize: bool,
    time_limit_s: float,
    start: np.ndarray | None,
    max_nonzeros: int,
    presolve: bool = True,
) -> tuple[MipAnswer | None, str]:
    """HiGHS's answer, or (None, reason) when the instance is too large or unsolved."""
    if mip.nonzeros > max_nonzeros:
        return None, f"{mip.nonzeros:,} matrix entries exceed the exact-solve limit of {max_nonzeros:,}"
    out = mip.solve(maximize, time_limit_s, start, presolve)
    if isinstance(out, str):
        return None, "infeasible"
    if out is None:
        return None, f"HiGHS found no solution within {time_limit_s:g} s"
    return out, ""


def _ordered(greedy_factory: Callable[[], _Greedy], chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order a set of sites by marginal gain (the greedy order within the set)."""
    greedy = greedy_factory()
    allowed = np.zeros(greedy.m, dtype=bool)
    allowed[chosen] = True
    order, gains = [], []
    for _ in range(len(chosen)):
        g = np.where(allowed, greedy.gains(), -np.inf)
        j = int(np.argmax(g))
        allowed[j] = False
        gains.append(greedy.take(j))
        order.append(j)
    return np.array(order, dtype=np.int64), np.array(gains)


def mclp(
    problem: SitingProblem,
    k: int,
    *,
    capacity: float | None = None,
    spacing: np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    max_nonzeros: int = DEFAULT_MAX_NONZEROS,
) -> Solution:
    """Maximal covering: at most ``k`` new sites that bring the most people within their
    circle. ``spacing`` lists candidate pairs (m × 2) that may not both be chosen."""
    _check_common(problem, capacity, spacing)
    _check_count(problem, k)
    clock = time.perf_counter()
    cover, rows, _ = _coverage_parts(problem)
    remaining = np.where(rows, problem.weight, 0.0)

    def factory() -> _Greedy:
        pairs = np.flatnonzero(problem.cover_pairs())
        return _Greedy(problem, pairs, np.ones(len(pairs)), remaining, capacity, spacing)

    chosen, gains, total, bound = _run_greedy(factory(), k, None, capacity is None)
    if not rows.any():
        return Solution("mclp", chosen, gains, 0.0, 0.0, "nothing to do", "greedy", time.perf_counter() - clock,
                        "everyone the candidates can reach is already within a circle")  # fmt: skip
    a, w, _ = _merge_rows(cover[rows], problem.weight[rows])
    mip, y0, z0, _ = _cover_mip(a, w, capacity)
    mip.cost[1] = w  # maximise the people covered
    mip.rows(
        -np.inf,
        float(k),
        np.zeros(a.shape[1], dtype=np.int64),
        y0 + np.arange(a.shape[1]),
        np.ones(a.shape[1]),
    )
    _add_spacing(mip, y0, spacing)
    # HiGHS's presolve spends most of an MCLP's time looking for dominated columns and gains
    # little on rows already merged: without it the tiled city (58,000 homes, 8,500
    # candidates) solves in 0.6 s rather than 9 s, and the demo district in half the time
    start = _start(mip, y0, a.shape[1], chosen, (a, z0) if capacity is None else None)
    out, note = _exact(mip, True, time_limit_s, start, max_nonzeros, presolve=False)
    if out is None:
        return Solution(
            "mclp", chosen, gains, total, bound, "greedy", "greedy", time.perf_counter() - clock, note
        )
    x, status, objective, dual = out
    picked = np.flatnonzero(x[y0 : y0 + a.shape[1]] > 0.5)
    order, gains = _ordered(factory, picked)
    return Solution(
        "mclp", order, gains, objective, min(dual, bound), status, "highs", time.perf_counter() - clock
    )


def lscp(
    problem: SitingProblem,
    share: float = 1.0,
    *,
    capacity: float | None = None,
    spacing: np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    max_nonzeros: int = DEFAULT_MAX_NONZEROS,
) -> Solution:
    """Set covering: the fewest new sites so that ``share`` of all people (existing stations'
    circles included) are within a circle."""
    _check_common(problem, capacity, spacing)
    if not (0.0 < share <= 1.0):
        raise InputError(f"the share to cover must be above 0 and at most 1, not {share}")
    clock = time.perf_counter()
    cover, rows, unreachable = _coverage_parts(problem)
    total_w = float(problem.weight.sum())
    already = float(problem.weight[problem.covered_before].sum())
    need = share * total_w - already
    reachable = float(problem.weight[rows].sum())
    if need > reachable + 1e-6:
        lost = problem.weight[unreachable]
        best = (already + reachable) / total_w if total_w else 1.0
        homes = int((lost > 0).sum())
        raise InputError(
            f"covering {share:.0%} is infeasible: {int(lost.sum()):,} people in {homes:,} "
            f"home{'s are' if homes != 1 else ' is'} beyond the reach of every candidate site; at most "
            f"{best:.1%} can be covered (lower the share, or give sites near them as candidates)"
        )
    remaining = np.where(rows, problem.weight, 0.0)

    def factory() -> _Greedy:
        pairs = np.flatnonzero(problem.cover_pairs())
        return _Greedy(problem, pairs, np.ones(len(pairs)), remaining, capacity, spacing)

    if need <= 1e-9:
        return Solution("lscp", np.zeros(0, dtype=np.int64), np.zeros(0), 0.0, 0.0, "nothing to do", "greedy",
                        time.perf_counter() - clock, f"existing stations already cover {already / total_w:.1%}")  # fmt: skip
    chosen, gains, total, bound = _run_greedy(factory(), None, need, capacity is None)
    greedy_ok = total >= need - 1e-6
    a, w, _ = _merge_rows(cover[rows], problem.weight[rows])
    mip, y0, z0, _ = _cover_mip(a, w, capacity)
    mip.cost[0] = np.ones(a.shape[1])  # fewest sites
    n = a.shape[0]
    if share >= 1.0:
        mip.lower[1] = np.ones(n)  # every row covered
    else:
        mip.rows(need - 1e-6, np.inf, np.zeros(n, dtype=np.int64), z0 + np.arange(n), w)
    _add_spacing(mip, y0, spacing)
    start = _start(mip, y0, a.shape[1], chosen, (a, z0) if capacity is None else None) if greedy_ok else None
    out, note = _exact(mip, False, time_limit_s, start, max_nonzeros)
    if out is None and not greedy_ok:
        why = "is infeasible" if note == "infeasible" else f"found no solution ({note})"
        raise InputError(
            f"covering {share:.0%} {why} with the spacing rule or station capacity; the greedy "
            f"choice reaches {(already + total) / total_w:.1%}"
        )
    if out is None:
        return Solution("lscp", chosen, gains, float(len(chosen)), float(bound), "greedy", "greedy",
                        time.perf_counter() - clock, note)  # fmt: skip
    x, status, objective, dual = out
    picked = np.flatnonzero(x[y0 : y0 + a.shape[1]] > 0.5)
    order, gains = _ordered(factory, picked)
    lower = max(float(np.ceil(dual - 1e-6)), float(bound))
    return Solution(
        "lscp", order, gains, float(round(objective)), lower, status, "highs", time.perf_counter() - clock
    )


def pmedian(
    problem: SitingProblem,
    k: int,
    *,
    cutoff_m: float | None = None,
    capacity: float | None = None,
    spacing: np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    max_nonzeros: int = DEFAULT_MAX_NONZEROS,
) -> Solution:
    """p-median: ``k`` new sites that least the total walk in person-metres, each person
    walking to the nearest station (existing or new). Walks longer than ``cutoff_m`` (default:
    the longest known distance) count as ``cutoff_m``."""
    _check_common(problem, capacity, spacing)
    _check_count(problem, k)
    clock = time.perf_counter()
    cutoff = float(cutoff_m if cutoff_m is not None else (problem.dist.max() if len(problem.dist) else 0.0))
    current = np.minimum(problem.current, cutoff)
    before = float((problem.weight * current).sum())
    weight = problem.weight

    def factory() -> _Greedy:
        return _MedianGreedy(problem, current, weight, capacity, spacing)

    chosen, gains, saved, bound = _run_greedy(factory(), k, None, capacity is None)
    useful = np.flatnonzero((problem.dist < current[problem.row]) & (weight[problem.row] > 0))
    if len(useful) == 0:
        return Solution("pmedian", chosen, gains, before, before, "nothing to do", "greedy",
                        time.perf_counter() - clock, "no candidate is closer than the existing stations")  # fmt: skip
    row, col = problem.row[useful], problem.col[useful]
    saving = weight[row] * (current[row] - problem.dist[useful])
    mip = _Mip()
    m = problem.n_candidates
    y0 = mip.cols(m, 0.0, integer=True)
    x0 = mip.cols(len(useful), saving)
    xi = x0 + np.arange(len(useful))
    _, r = np.unique(row, return_inverse=True)
    mip.rows(-np.inf, 1.0, r, xi, np.ones(len(xi)))  # each row at most once
    p = np.arange(len(xi))
    mip.rows(-np.inf, 0.0, np.r_[p, p], np.r_[xi, y0 + col], np.r_[np.ones(len(p)), -np.ones(len(p))])
    mip.rows(-np.inf, float(k), np.zeros(m, dtype=np.int64), y0 + np.arange(m), np.ones(m))
    if capacity is not None:
        mip.rows(-np.inf, 0.0, np.r_[col, np.arange(m)], np.r_[xi, y0 + np.arange(m)],
                 np.r_[weight[row], -capacity * np.ones(m)])  # fmt: skip
    _add_spacing(mip, y0, spacing)
    out, note = _exact(mip, True, time_limit_s, _start(mip, y0, m, chosen), max_nonzeros)
    if out is None:
        return Solution("pmedian", chosen, gains, before - saved, before - bound, "greedy", "greedy",
                        time.perf_counter() - clock, note)  # fmt: skip
    x, status, objective, dual = out
    picked = np.flatnonzero(x[y0 : y0 + m] > 0.5)
    order, gains = _ordered(factory, picked)
    return Solution("pmedian", order, gains, before - objective, before - min(dual, bound), status, "highs",
                    time.perf_counter() - clock)  # fmt: skip


def solve(model: str, problem: SitingProblem, **options: Any) -> Solution:
    """Run ``model`` (one of :data:`MODELS`) with its options."""
    if model not in MODELS:
        raise InputError(f"model '{model}' is not one of {', '.join(MODELS)}")
    runners: dict[str, Callable[..., Solution]] = {"mclp": mclp, "lscp": lscp, "pmedian": pmedian}
    return runners[model](problem, **options)
