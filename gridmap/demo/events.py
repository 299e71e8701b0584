"""A year of grid events in the demo district, seeded and marked generated: about one event a
year for every forty households, filed at their buildings, most accepted within hours and
closed within their deadline, a few escalated (吹哨) to the community or the street, a few
still open and overdue at the year's end — the shape of the figures districts report
("1065件，办结率98.1%"). Reporters are synthetic (:func:`gridmap.demo.people.names`; phones
in the unassigned 100 prefix). Times are naive UTC; work is in the caller's metric CRS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.demo.people import names, phones
from gridmap.events import load_catalogue

#: the end of the demo's year of events (a fixed day, so the same seed gives the same events)
YEAR_END = dt.datetime(2026, 11, 30, 18, 0)
HOUSEHOLDS_PER_EVENT = 40
CLAIM_HOURS = 24.0
SOURCES = {"patrol": 0.55, "resident": 0.30, "hotline": 0.12, "inspection": 0.03}
CATEGORY_SHARES = {
    "environment": 0.28, "property_facilities": 0.2, "neighbour_dispute": 0.12, "safety_hazard": 0.1,
    "road_lighting": 0.09, "elderly_care": 0.08, "public_order": 0.06, "illegal_construction": 0.04,
    "epidemic_prevention": 0.01, "other": 0.02,
}  # fmt: skip


def _leaders(assignments: pd.DataFrame) -> dict[int, str]:
    terms = assignments[(assignments["target_layer"] == "grids") & (assignments["role"] == "grid_leader")]
    terms = terms[terms["valid_to"].isna()]
    return {int(t): str(n) for t, n in zip(terms["target_id"], terms["person_name"], strict=True)}


def demo_events(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    assignments: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Events and their chains of states for a year; ``grids`` (with ``id``, ``community_id``,
    ``level``) and ``buildings`` (with ``id``, ``households``, ``compound_id``) in one CRS,
    ``communities`` with ``id`` and ``street_id``. Returns events (with ``id``, at their
    buildings' points) and history rows."""
    catalogue = load_catalogue()
    base = grids[grids["level"].fillna(0) == grids["level"].fillna(0).max()]
    points = buildings.geometry.representative_point()
    homes_at = gpd.GeoDataFrame(
        {"building_id": buildings["id"].to_numpy(), "compound_id": buildings["compound_id"].to_numpy()},
        geometry=points.to_numpy(), crs=buildings.crs,
    )  # fmt: skip
    inside = gpd.sjoin(
        homes_at, base[["id", "geometry"]].rename(columns={"id": "grid_id"}), predicate="within"
    )
    inside = inside[~inside.index.duplicated(keep="first")]
    homes = buildings["households"].fillna(0).to_numpy()[inside.index.to_numpy()]
    weights = homes / homes.sum()
    n = round(float(homes.sum()) / HOUSEHOLDS_PER_EVENT)
    picked = rng.choice(len(inside), size=n, p=weights)
    leaders = _leaders(assignments)
    categories = list(CATEGORY_SHARES)
    cat = rng.choice(
        categories, size=n, p=np.array(list(CATEGORY_SHARES.values())) / sum(CATEGORY_SHARES.values())
    )
    source = rng.choice(list(SOURCES), size=n, p=list(SOURCES.values()))
    start = YEAR_END - dt.timedelta(days=365)
    filed = [start + dt.timedelta(days=float(d), hours=float(h)) for d, h in
             zip(np.sort(rng.uniform(0, 365, n)), rng.uniform(8, 18, n), strict=True)]  # fmt: skip
    who = names(rng, n)
    calls = phones(rng, n)
    grid_of = base.set_index("id")
    street_of = dict(zip(communities["id"], communities["street_id"], strict=True))
    events: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for i in range(n):
        home = inside.iloc[picked[i]]
        grid_id = int(home["grid_id"])
        community = grid_of.loc[grid_id, "community_id"]
        kind = catalogue.category(str(cat[i]))
        if source[i] == "resident" and not kind.residents:
            source[i] = "patrol"
        event_id = i + 1
        row, steps = _life(event_id, filed[i], kind.deadline_hours, kind.report_hours, kind.department,
                           leaders.get(grid_id), rng)  # fmt: skip
        resident = source[i] == "resident"
        row.update(
            category=kind.id, source=source[i], description=f"{kind.name_zh}（演示）",
            reporter=who[i] if resident else None, phone=calls[i] if resident else None,
            street_id=street_of.get(community), community_id=community, grid_id=grid_id,
            building_id=int(home["building_id"]), compound_id=home["compound_id"],
            catalogue_version=catalogue.version, generated=True, geometry=home.geometry,
        )  # fmt: skip
        events.append(row)
        history += steps
    frame = gpd.GeoDataFrame(events, geometry="geometry", crs=buildings.crs)
    return frame, pd.DataFrame(history)


def _life(
    event_id: int, filed: dt.datetime, deadline_h: float, report_h: float, department: str,
    leader: str | None, rng: np.random.Generator,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    """One event's life: when it was claimed, at which level, solved, closed and rated."""
    h = dt.timedelta(hours=1)
    steps: list[dict[str, Any]] = []
    level, assignee, escalations = "grid", leader, 0

    def step(
        at: dt.datetime, before: str | None, after: str, by: str = "staff", note: str | None = None
    ) -> None:
        steps.append({"event_id": event_id, "at": at, "from_state": before, "to_state": after, "level": level,
                      "by_user": "demo", "by_role": by, "assignee": assignee, "note": note})  # fmt: skip

    step(filed, None, "reported", "reporter")
    claim_due = filed + CLAIM_HOURS * h
    row: dict[str, Any] = {"id": event_id, "filed_at": filed, "first_claim_due_at": claim_due,
                           "due_at": filed + deadline_h * h, "escalations": 0, "rating": None,
                           "accepted_at": None, "resolved_at": None, "closed_at": None}  # fmt: skip
    fate = rng.random()
    if fate < 0.01:
        step(filed + 2 * h, "reported", "duplicate", note="同一事件已上报")
        return {**row, "state": "duplicate", "level": level, "assignee": assignee, "department": department,
                "claim_due_at": claim_due}, steps  # fmt: skip
    if fate < 0.02:
        step(filed + 3 * h, "reported", "not_ours", note="不属本网格职责")
        return {**row, "state": "not_ours", "level": level, "assignee": assignee, "department": department,
                "claim_due_at": claim_due}, steps  # fmt: skip
    at = filed
    state = "reported"
    climbs = 2 if rng.random() < 0.01 else 1 if rng.random() < 0.05 else 0
    for _ in range(climbs):  # left unclaimed: whistled up a level
        at = claim_due
        level = "community" if level == "grid" else "street"
        assignee = department if level == "street" else None
        escalations += 1
        step(at, state, "escalated", "clock", note="unclaimed past its deadline")
        state = "escalated"
        claim_due = at + (report_h if level == "street" else CLAIM_HOURS) * h
    age = (YEAR_END - filed).total_seconds() / 3600
    accepted = at + float(rng.exponential(2.5)) * h
    if accepted > YEAR_END:
        return {**row, "state": state, "level": level, "assignee": assignee, "department": department,
                "claim_due_at": claim_due, "escalations": escalations}, steps  # fmt: skip
    step(accepted, state, "accepted")
    working = accepted + float(rng.exponential(1.5)) * h
    step(working, "accepted", "in_progress")
    late = rng.random() < 0.04
    took = deadline_h * (1.0 + rng.uniform(0.1, 1.5)) if late else float(rng.uniform(0.1, 0.9)) * deadline_h
    resolved = filed + took * h
    base = {**row, "level": level, "assignee": assignee, "department": department, "claim_due_at": claim_due,
            "escalations": escalations, "accepted_at": accepted}  # fmt: skip
    stalled = rng.random() < 0.006  # left lying: overdue at the year's end
    if stalled or resolved > YEAR_END or age < 6:
        return {**base, "state": "in_progress"}, steps
    step(resolved, "in_progress", "resolved")
    rated = rng.random() < 0.8
    rating = int(rng.choice([5, 4, 3, 2], p=[0.72, 0.2, 0.05, 0.03])) if rated else None
    closed = resolved + float(rng.uniform(2, 48)) * h
    if closed > YEAR_END:
        return {**base, "state": "resolved", "resolved_at": resolved}, steps
    step(closed, "resolved", "closed", "reporter" if rated else "staff")
    return {**base, "state": "closed", "resolved_at": resolved, "closed_at": closed, "rating": rating}, steps


#: the share of the demo's households tagged for care, and how the tags fall
CARE_SHARE = 0.03
CARE_TAGS = {"elderly_alone": 0.3, "empty_nest": 0.25, "disabled": 0.12, "serious_illness": 0.1,
             "hardship": 0.13, "bereaved": 0.03, "left_behind_children": 0.07}  # fmt: skip


def demo_care(households: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.Series, pd.DataFrame]:
    """Care tags for about 3 % of ``households`` (index the id) and the last quarter's visits
    to them, kept at their interval mostly, now and then late or missed."""
    from gridmap.care import load_care_tags

    intervals = load_care_tags()
    tags = pd.Series(None, index=households.index, dtype=object)
    chosen = households.index[rng.random(len(households)) < CARE_SHARE]
    names_ = list(CARE_TAGS)
    weights = np.array(list(CARE_TAGS.values())) / sum(CARE_TAGS.values())
    visits: list[dict[str, Any]] = []
    today = YEAR_END.date()
    for hid in chosen:
        picked = list(dict.fromkeys(rng.choice(names_, size=1 + int(rng.random() < 0.2), p=weights)))
        tags[hid] = ",".join(picked)
        every = intervals.interval(picked) or 30
        day = today - dt.timedelta(days=90)
        while True:
            day += dt.timedelta(days=int(every * rng.uniform(0.7, 1.4)))
            if day > today:
                break
            if rng.random() < 0.9:
                visits.append({"household_id": int(hid), "visited_on": day, "visitor": None,
                               "kind": "must_visit", "note": "（演示）走访"})  # fmt: skip
    return tags, pd.DataFrame(visits, columns=["household_id", "visited_on", "visitor", "kind", "note"])
