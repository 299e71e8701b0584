"""How people walk in an analysis: speed, where walks start, how far a home may lie from a
street, which streets are walkable, the detour without streets; minutes ⇄ metres in one place.

Coverage, siting, the maps and the service all take one :class:`WalkingParams`, built from an
installation's settings by :meth:`WalkingParams.from_settings`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from gridmap.choices import ORIGIN_MODES
from gridmap.errors import InputError
from gridmap.model import WALK_HIGHWAYS
from gridmap.settings import Settings

Number = TypeVar("Number", float, np.ndarray)

#: where a walk starts: at the home itself, or at its compound's gates
SPEED_RANGE_MPS = (0.1, 5.0)


def walk_metres(minutes: Number, speed_mps: float) -> Number:
    """How far one walks in ``minutes`` at ``speed_mps`` metres per second (metres)."""
    return minutes * 60.0 * speed_mps


def walk_minutes(metres: Number, speed_mps: float) -> Number:
    """How long ``metres`` take at ``speed_mps`` metres per second (minutes)."""
    return metres / speed_mps / 60.0


@dataclass(frozen=True)
class WalkingParams:
    """Speed in m/s, distances in metres; ``highways`` the OSM types walked on (None: all)."""

    # the defaults live in one place: the settings
    speed_mps: float = Settings.walk_speed_mps
    origin: str = "building"
    max_snap_m: float = Settings.max_snap_m
    highways: tuple[str, ...] | None = WALK_HIGHWAYS
    detour_factor: float = Settings.detour_factor

    @classmethod
    def from_settings(
        cls, settings: Settings, *, speed_mps: float | None = None, origin: str | None = None
    ) -> WalkingParams:
        """The installation's walking (``GRIDMAP_WALK_SPEED_MPS``, ``GRIDMAP_MAX_SNAP_M``,
        ``GRIDMAP_WALK_HIGHWAYS``, ``GRIDMAP_DETOUR_FACTOR``), with a run's speed and origin
        on top where given."""
        return cls(
            speed_mps=settings.walk_speed_mps if speed_mps is None else speed_mps,
            origin=origin or "building",
            max_snap_m=settings.max_snap_m,
            highways=tuple(settings.walk_highways),
            detour_factor=settings.detour_factor,
        )

    def metres(self, minutes: Number) -> Number:
        """How far one walks in ``minutes`` (metres)."""
        return walk_metres(minutes, self.speed_mps)

    def minutes(self, metres: Number) -> Number:
        """How long ``metres`` take (minutes)."""
        return walk_minutes(metres, self.speed_mps)

    def check(self) -> None:
        """Refuse walking that cannot give a meaningful answer."""
        if self.origin not in ORIGIN_MODES:
            raise InputError(f"origin mode '{self.origin}' is not one of {', '.join(ORIGIN_MODES)}")
        low, high = SPEED_RANGE_MPS
        if not (low <= self.speed_mps <= high):
            raise InputError(f"walking speed {self.speed_mps} m/s is outside {low:g}–{high:g} m/s")
        if self.max_snap_m <= 0 or self.detour_factor < 1.0:
            raise InputError("max_snap_m must be positive and detour_factor at least 1")


def params_record(params: Any) -> dict[str, Any]:
    """A run's or a proposal's parameters as stored: one flat mapping, the walking fields
    beside the others (``speed_mps``, ``origin``, …), as runs have always been kept."""
    record = dataclasses.asdict(params)
    record.update(record.pop("walking"))
    return record
