"""The Dask cluster a run goes on: one started on this machine, or one already running."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gridmap.errors import InputError


def local_workers_most() -> int:
    """The most worker processes one machine starts (of a run, or of the service): four for each
    of its cores (more only queue for them, and each holds its own memory)."""
    return 4 * (os.cpu_count() or 1)


def check_local_workers(workers: int | None) -> int:
    """``workers`` when one machine may start that many; InputError else."""
    most = local_workers_most()
    if workers is None or not 1 <= workers <= most:
        raise InputError(
            f"--workers {workers}: expected 1 to {most} processes on this machine ({os.cpu_count()} cores)"
        )
    return workers


#: the local scheduler's own HTTP routes (it shows no dashboard): on this machine alone, on any
#: free port; by default it takes 8787 and, where another cluster holds that, warns
LOCAL_SCHEDULER_HTTP = "127.0.0.1:0"


def local_cluster(workers: int) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` worker processes on this machine, one thread each
    (the walks hold the interpreter lock), without a dashboard, whose scheduler takes any free
    port (:data:`LOCAL_SCHEDULER_HTTP`). A context manager: its ``with`` block stops it."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": LOCAL_SCHEDULER_HTTP},
    )  # fmt: skip


@contextmanager
def dask_client(*, workers: int | None = None, address: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to the scheduler at ``address`` (``tcp://host:8786``), or to
    ``workers`` worker processes started here (one thread each: the walks hold the
    interpreter lock) and stopped at the end."""
    if (workers is None) == (address is None):
        raise InputError("give the number of local workers or a scheduler's address, not both")
    from distributed import Client

    if address is not None:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise InputError(f"no Dask scheduler answers at {address}: {exc}") from None
        with client:
            yield client
        return
    with local_cluster(check_local_workers(workers)) as cluster, Client(cluster) as client:
        yield client
