"""The demo's party work: the organisation as districts report it and the 双报到 loop, with
the gaps real districts have.

- Some single-compound branches were formed by in-service members coming home (兼合式); a
  compound under renovation has a temporary branch (临时党支部); some grids have their own
  branch (支部建在网格), and neighbouring grids of a community share one (多格一支部).
- Community committees have secretaries and residents' committees directors, most of them the
  same person (一肩挑); some compound branch secretaries chair the owners' committee.
- Co-building units have their own party organisations; most reported to their community
  (双报到, unit side), some sponsor (包保) compounds; in-service members reported where they
  live and at their unit's community, not all of them.
- A year of needs (微心愿, 民情清单, projects) at households, claimed by members and units,
  most done and confirmed, some still open; members' offers; points under the rules.

Seeded; synthetic people only. Works on the frames of :func:`gridmap.demo.build.generate`
(metric CRS, ``id`` columns).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.demo.people import names, phones
from gridmap.needs import load_need_categories
from gridmap.points import PointsRules, PointsTally, load_points_rules

HOME_REPORTED = 0.86  # in-service members who reported where they live
UNIT_REPORTED = 0.72  # … and at their unit's community
UNITS_REPORTED = 0.8  # co-building units that reported to their community
UNITS_SPONSORING = 0.6
EMBEDDED_SHARE = 0.5  # single-compound branches formed by members coming home
GRID_BRANCH_SHARE = 0.12
SAME_PERSON = 0.65  # community secretaries who also direct the residents' committee
CHAIR_SHARE = 0.3  # compound branch secretaries who chair the owners' committee
HOUSEHOLDS_PER_NEED = 60
YEAR = (dt.date(2025, 12, 1), dt.date(2026, 11, 30))


def _day(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=int(rng.integers(0, max(1, (end - start).days))))


def _org(orgs: pd.DataFrame, rows: list[dict[str, Any]], **row: Any) -> int:
    row["id"] = int(orgs["id"].max()) + len(rows) + 1
    rows.append(row)
    return int(row["id"])


def organisation(
    orgs: pd.DataFrame,
    compounds: pd.DataFrame,
    grids: pd.DataFrame,
    members: pd.DataFrame,
    units: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Organisations with forms and grid branches; returns (orgs, grid → branch, compound →
    branch)."""
    orgs = orgs.copy()
    comm_org = orgs[orgs["kind"] == "community_committee"].set_index("community_id")["id"]
    branches = orgs[orgs["kind"] == "compound_branch"]
    served = compounds.groupby("branch_id").size()
    in_service = members[members["kind"] == "in_service"].groupby("org_id").size()
    single = branches[branches["id"].map(served).fillna(0) == 1]
    homecoming = single[single["id"].map(in_service).fillna(0) > 0]
    embedded = homecoming["id"][rng.random(len(homecoming)) < EMBEDDED_SHARE]
    orgs.loc[orgs["id"].isin(embedded), "form"] = "embedded"
    orgs.loc[orgs["id"].isin(embedded), "name"] = orgs.loc[orgs["id"].isin(embedded), "name"].str.replace(
        "党支部", "兼合式党支部"
    )
    rows: list[dict[str, Any]] = []
    branch_of = compounds.set_index("id")["branch_id"].copy()
    bare = compounds[compounds["branch_id"].isna()]
    if len(bare):
        target = bare.iloc[int(rng.integers(0, len(bare)))]
        branch_of[target["id"]] = _org(orgs, rows, name=f"{target['name']}改造临时党支部", kind="compound_branch",
                                       form="temporary", joint=False, parent_id=comm_org.get(target["community_id"]),
                                       community_id=int(target["community_id"]),
                                       founded_on=_day(rng, dt.date(2025, 3, 1), dt.date(2026, 6, 30)))  # fmt: skip
    grid_branch = pd.Series(pd.NA, index=grids["id"], dtype="Int64")
    for cid, part in grids.groupby("community_id"):
        picked = part[rng.random(len(part)) < GRID_BRANCH_SHARE]
        for _, grid in picked.iterrows():
            grid_branch[grid["id"]] = _org(orgs, rows, name=f"{grid['name']}党支部", kind="grid_branch", form="single",
                                           joint=False, parent_id=comm_org.get(cid), community_id=int(cid),
                                           founded_on=_day(rng, dt.date(2021, 1, 1), dt.date(2025, 12, 31)))  # fmt: skip
        if len(part) >= 4 and rng.random() < 0.3:  # 多格一支部: two neighbouring grids, one branch
            pair = part.sort_values("code").iloc[-2:]
            shared = _org(orgs, rows, name=f"{pair['name'].iloc[0]}等网格联合党支部", kind="grid_branch", form="joint",
                          joint=True, parent_id=comm_org.get(cid), community_id=int(cid),
                          founded_on=_day(rng, dt.date(2021, 1, 1), dt.date(2025, 12, 31)))  # fmt: skip
            grid_branch[pair["id"].to_numpy()] = shared
    for _, unit in units.iterrows():
        _org(orgs, rows, name=f"{unit['name']}党组织", kind="unit_org", coop_unit_id=int(unit["id"]),
             community_id=int(unit["community_id"]), founded_on=_day(rng, dt.date(2010, 1, 1), dt.date(2020, 12, 31)))  # fmt: skip
    orgs = pd.concat([orgs, pd.DataFrame(rows)], ignore_index=True)
    for column in ("parent_id", "street_id", "community_id", "building_id", "coop_unit_id"):
        if column in orgs.columns:
            orgs[column] = orgs[column].astype("Int64")
    return orgs, grid_branch, branch_of


def registrations(
    members: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """双报到 with gaps: units reporting to their community, members where they live and at
    their unit's community."""
    units = units.copy()
    reported = rng.random(len(units)) < UNITS_REPORTED
    units["registered_on"] = [
        _day(rng, signed, dt.date(2025, 12, 31)) if r and pd.notna(signed) else None
        for r, signed in zip(reported, units["signed_on"], strict=True)
    ]
    members = members.copy()
    in_service = (members["kind"] == "in_service").to_numpy()
    home = rng.random(len(members)) < HOME_REPORTED
    members["registered_on"] = members["registered_on"].where(~in_service | home, None)
    at_unit = (
        in_service & members["coop_unit_id"].notna().to_numpy() & (rng.random(len(members)) < UNIT_REPORTED)
    )
    members["unit_registered_on"] = [
        _day(rng, dt.date(2019, 1, 1), dt.date(2025, 12, 31)) if a else None for a in at_unit
    ]
    return members, units


def posts(
    duties: pd.DataFrame,
    orgs: pd.DataFrame,
    compounds: pd.DataFrame,
    communities: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Community secretaries and residents' committee directors (一肩挑 for most), and owners'
    committee chairs, some of them their compound branch's secretary."""
    rows: list[dict[str, Any]] = []
    start = dt.date(2021, 12, 1)  # the 2021 election of community committees

    def term(name: str, phone: str, member: Any, role: str, layer: str, target: int) -> None:
        rows.append({"person_name": name, "member_id": member, "phone": phone, "role": role,
                     "target_layer": layer, "target_id": int(target), "valid_from": start, "valid_to": None})  # fmt: skip

    committees = orgs[orgs["kind"] == "community_committee"]
    for _, org in committees.iterrows():
        name, phone = names(rng, 1)[0], phones(rng, 1)[0]
        term(name, phone, None, "branch_secretary", "party_orgs", org["id"])
        if rng.random() < SAME_PERSON:
            term(name, phone, None, "residents_committee_director", "communities", org["community_id"])
        else:
            term(names(rng, 1)[0], phones(rng, 1)[0], None, "residents_committee_director", "communities",
                 org["community_id"])  # fmt: skip
    secretaries = duties[(duties["role"] == "branch_secretary") & duties["valid_to"].isna()].set_index(
        "target_id"
    )
    for _, compound in compounds[compounds["owners_committee"].fillna(False).astype(bool)].iterrows():
        branch = compound["branch_id"]
        if pd.notna(branch) and int(branch) in secretaries.index and rng.random() < CHAIR_SHARE:
            s = secretaries.loc[int(branch)]
            s = s.iloc[0] if isinstance(s, pd.DataFrame) else s
            term(
                s["person_name"],
                s["phone"],
                s["member_id"],
                "owners_committee_chair",
                "compounds",
                compound["id"],
            )
        else:
            term(
                names(rng, 1)[0],
                phones(rng, 1)[0],
                None,
                "owners_committee_chair",
                "compounds",
                compound["id"],
            )
    added = pd.DataFrame(rows)
    added.insert(0, "id", np.arange(int(duties["id"].max()) + 1, int(duties["id"].max()) + 1 + len(added)))
    out = pd.concat([duties, added], ignore_index=True)
    out["member_id"] = out["member_id"].astype("Int64")
    return out


def sponsorships(units: pd.DataFrame, compounds: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Units sponsoring (包保) compounds of their community, a few ended."""
    rows = []
    for _, unit in units.iterrows():
        own = compounds[compounds["community_id"] == unit["community_id"]]
        if not len(own) or rng.random() >= UNITS_SPONSORING:
            continue
        for cid in own["id"].sample(n=min(len(own), int(rng.integers(1, 3))), random_state=rng):
            start = _day(rng, dt.date(2020, 1, 1), dt.date(2025, 6, 30))
            end = (
                _day(rng, start + dt.timedelta(days=1), dt.date(2026, 6, 30)) if rng.random() < 0.1 else None
            )
            rows.append({"coop_unit_id": int(unit["id"]), "target_layer": "compounds", "target_id": int(cid),
                         "valid_from": start, "valid_to": end})  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=["coop_unit_id", "target_layer", "target_id", "valid_from", "valid_to"]
    )
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def needs_offers_points(
    households: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    members: pd.DataFrame,
    units: pd.DataFrame,
    grid_of_building: pd.Series,
    street_of: pd.Series,
    rng: np.random.Generator,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """A year of needs at households with their claims, members' offers, and the points the
    claims and some other work earned. ``buildings`` carries ``community_id``."""
    categories = list(load_need_categories().names)
    rules = load_points_rules()
    skilled = members[members["skills"].notna()]
    offer_rows = []
    for _, m in skilled.sample(frac=0.3, random_state=rng).iterrows():
        offer_rows.append({"category": str(rng.choice(categories)), "title": f"{m['skills'].split('、')[0]}志愿服务",
                           "member_id": int(m["id"]), "community_id": int(m["community_id"]),
                           "offered_on": _day(rng, dt.date(2025, 1, 1), YEAR[0])})  # fmt: skip
    offers = pd.DataFrame(offer_rows)
    offers.insert(0, "id", np.arange(1, len(offers) + 1))
    n = max(1, len(households) // HOUSEHOLDS_PER_NEED)
    picked = households.sample(n=n, random_state=rng)
    by_id = buildings.set_index("id")
    community = by_id["community_id"]
    compound_of = by_id["compound_id"]
    points_at = by_id.geometry.representative_point()
    by_community = (
        members[members["kind"] == "in_service"].groupby("community_id")["id"].apply(list).to_dict()
    )
    units_by_community = units.groupby("community_id")["id"].apply(list).to_dict()
    offers_by_member = offers.groupby("member_id")["id"].first().to_dict() if len(offers) else {}
    rows = []
    for hid, hh in picked.iterrows():
        b = int(hh["building_id"])
        cid = community.get(b)
        filed = _day(rng, *YEAR)
        kind = str(rng.choice(["wish", "list_item", "project"], p=[0.6, 0.35, 0.05]))
        row: dict[str, Any] = {
            "kind": kind, "category": str(rng.choice(categories)), "title": "居民需求", "state": "open",
            "resident_name": hh["head_name"], "phone": hh["phone"], "household_id": int(hid),
            "compound_id": compound_of.get(b), "grid_id": grid_of_building.get(b),
            "community_id": cid, "street_id": street_of.get(cid), "filed_on": filed, "generated": True,
            "geometry": points_at[b],
        }  # fmt: skip
        roll = rng.random()
        if roll < 0.85 and (by_community.get(cid) or units_by_community.get(cid)):
            use_unit = rng.random() < 0.2 and units_by_community.get(cid)
            if use_unit:
                row["coop_unit_id"] = int(rng.choice(units_by_community[cid]))
            else:
                row["member_id"] = int(rng.choice(by_community.get(cid) or [None]))
                row["offer_id"] = offers_by_member.get(row["member_id"]) if rng.random() < 0.3 else None
            row["claimed_on"] = filed + dt.timedelta(days=int(rng.integers(0, 5)))
            row["state"] = "claimed"
            if roll < 0.75:
                row["done_on"] = row["claimed_on"] + dt.timedelta(days=int(rng.integers(1, 20)))
                row["state"] = "done"
                if roll < 0.65:
                    row["confirmed_on"] = row["done_on"] + dt.timedelta(days=int(rng.integers(0, 4)))
                    row["confirmed_by"] = "resident" if rng.random() < 0.7 else "community"
                    row["state"] = "confirmed"
            if any(row.get(k) and row[k] > YEAR[1] for k in ("claimed_on", "done_on", "confirmed_on")):
                for k, state in (("confirmed_on", "done"), ("done_on", "claimed"), ("claimed_on", "open")):
                    if row.get(k) and row[k] > YEAR[1]:
                        row[k] = None
                        row["state"] = state
                if row["state"] == "open":
                    row.update(member_id=None, coop_unit_id=None, offer_id=None, confirmed_by=None)
        elif roll > 0.97:
            row["state"] = "cancelled"
        rows.append(row)
    needs = gpd.GeoDataFrame(rows, geometry="geometry", crs=buildings.crs)
    needs.insert(0, "id", np.arange(1, len(needs) + 1))
    for column in (
        "member_id",
        "coop_unit_id",
        "offer_id",
        "grid_id",
        "community_id",
        "street_id",
        "compound_id",
    ):
        if column not in needs.columns:
            needs[column] = pd.NA
        needs[column] = needs[column].astype("Int64")
    points = _points(needs, members, rules, rng)
    return needs, offers, points


def _points(
    needs: pd.DataFrame, members: pd.DataFrame, rules: PointsRules, rng: np.random.Generator
) -> pd.DataFrame:
    """The ledger: claims and confirmed needs, and a year of visits, volunteering and party
    activities (with a few deductions), each cut by the caps in the order earned."""
    work: list[tuple[dt.date, int, str, str | None, int | None]] = []
    for need in needs.itertuples():
        if pd.notna(need.member_id) and need.claimed_on:
            work.append((need.claimed_on, int(need.member_id), "claim_need", "needs", int(need.id)))
        if pd.notna(need.member_id) and isinstance(need.confirmed_on, dt.date):
            work.append((need.confirmed_on, int(need.member_id), "need_done", "needs", int(need.id)))
    active = members[members["kind"] == "in_service"]
    for mid in active["id"]:
        for rule in ("visit_household", "party_activity", "volunteer_service", "miss_activity"):
            times = int(rng.poisson({"visit_household": 8, "party_activity": 5, "volunteer_service": 3,
                                     "miss_activity": 0.4}[rule]))  # fmt: skip
            work += [(_day(rng, *YEAR), int(mid), rule, None, None) for _ in range(times)]
    work.sort(key=lambda w: (w[0], w[1], w[2], w[4] or 0))
    tally = PointsTally(rules)
    rows = []
    for day, mid, rule, layer, source in work:
        earned, asked = tally.earn(mid, rule, day)
        rows.append({"member_id": mid, "earned_on": day, "rule": rule, "points": earned, "asked": asked,
                     "source_layer": layer, "source_id": source, "rules_version": rules.version})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["source_id"] = frame["source_id"].astype("Int64")
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame
