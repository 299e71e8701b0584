"""Stage timings of a computation, as its report gives them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Laps:
    """Seconds spent in each stage, in order: call ``laps("stage")`` when a stage ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._clock, 4)
        self._clock = now


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """What ``work()`` gives, and the seconds it took (wall clock)."""
    start = time.perf_counter()
    return work(), time.perf_counter() - start
