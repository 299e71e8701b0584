"""Walking minutes and metres, converted in one place (at a speed in m/s)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Number = TypeVar("Number", float, np.ndarray)


def walk_metres(minutes: Number, speed_mps: float) -> Number:
    """How far one walks in ``minutes`` at ``speed_mps`` metres per second (metres)."""
    return minutes * 60.0 * speed_mps


def walk_minutes(metres: Number, speed_mps: float) -> Number:
    """How long ``metres`` take at ``speed_mps`` metres per second (minutes)."""
    return metres / speed_mps / 60.0
