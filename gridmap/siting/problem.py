"""A siting instance: demand rows, candidate sites and the walking metres between them.

A demand row is a home for one category and level, weighted by its residents (or
households). Distances are kept sparse, as (row, candidate, metres) triples for the pairs
within the search limit; a pair not listed is out of reach. ``current`` is each row's walk to
the nearest existing station of its category (infinite when none is reachable), so existing
stations count as already covering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gridmap.errors import InputError


@dataclass
class SitingProblem:
    """Demand × candidate instance. Metres throughout; weights are people."""

    weight: np.ndarray  # (n_rows,) residents (or households) of each demand row
    row: np.ndarray  # (n_pairs,) demand row of each known distance
    col: np.ndarray  # (n_pairs,) candidate of each known distance
    dist: np.ndarray  # (n_pairs,) walking metres
    current: np.ndarray  # (n_rows,) metres to the nearest existing station; inf: none
    threshold: np.ndarray  # (n_rows,) metres within which a row counts as covered
    n_candidates: int

    def __post_init__(self) -> None:
        self.weight = np.asarray(self.weight, dtype=float)
        self.row = np.asarray(self.row, dtype=np.int64)
        self.col = np.asarray(self.col, dtype=np.int64)
        self.dist = np.asarray(self.dist, dtype=float)
        self.current = np.asarray(self.current, dtype=float)
        self.threshold = np.asarray(self.threshold, dtype=float)
        self.check()

    @classmethod
    def from_matrix(
        cls,
        cost: np.ndarray,
        weight: np.ndarray,
        threshold: float | np.ndarray,
        current: np.ndarray | None = None,
    ) -> SitingProblem:
        """An instance from a dense cost matrix (rows: demand, columns: candidates, metres).

        ``inf`` marks a pair out of reach; NaN is a missing distance and is refused.
        """
        cost = np.asarray(cost, dtype=float)
        if cost.ndim != 2:
            raise InputError(f"the cost matrix must be 2-dimensional, not of shape {cost.shape}")
        missing = np.argwhere(np.isnan(cost))
        if len(missing):
            i, j = missing[0]
            raise InputError(
                f"the cost matrix has {len(missing)} missing (NaN) distances, the first at "
                f"demand row {i}, candidate {j}; use inf for a pair out of reach"
            )
        n, m = cost.shape
        row, col = np.nonzero(np.isfinite(cost))
        cur = np.full(n, np.inf) if current is None else current
        thr = np.broadcast_to(np.asarray(threshold, dtype=float), (n,)).copy()
        return cls(weight, row, col, cost[row, col], cur, thr, m)

    def check(self) -> None:
        """Refuse malformed instances with a message naming the problem."""
        n = len(self.weight)
        if not (len(self.row) == len(self.col) == len(self.dist)):
            raise InputError("distance triples (row, candidate, metres) differ in length")
        if len(self.current) != n or len(self.threshold) != n:
            raise InputError(
                f"{n} demand weights but {len(self.current)} current distances and "
                f"{len(self.threshold)} thresholds"
            )
        for name, values in (("demand weight", self.weight), ("walking distance", self.dist)):
            bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
            if len(bad):
                raise InputError(
                    f"{len(bad)} {name}s are missing, negative or infinite, the first at "
                    f"position {bad[0]} ({values[bad[0]]})"
                )
        bad = np.flatnonzero(np.isnan(self.current) | (self.current < 0))
        if len(bad):
            raise InputError(
                f"{len(bad)} distances to existing stations are missing or negative, the first "
                f"at demand row {bad[0]}"
            )
        if not np.all(np.isfinite(self.threshold) & (self.threshold > 0)):
            raise InputError("coverage thresholds must be positive metres")
        if len(self.row) and (self.row.min() < 0 or self.row.max() >= n):
            raise InputError(f"a distance names a demand row outside 0..{n - 1}")
        if len(self.col) and (self.col.min() < 0 or self.col.max() >= self.n_candidates):
            raise InputError(f"a distance names a candidate outside 0..{self.n_candidates - 1}")

    @property
    def n_rows(self) -> int:
        return len(self.weight)

    @property
    def covered_before(self) -> np.ndarray:
        """Rows an existing station already covers."""
        return self.current <= self.threshold

    def cover_pairs(self) -> np.ndarray:
        """Mask of the distance triples that bring a row within its circle."""
        mask: np.ndarray = self.dist <= self.threshold[self.row]
        return mask

    def cover_matrix(self) -> sp.csc_matrix:
        """rows × candidates, 1 where the candidate brings the row within its circle."""
        keep = self.cover_pairs()
        data = np.ones(int(keep.sum()))
        shape = (self.n_rows, self.n_candidates)
        return sp.csc_matrix((data, (self.row[keep], self.col[keep])), shape=shape)

    def covered_by(self, chosen: np.ndarray) -> np.ndarray:
        """Rows within the circle of an existing station or of one of ``chosen``."""
        out = self.covered_before.copy()
        keep = self.cover_pairs() & np.isin(self.col, chosen)
        out[self.row[keep]] = True
        return out

    def distance_with(self, chosen: np.ndarray) -> np.ndarray:
        """Each row's metres to the nearest existing or ``chosen`` station."""
        out = self.current.copy()
        keep = np.isin(self.col, chosen)
        np.minimum.at(out, self.row[keep], self.dist[keep])
        return out
