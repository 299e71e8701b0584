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


#: what a fork server imports once, before it forks this machine's worker processes: Dask's
#: worker and the parts' work with all it imports (NumPy, pandas, GeoPandas, SciPy, PROJ)
WORKER_MODULES = ("distributed", "gridmap.scale.coverage", "gridmap.scale.siting")


def _fork_local_workers() -> None:
    """Have this process start its local workers (and those restarted after one died) as
    forks of one server that has imported :data:`WORKER_MODULES`, rather than each as a new
    interpreter importing them again (Dask's default, ``spawn``). Four workers on two cores
    took 4.0–4.6 s to start and take their first part that way, and 7.7–8.7 s of the
    machine's CPU; forked, 2.0–2.2 s and 2.5–2.6 s (docs/scale.md). Where a system has no
    fork server, the default stays."""
    import multiprocessing

    import dask
    from distributed.utils import get_mp_context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    # Dask names the modules the server imports when it first makes the context: made here
    # first, the list is then replaced (the server starts with the first worker)
    get_mp_context().set_forkserver_preload(list(WORKER_MODULES))


def local_cluster(workers: int) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` worker processes on this machine, one thread each
    (the walks hold the interpreter lock), without a dashboard, whose scheduler takes any free
    port (:data:`LOCAL_SCHEDULER_HTTP`); the workers forked from one server that has imported
    what they run (:func:`_fork_local_workers`). A context manager: its ``with`` block stops
    it."""
    from distributed import LocalCluster

    _fork_local_workers()
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
