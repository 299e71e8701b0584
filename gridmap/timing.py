"""Stage timings of a computation, as its report gives them."""

from __future__ import annotations

import time


class Laps:
    """Seconds spent in each stage, in order: call ``laps("stage")`` when a stage ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._clock, 4)
        self._clock = now
