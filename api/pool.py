"""Bounded pools of worker threads for work that must not take the request pool.

Password hashing and heavy reads (map downloads, grid drawings) each run on a few threads of
their own, so a burst of them cannot starve cheap requests (tiles, ``/who``); and each pool
holds at most so many calls, running or waiting, beyond which it says 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gridmap.errors import ThrottledError

T = TypeVar("T")


class BoundedPool:
    """``workers`` threads, and at most ``limit`` calls held at once (running or waiting)."""

    def __init__(self, name: str, *, workers: int, limit: int, what: str) -> None:
        self.name, self.limit, self.what = name, limit, what
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"gridmap-{name}")
        self._held = 0
        self._lock = threading.Lock()

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(*args, **kwargs)`` on one of the pool's threads; ThrottledError when full."""
        with self._lock:
            if self._held >= self.limit:
                raise ThrottledError(
                    f"the service is busy with {self._held} {self.what} at once; retry shortly",
                    retry_after_s=2,
                )
            self._held += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, lambda: work(*args, **kwargs))
        finally:
            with self._lock:
                self._held -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def on_heavy_pool(route: Callable[..., T]) -> Callable[..., Any]:
    """Run a (synchronous) route on the application's pool for heavy reads (``app.heavy``)
    rather than the request pool; the route must take the application state as ``app``."""

    @functools.wraps(route)
    async def run(**kwargs: Any) -> T:
        return await kwargs["app"].heavy.run(route, **kwargs)

    return run
