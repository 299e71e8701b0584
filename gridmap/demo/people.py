"""Synthetic people and organisation of the demo district.

Names are drawn from common surnames and given-name characters: synthetic, never real people.
Phone numbers use the prefix 100, which no Chinese mobile number has, so none can belong to
anyone. Realistic gaps are kept on purpose: some compounds have no branch, some buildings no
party group or building leader, some in-service members link fewer than ten households.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.model import BranchForm, MemberKind, OrgKind, Role

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力成林国志兵春海晨宇欣怡浩然思雨子涵梓轩佳琪"
)
SKILLS = (
    "医生",
    "护士",
    "律师",
    "教师",
    "会计",
    "社工",
    "电工",
    "水暖工",
    "心理咨询",
    "法律援助",
    "厨师",
    "驾驶员",
)
BRANCH_MISSING_SHARE = 0.08
GROUP_SHARE = 0.75
BUILDING_LEADER_SHARE = 0.85
MEMBER_SHARE = 0.04  # party members per resident
IN_SERVICE_SHARE = 0.25  # of members, in-service members who registered here (双报到)
LINK_TARGET = 10  # "1+10": each in-service member links at least ten households


def names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` synthetic Chinese names of two or three characters."""
    sur = rng.choice(_SURNAMES, n)
    first = rng.choice(_GIVEN, n)
    second = rng.choice(_GIVEN, n)
    two = rng.random(n) < 0.35
    return [s + f if t else s + f + g for s, f, g, t in zip(sur, first, second, two, strict=True)]


