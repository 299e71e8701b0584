"""A small least-recently-used cache, safe across the service's threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def get_or(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value under ``key``; when missing, built (outside the lock) and kept. Built
        once: the threads that ask for the key meanwhile wait for that build rather than
        repeat it (after an edit, every tile of a map asks at once). A build that fails fails
        for them too, and the next caller tries again."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            pending = self._building.get(key)
            mine = pending is None
            if pending is None:
                pending = self._building[key] = Future()
        if not mine:
            return pending.result()
        try:
            value = build()
        except BaseException as error:
            with self._lock:
                del self._building[key]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._building[key]
            self._keep(key, value)
        pending.set_result(value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._keep(key, value)

    def _keep(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
