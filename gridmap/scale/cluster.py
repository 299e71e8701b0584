"""The Dask cluster a run goes on: one started on this machine, or one already running."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gridmap.errors import InputError


@contextmanager
def dask_client(*, workers: int | None = None, address: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to the scheduler at ``address`` (``tcp://host:8786``), or to
    ``workers`` worker processes started here (one thread each: the walks hold the
    interpreter lock) and stopped at the end."""
    if (workers is None) == (address is None):
        raise InputError("give the number of local workers or a scheduler's address, not both")
    from distributed import Client, LocalCluster

    if address is not None:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise InputError(f"no Dask scheduler answers at {address}: {exc}") from None
        with client:
            yield client
        return
    if workers is None or workers < 1:
        raise InputError(f"--workers {workers}: expected at least 1")
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
