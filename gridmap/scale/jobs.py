"""Running a run's parts: on a Dask cluster (each part a task), or one after another in this
process; a part that fails is sent again while its caller allows, and reported."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

import numpy as np

from gridmap.errors import GridmapError, InputError
from gridmap.geometry import CORE_BUDGET
from gridmap.scale.partitions import Partitioning
from gridmap.scale.sources import LayerSource


@dataclass(frozen=True)
class Part:
    """One part of a run as a worker gets it: where it reads, which part of the cut it is,
    and what only the whole run knows: the compounds that hold a home
    (:meth:`~gridmap.scale.sources.LayerSource.compounds_lived_in`). The parts of a run
    differ only in ``index``: on a cluster the rest travels to each worker once."""

    source: LayerSource
    cut: Partitioning
    index: int
    lived_in: np.ndarray

    @property
    def key(self) -> str:
        return self.cut.parts[self.index].key


def peak_mb() -> float:
    """This process's peak resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _on_worker(work: Callable[[PartT], Any], shared: PartT, index: int) -> Any:
    """``work`` on part ``index`` of a run whose parts are ``shared`` but for their index,
    on a Dask worker, using as many cores as the worker has threads: its neighbours on the
    machine have the others."""
    from distributed import get_worker

    budget = CORE_BUDGET.set(get_worker().state.nthreads)
    try:
        return work(replace(shared, index=index))
    finally:
        CORE_BUDGET.reset(budget)


def _same(value: PartT) -> PartT:
    """``value`` as a task's result: kept on a worker, fetched by the others, worked out again
    if lost."""
    return value


def _shared(jobs: list[PartT]) -> PartT:
    """What the parts of a run have in common: the first, when the others differ from it in
    their index only (the same objects, not copies)."""
    first = jobs[0]
    names = [f.name for f in fields(first) if f.name != "index"]
    for job in jobs[1:]:
        if type(job) is not type(first) or any(getattr(job, n) is not getattr(first, n) for n in names):
            raise ValueError("the parts of a run differ only in their index")
    return first


class PartsFailedError(GridmapError):
    """Parts that failed more often than they may be sent again, with their errors."""

    def __init__(self, keys: list[str], errors: dict[str, list[str]]) -> None:
        self.keys, self.errors = keys, errors
        lines = "; ".join(f"{k}: {errors[k][-1]} ({len(errors[k])} attempts)" for k in keys)
        super().__init__(f"{len(keys)} part(s) failed: {lines}")


PartT = TypeVar("PartT", bound=Part)

#: (part key, parts done, parts in all, what happened: "walked", "reused", "failed: …", …)
PartProgress = Callable[[str, int, int, str], None]


class Tally:
    """What has come of a run's ``total`` parts: each part's outcome by key, the errors of
    those that failed (a part is sent again while it has failed at most ``retries`` times),
    told to ``progress`` as they come."""

    def __init__(self, total: int, retries: int, progress: PartProgress | None = None) -> None:
        self.total, self.retries, self.progress = total, retries, progress
        self.outcomes: dict[str, Any] = {}
        self.failures: dict[str, list[str]] = {}

    def done(self, key: str, outcome: Any, what: str) -> None:
        self.outcomes[key] = outcome
        if self.progress:
            self.progress(key, len(self.outcomes), self.total, what)

    def failed(self, key: str, error: BaseException) -> bool:
        """Note the error; whether the part may be sent again."""
        self.failures.setdefault(key, []).append(f"{type(error).__name__}: {error}")
        if self.progress:
            self.progress(key, len(self.outcomes), self.total, f"failed: {error}")
        return len(self.failures[key]) <= self.retries

    def check(self) -> None:
        """PartsFailedError naming the parts that failed for good."""
        lost = [k for k in self.failures if k not in self.outcomes]
        if lost:
            raise PartsFailedError(lost, self.failures)

    def run(self, work: Callable[[PartT], Any], jobs: list[PartT], client: Any, done: Callable[[Any], None],
            kind: str) -> None:  # fmt: skip
        """``work(job)`` for every part, on the Dask ``client``'s cluster (tasks named after
        ``kind`` and the part) or here (None): ``done`` takes each outcome as it comes; a part
        that fails is sent again while :meth:`failed` allows, and PartsFailedError ends the run
        when one failed for good. A bad input (InputError) is no accident: it stops the run
        at once."""
        if client is None:
            for job in jobs:
                while True:
                    try:
                        done(work(job))
                        break
                    except InputError:
                        raise
                    except Exception as error:
                        if not self.failed(job.key, error):
                            break
        else:
            self._on_cluster(work, jobs, client, done, kind)
        self.check()

    def _on_cluster(self, work: Callable[[PartT], Any], jobs: list[PartT], client: Any,
                    done: Callable[[Any], None], kind: str) -> None:  # fmt: skip
        from distributed import as_completed

        if not jobs:
            return
        # the cut, the homes' compounds and the parameters go to each worker once, not with each
        # part: as the result of a task of their own, which the cluster works out again if the
        # worker holding it dies (data scattered to workers would be lost with them)
        shared = client.submit(_same, _shared(jobs), pure=False, key=f"{kind}-shared-{time.time_ns()}")

        def submit(job: PartT) -> Any:
            key = f"{kind}-{job.key}-{time.time_ns()}"
            return client.submit(_on_worker, work, shared, job.index, pure=False, key=key)

        futures = {submit(job): job for job in jobs}
        pending = as_completed(list(futures), with_results=False)
        for future in pending:
            job = futures.pop(future)
            try:
                done(future.result())
            except InputError:
                raise
            except Exception as error:
                if self.failed(job.key, error):
                    again = submit(job)
                    futures[again] = job
                    pending.add(again)
            finally:
                future.release()
