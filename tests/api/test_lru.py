"""The service's small cache: a value missing under many threads at once is built once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.lru import LRU


def test_threads_asking_for_a_missing_value_at_once_build_it_once():
    cache, builds = LRU(4), []

    def build():
        builds.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every other thread to ask meanwhile
        return {"area": 1}

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: cache.get_or("area", build), range(8)))
    assert len(builds) == 1 and all(value is got[0] for value in got)
    assert cache.get_or("area", build) is got[0] and len(builds) == 1


def test_a_failed_build_fails_its_waiters_and_the_next_caller_tries_again():
    cache, calls = LRU(4), []
    started = threading.Event()

    def failing():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        raise RuntimeError("the database went away")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get_or, "k", failing)
        started.wait()
        waiter = pool.submit(cache.get_or, "k", lambda: pytest.fail("built twice at once"))
        for future in (first, waiter):
            with pytest.raises(RuntimeError, match="went away"):
                future.result()
    assert len(calls) == 1
    assert cache.get_or("k", lambda: 42) == 42  # tried again, and kept
    assert cache.get("k") == 42


def test_the_least_recently_used_goes_first():
    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.get_or("c", lambda: 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
