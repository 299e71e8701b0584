"""Households that need visits (重点关怀户, 四必访): the versioned list of care tags with each
tag's visit interval, which tagged households are due or overdue for a visit on a day, and the
share visited within their interval. Pure functions on frames; dates are calendar days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from gridmap.errors import InputError
from gridmap.packaged import packaged_yaml

TAGS_FILE = "care_tags.yaml"
#: a household comes due this many days before its interval runs out
DUE_AHEAD_DAYS = 2


@dataclass(frozen=True)
class CareTag:
    id: str
    name_zh: str
    visit_days: int


@dataclass(frozen=True)
class CareTags:
    version: int
    tags: Mapping[str, CareTag]

    def parse(self, text: Any) -> list[str]:
        """The tags of a cell (comma, 、 or space separated); InputError naming an unknown one."""
        if text is None or (isinstance(text, float) and pd.isna(text)):
            return []
        found = [t for t in str(text).replace("、", ",").replace(" ", ",").split(",") if t.strip()]
        unknown = [t for t in found if t not in self.tags]
        if unknown:
            raise InputError(
                f"unknown care tag(s) {', '.join(unknown)}; expected some of: {', '.join(self.tags)}"
            )
        return found

    def interval(self, tags: list[str]) -> int | None:
        """Days between visits for a household with ``tags`` (the most frequent tag wins)."""
        return min((self.tags[t].visit_days for t in tags), default=None)


@cache
def load_care_tags() -> CareTags:
    """The list of care tags packaged with gridmap."""
    data = packaged_yaml(TAGS_FILE)
    try:
        tags = {
            str(t["id"]): CareTag(str(t["id"]), str(t["name_zh"]), int(t["visit_days"])) for t in data["tags"]
        }
        return CareTags(int(data["version"]), tags)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{TAGS_FILE}: not a list of care tags ({exc})") from None


def _tagged(households: pd.DataFrame) -> pd.DataFrame:
    """The households with at least one care tag."""
    tags = households["care_tags"]
    return households[tags.notna() & (tags.astype(str).str.strip() != "")]


def _last_visits(visits: pd.DataFrame) -> pd.Series:
    """Each visited household's last visit (a timestamp), by household id."""
    if not len(visits):
        return pd.Series(dtype="datetime64[ns]")
    return pd.to_datetime(visits["visited_on"]).groupby(visits["household_id"].astype(int)).max()


def visits_due(households: pd.DataFrame, visits: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """The tagged households of ``households`` (index the id; ``care_tags``, ``building_id``)
    due for a visit on ``today`` — never visited, or last visited (``visits``: ``household_id``,
    ``visited_on``) so long ago that their interval ends within ``DUE_AHEAD_DAYS`` — with
    ``tags``, ``interval_days``, ``last_visit``, ``due_on`` and ``overdue_days`` (0 when not
    yet late), most overdue first."""
    catalogue = load_care_tags()
    tagged, last = _tagged(households), _last_visits(visits)
    rows = []
    for hid, row in tagged.iterrows():
        tags = catalogue.parse(row["care_tags"])
        interval = catalogue.interval(tags)
        if interval is None:
            continue
        seen = last.get(int(hid))
        due = (seen.date() + dt.timedelta(days=interval)) if seen is not None and pd.notna(seen) else today
        if due - dt.timedelta(days=DUE_AHEAD_DAYS) > today:
            continue
        rows.append({
            "household_id": int(hid), "building_id": row.get("building_id"), "tags": ",".join(tags),
            "interval_days": interval, "last_visit": seen.date() if seen is not None and pd.notna(seen) else None,
            "due_on": due, "overdue_days": max(0, (today - due).days),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=["household_id", "building_id", "tags", "interval_days", "last_visit",
                                      "due_on", "overdue_days"])  # fmt: skip
    return out.sort_values(["overdue_days", "due_on"], ascending=[False, True]).reset_index(drop=True)


def care_figures(households: pd.DataFrame, visits: pd.DataFrame, today: dt.date) -> dict[str, Any]:
    """Tagged households, those visited within their interval as of ``today`` and the share,
    visits logged, and households per tag (counts only: no one named)."""
    catalogue = load_care_tags()
    tagged, last = _tagged(households), _last_visits(visits)
    per_tag: dict[str, int] = {}
    in_time = 0
    for hid, text in tagged["care_tags"].items():
        tags = catalogue.parse(text)
        for tag in tags:
            per_tag[tag] = per_tag.get(tag, 0) + 1
        seen = last.get(int(hid))
        interval = catalogue.interval(tags)
        if (
            seen is not None
            and pd.notna(seen)
            and interval is not None
            and (today - seen.date()).days <= interval
        ):
            in_time += 1
    n = len(tagged)
    overdue = int((visits_due(households, visits, today)["overdue_days"] > 0).sum())
    return {
        "tagged": n, "visited_in_time": in_time, "share_in_time": in_time / n if n else None,
        "overdue": overdue, "visits": len(visits), "per_tag": per_tag,
    }  # fmt: skip