def phones(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` synthetic 11-digit numbers with the unassigned prefix 100."""
    return [f"100{v:08d}" for v in rng.integers(0, 10**8, n)]


def _date(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=int(rng.integers(0, (end - start).days)))


def party_orgs(
    streets: pd.DataFrame,
    communities: pd.DataFrame,
    compounds: pd.DataFrame,
    buildings: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The party tree; returns (orgs, branch id per compound, group id per building).

    Small neighbouring compounds of a community (under 300 households) share a joint branch
    (联合党支部); some compounds have no branch at all.
    """
    rows: list[dict] = []

    def add(**row) -> int:
        row["id"] = len(rows) + 1
        row.setdefault("founded_on", _date(rng, dt.date(2015, 1, 1), dt.date(2023, 12, 31)))
        rows.append(row)
        return row["id"]

    street_org = {
        sid: add(name=f"{name}党工委", kind=OrgKind.STREET_COMMITTEE.value, street_id=int(sid))
        for sid, name in zip(streets["id"], streets["name"], strict=True)
    }
    comm_org = {
        cid: add(
            name=f"{name}党委",
            kind=OrgKind.COMMUNITY_COMMITTEE.value,
            parent_id=street_org[sid],
            community_id=int(cid),
        )
        for cid, name, sid in zip(
            communities["id"], communities["name"], communities["street_id"], strict=True
        )
    }
    hh = buildings.groupby("compound_id")["households"].sum()
    branch_of = pd.Series(pd.NA, index=compounds["id"], dtype="Int64")
    for cid, group in compounds.groupby("community_id"):
        group = group.assign(hh=hh.reindex(group["id"]).fillna(0).to_numpy())
        small = group[group["hh"] < 300]
        large = group[group["hh"] >= 300]
        for _, comp in large.iterrows():
            if rng.random() < BRANCH_MISSING_SHARE:
                continue
            branch_of[comp["id"]] = add(
                name=f"{comp['name']}党支部",
                kind=OrgKind.COMPOUND_BRANCH.value,
                parent_id=comm_org[cid],
                community_id=int(cid),
                joint=False,
                form=BranchForm.SINGLE.value,
            )
        ids = small["id"].tolist()
        for start in range(0, len(ids), 3):
            chunk = small[small["id"].isin(ids[start : start + 3])]
            if rng.random() < BRANCH_MISSING_SHARE:
                continue
            joint = len(chunk) > 1
            label = chunk["name"].iloc[0] + ("等小区联合" if joint else "")
            org = add(
                name=f"{label}党支部",
                kind=OrgKind.COMPOUND_BRANCH.value,
                parent_id=comm_org[cid],
                community_id=int(cid),
                joint=joint,
                form=(BranchForm.JOINT if joint else BranchForm.SINGLE).value,
            )
            branch_of[chunk["id"].to_numpy()] = org
    group_of = pd.Series(pd.NA, index=buildings["id"], dtype="Int64")
    residential = buildings[(buildings["households"] >= 30) & buildings["compound_id"].notna()]
    for bid, comp_id, name in zip(
        residential["id"], residential["compound_id"], residential["label"], strict=True
    ):
        branch = branch_of.get(int(comp_id), pd.NA)
        if pd.isna(branch) or rng.random() > GROUP_SHARE:
            continue
        group_of[bid] = add(
            name=f"{name}党小组",
            kind=OrgKind.BUILDING_GROUP.value,
            parent_id=int(branch),
            building_id=int(bid),
        )
    return pd.DataFrame(rows), branch_of, group_of


def coop_units(pois: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Co-building units (共建单位): schools, hospitals, banks and offices near communities.

    ``pois`` carries ``community_id``; each community signs up to four of its own.
    """
    wanted = pois[
        pois["service_type"].isin(["school", "hospital", "bank", "government", "library", "post_office"])
    ]
    wanted = wanted[wanted["name"].notna() & wanted["community_id"].notna()]
    rows = []
    for cid, group in wanted.groupby("community_id"):
        take = group.sample(n=min(4, len(group)), random_state=rng)
        for name, kind, geom in zip(take["name"], take["service_type"], take.geometry, strict=True):
            rows.append(
                {
                    "name": name,
                    "kind": kind,
                    "community_id": int(cid),
                    "signed_on": _date(rng, dt.date(2018, 1, 1), dt.date(2024, 6, 30)),
                    "geometry": geom,
                }
            )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=pois.crs)
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def members_and_households(
    buildings: pd.DataFrame,
    compounds: pd.DataFrame,
    orgs: pd.DataFrame,
    branch_of: pd.Series,
    group_of: pd.Series,
    units: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members (resident and in-service) and one row per household, with "1+10" links.

    ``buildings`` carries ``community_id``.
    """
    homes = buildings[buildings["households"] > 0]
    counts = homes["households"].to_numpy().astype(int)
    b_ids = np.repeat(homes["id"].to_numpy(), counts)
    per_unit = 12
    seq = np.concatenate([np.arange(c) for c in counts]) if len(counts) else np.array([], dtype=int)
    levels = np.repeat(homes["levels"].clip(lower=1).to_numpy(), counts)
    floor = seq // 2 % np.maximum(levels, 1) + 1
    households = pd.DataFrame(
        {
            "id": np.arange(1, len(b_ids) + 1),
            "building_id": b_ids,
            "unit": [f"{u + 1}单元" for u in seq // per_unit],
            "room": [f"{f}{(s % 2) + 1:02d}" for f, s in zip(floor, seq, strict=True)],
            "head_name": names(rng, len(b_ids)),
            "phone": phones(rng, len(b_ids)),
            "residents": np.clip(np.round(rng.normal(2.6, 1.0, len(b_ids))), 1, 6).astype(int),
        }
    )
    residents = homes["residents"].to_numpy()
    n_members = rng.poisson(np.maximum(residents * MEMBER_SHARE, 0))
    m_build = np.repeat(homes["id"].to_numpy(), n_members)
    m_comm = np.repeat(homes["community_id"].to_numpy(), n_members)
    n = len(m_build)
    in_service = rng.random(n) < IN_SERVICE_SHARE
    compound_of = buildings.set_index("id")["compound_id"]
    comm_org = orgs[orgs["kind"] == OrgKind.COMMUNITY_COMMITTEE.value].set_index("community_id")["id"]
    org_ids = []
    for b, c in zip(m_build, m_comm, strict=True):
        group = group_of.get(b, pd.NA)
        comp = compound_of.get(b)
        branch = branch_of.get(int(comp), pd.NA) if pd.notna(comp) else pd.NA
        org = group if pd.notna(group) else branch if pd.notna(branch) else comm_org.get(c)
        org_ids.append(org)
    unit_by_comm = units.groupby("community_id")["id"].apply(list).to_dict()
    skills = [
        "、".join(rng.choice(SKILLS, size=int(rng.integers(1, 3)), replace=False))
        if rng.random() < 0.45
        else None
        for _ in range(n)
    ]
    members = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "name": names(rng, n),
            "gender": rng.choice(["男", "女"], n),
            "birth_year": rng.integers(1945, 2001, n),
            "phone": phones(rng, n),
            "kind": np.where(in_service, MemberKind.IN_SERVICE.value, MemberKind.RESIDENT.value),
            "building_id": m_build,
            "community_id": m_comm,
            "org_id": pd.array(org_ids, dtype="Int64"),
            "coop_unit_id": pd.array(
                [
                    int(rng.choice(unit_by_comm[c])) if s and unit_by_comm.get(c) else None
                    for s, c in zip(in_service, m_comm, strict=True)
                ],
                dtype="Int64",
            ),
            "skills": skills,
            "registered_on": [
                _date(rng, dt.date(2019, 1, 1), dt.date(2025, 12, 31)) if s else None for s in in_service
            ],
            "central_household": (~in_service) & (rng.random(n) < 0.06),
        }
    )
    # "1+10": each in-service member links households of their own compound or building
    linked = np.full(len(households), -1)
    hh_by_building = {b: np.flatnonzero(b_ids == b) for b in np.unique(m_build[in_service])}
    for mid, b in zip(members["id"][in_service], m_build[in_service], strict=True):
        free = hh_by_building[b][linked[hh_by_building[b]] < 0]
        want = (
            LINK_TARGET + int(rng.integers(0, 3))
            if rng.random() > 0.15
            else int(rng.integers(3, LINK_TARGET))
        )
        take = free[:want]
        linked[take] = mid
    households["linked_member_id"] = pd.array(np.where(linked > 0, linked, pd.NA), dtype="Int64")
    return members, households


def assignments(
    grids: pd.DataFrame,
    buildings: pd.DataFrame,
    compounds: pd.DataFrame,
    orgs: pd.DataFrame,
    members: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Leaders and workers with history: some grids changed leader, the old term closed."""
    rows: list[dict] = []
    today = dt.date(2026, 1, 1)
    by_building = members.groupby("building_id")

    def person(building: int | None = None) -> tuple[str, int | None, str]:
        if building is not None and building in by_building.groups and rng.random() < 0.7:
            m = members.loc[by_building.groups[building]].sample(n=1, random_state=rng).iloc[0]
            return m["name"], int(m["id"]), m["phone"]
        return names(rng, 1)[0], None, phones(rng, 1)[0]

    def add(role: Role, layer: str, target: int, start: dt.date, end: dt.date | None = None, building=None):
        name, member, phone = person(building)
        rows.append(
            {
                "person_name": name,
                "member_id": member,
                "phone": phone,
                "role": role.value,
                "target_layer": layer,
                "target_id": int(target),
                "valid_from": start,
                "valid_to": end,
            }
        )

    for gid in grids["id"]:
        start = _date(rng, dt.date(2019, 1, 1), dt.date(2023, 6, 30))
        if rng.random() < 0.2:
            change = _date(rng, dt.date(2023, 7, 1), dt.date(2025, 12, 31))
            add(Role.GRID_LEADER, "grids", gid, start, change)
            add(Role.GRID_LEADER, "grids", gid, change)
        elif rng.random() < 0.96:
            add(Role.GRID_LEADER, "grids", gid, start)
        for _ in range(int(rng.integers(1, 4))):
            add(Role.GRID_WORKER, "grids", gid, _date(rng, dt.date(2020, 1, 1), today))
    homes = buildings[buildings["households"] > 0]
    for bid in homes["id"]:
        if rng.random() < BUILDING_LEADER_SHARE:
            add(Role.BUILDING_LEADER, "buildings", bid, _date(rng, dt.date(2019, 1, 1), today), building=bid)
    for cid in compounds.loc[compounds["kind"] == "old_town", "id"]:
        add(Role.LANE_LEADER, "compounds", cid, _date(rng, dt.date(2019, 1, 1), today))
    for oid in orgs.loc[orgs["kind"] == OrgKind.COMPOUND_BRANCH.value, "id"]:
        add(Role.BRANCH_SECRETARY, "party_orgs", oid, _date(rng, dt.date(2018, 1, 1), today))
    frame = pd.DataFrame(rows)
    frame["member_id"] = frame["member_id"].astype("Int64")
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame
