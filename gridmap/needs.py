"""Needs and offers (双向认领): residents' small wishes (微心愿), the items of the people's list
(民情清单) and projects, placed at a household, compound or grid; claimed by a party member or
a co-building unit, perhaps through what one of them offered; done; confirmed by the resident
or the community. The categories are versioned data (``gridmap/data/needs.yaml``); the steps
between states are one table, :data:`NEED_STEPS`. Pure functions; dates are calendar days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from gridmap.errors import ConflictError, InputError
from gridmap.model import NEED_CONFIRMERS, NEED_KINDS, NEED_STATES
from gridmap.packaged import packaged_yaml

CATEGORIES_FILE = "needs.yaml"
OPEN, CLAIMED, DONE, CONFIRMED, CANCELLED = NEED_STATES
#: state → the states it may go to; a claim let go returns the need to the list
NEED_STEPS: Mapping[str, tuple[str, ...]] = {
    OPEN: (CLAIMED, CANCELLED),
    CLAIMED: (DONE, OPEN, CANCELLED),
    DONE: (CONFIRMED, CLAIMED),  # confirmed, or sent back to the one who claimed it
    CONFIRMED: (),
    CANCELLED: (),
}
#: the kinds of need with their names in district reports
KIND_NAMES: Mapping[str, str] = dict(zip(NEED_KINDS, ("微心愿", "民情清单", "项目"), strict=True))
CONFIRMER_NAMES: Mapping[str, str] = dict(zip(NEED_CONFIRMERS, ("居民确认", "社区确认"), strict=True))


@dataclass(frozen=True)
class NeedCategories:
    version: int
    names: Mapping[str, str]  # id → Chinese name

    def check(self, category: str) -> str:
        """``category`` if the list holds it, else an InputError naming the ones it holds."""
        if category not in self.names:
            raise InputError(
                f"'{category}' is not a category of needs; expected one of: {', '.join(self.names)}"
            )
        return category


@cache
def load_need_categories() -> NeedCategories:
    """The categories of needs and offers packaged with gridmap."""
    data = packaged_yaml(CATEGORIES_FILE)
    try:
        names = {str(k): str(v["name_zh"]) for k, v in data["categories"].items()}
        return NeedCategories(int(data["version"]), names)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{CATEGORIES_FILE}: malformed ({type(exc).__name__}: {exc})") from exc


def check_need_step(state: str, to: str) -> None:
    """Refuse a step :data:`NEED_STEPS` does not allow (ConflictError naming the ones it does)."""
    if to not in NEED_STEPS:
        raise InputError(f"'{to}' is not a state of a need; expected one of: {', '.join(NEED_STEPS)}")
    if to not in NEED_STEPS[state]:
        nexts = ", ".join(NEED_STEPS[state]) or "none: it has ended"
        raise ConflictError(f"a need {state} cannot become {to}; from {state} it may become: {nexts}")
