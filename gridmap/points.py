"""Party members' points (积分管理): the rules as versioned data (``gridmap/data/points.yaml``:
what adds, what deducts, how much per time, a cap per rule and period and a yearly cap on what
is added), how many points a new entry earns given the ledger so far, and rankings of members
per branch, community and street. Pure functions on frames; dates are calendar days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import pandas as pd

from gridmap.errors import InputError
from gridmap.packaged import packaged_yaml

RULES_FILE = "points.yaml"
PERIODS = ("month", "quarter", "year")
#: what members are ranked within: a unit's column of the members layer, or the street of
#: their community
RANK_BY: Mapping[str, str] = {"branch": "org_id", "community": "community_id", "street": "street_id"}


@dataclass(frozen=True)
class PointsRule:
    id: str
    name_zh: str
    points: int  # per time; negative: a deduction
    cap: int  # per member and period: the most added (or, negative, deducted)
    period: str


@dataclass(frozen=True)
class PointsRules:
    version: int
    year_cap: int | None  # the most a member's additions come to in a calendar year
    rules: Mapping[str, PointsRule]

    def rule(self, rule_id: str) -> PointsRule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise InputError(
                f"'{rule_id}' is not a points rule; expected one of: {', '.join(self.rules)}"
            ) from None


def parse_rules(data: Mapping[str, object], source: str = RULES_FILE) -> PointsRules:
    """The rules in ``data`` (the YAML's content), or an InputError naming what is wrong."""
    try:
        rules = {}
        for key, r in data["rules"].items():  # type: ignore[attr-defined]
            rule = PointsRule(str(key), str(r["name_zh"]), int(r["points"]), int(r["cap"]), str(r["period"]))
            if rule.period not in PERIODS or rule.points == 0 or (rule.points > 0) != (rule.cap > 0):
                raise InputError(
                    f"{source}: rule {key}: points and cap must have the same sign, not 0, and period "
                    f"one of {', '.join(PERIODS)}"
                )
            rules[rule.id] = rule
        year_cap = data.get("year_cap")
        return PointsRules(int(data["version"]), None if year_cap is None else int(year_cap), rules)  # type: ignore[call-overload]
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{source}: malformed points rules ({type(exc).__name__}: {exc})") from exc


@cache
def load_points_rules() -> PointsRules:
    """The points rules packaged with gridmap."""
    return parse_rules(packaged_yaml(RULES_FILE))


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the calendar month, quarter or year holding ``day``."""
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


class PointsTally:
    """Running totals of members' points per rule and period, and of what was added per year:
    what a new entry may still earn under the caps. Entries are added in the order earned."""

    def __init__(self, rules: PointsRules) -> None:
        self.rules = rules
        self._per_rule: dict[tuple[int, str, dt.date], int] = {}
        self._added: dict[tuple[int, int], int] = {}

    def add(self, member_id: int, rule_id: str, day: dt.date, points: int) -> None:
        """Count an entry already in the ledger."""
        key = (member_id, rule_id, period_start(day, self.rules.rule(rule_id).period))
        self._per_rule[key] = self._per_rule.get(key, 0) + points
        if points > 0:
            self._added[(member_id, day.year)] = self._added.get((member_id, day.year), 0) + points

    def allowance(self, member_id: int, rule_id: str, day: dt.date, times: int = 1) -> tuple[int, int]:
        """(points a new entry earns, points it asks for): ``times`` × the rule's points, cut to
        what the rule's cap leaves in the period holding ``day`` and, for an addition, to what
        the year cap leaves."""
        if times < 1:
            raise InputError(f"times {times}: expected 1 or more")
        rule = self.rules.rule(rule_id)
        asked = rule.points * times
        so_far = self._per_rule.get((member_id, rule_id, period_start(day, rule.period)), 0)
        if asked < 0:
            return max(asked, min(0, rule.cap - so_far)), asked
        give = min(asked, max(0, rule.cap - so_far))
        if self.rules.year_cap is not None:
            give = min(give, max(0, self.rules.year_cap - self._added.get((member_id, day.year), 0)))
        return give, asked

    def earn(self, member_id: int, rule_id: str, day: dt.date, times: int = 1) -> tuple[int, int]:
        """:meth:`allowance`, and the entry counted."""
        earned, asked = self.allowance(member_id, rule_id, day, times)
        self.add(member_id, rule_id, day, earned)
        return earned, asked


def points_earned(
    rules: PointsRules, ledger: pd.DataFrame, member_id: int, rule_id: str, day: dt.date, times: int = 1
) -> tuple[int, int]:
    """(points a new entry earns, points it asks for) given the member's earlier entries in
    ``ledger`` (``member_id``, ``earned_on``, ``rule``, ``points``; entries after ``day`` do
    not count): :meth:`PointsTally.allowance`."""
    tally = PointsTally(rules)
    mine = ledger[ledger["member_id"] == member_id] if len(ledger) else ledger
    if len(mine):
        earned_on = pd.to_datetime(mine["earned_on"]).dt.date
        points = pd.to_numeric(mine["points"], errors="coerce").fillna(0).astype(int)
        for on, rule, value in zip(earned_on, mine["rule"], points, strict=True):
            if on <= day and rule in rules.rules:
                tally.add(member_id, str(rule), on, int(value))
    return tally.allowance(member_id, rule_id, day, times)


def rankings(points: pd.DataFrame, members: pd.DataFrame, communities: pd.DataFrame, by: str) -> pd.DataFrame:
    """Members' points totals ranked within each branch, community or street (``by``): one row
    per member with points — ``unit_id``, ``member_id``, ``name``, ``points``, ``rank`` (1 the
    most; ties share a rank) — and members without a unit left out. ``members`` and
    ``communities`` are indexed by id; ``points`` has ``member_id`` and ``points``."""
    if by not in RANK_BY:
        raise InputError(f"rank by '{by}': expected one of {', '.join(RANK_BY)}")
    columns = ["unit_id", "member_id", "name", "points", "rank"]
    if len(points) == 0 or len(members) == 0:
        return pd.DataFrame(columns=columns)
    totals = pd.to_numeric(points["points"], errors="coerce").groupby(points["member_id"]).sum()
    totals = totals[totals.index.isin(members.index)].rename_axis(None)
    if by == "street":
        unit = members["community_id"].map(communities.get("street_id", {}))
    else:
        unit = (
            members[RANK_BY[by]] if RANK_BY[by] in members.columns else pd.Series(pd.NA, index=members.index)
        )
    out = pd.DataFrame({"unit_id": unit.reindex(totals.index), "member_id": totals.index,
                        "name": members["name"].reindex(totals.index), "points": totals.astype(int)})  # fmt: skip
    out = out.dropna(subset=["unit_id"])
    out["unit_id"] = out["unit_id"].astype(int)
    out["rank"] = out.groupby("unit_id")["points"].rank(method="min", ascending=False).astype(int)
    return out.sort_values(["unit_id", "rank", "member_id"]).reset_index(drop=True)[columns]
