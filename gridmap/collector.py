"""Python's cycle collector around long work: what exists when the work starts (the modules,
an application, the data already read; some 200,000 objects) is left out of the collector's
full passes while it runs, and given back after. Each full pass over those objects holds
every thread for about 100 ms; they outlive the work anyway."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def kept_out() -> Iterator[None]:
    """Leave every object that exists now out of the full passes until the block ends. (The
    garbage among them is left too: after the service's imports a full pass found 56 of
    200,000 objects, and took 130 ms of its start.)"""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def keep_out_what_exists() -> None:
    """Within :func:`kept_out`, leave what has come to exist since out of the full passes too:
    for work that gathers results as they arrive (GEOS shapes are tracked objects, and a
    province's gathered walks hold millions of them, each full pass over them a second)."""
    gc.freeze()
