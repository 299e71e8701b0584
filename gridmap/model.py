"""The vocabulary of gridmap: layer names, kinds, roles and service categories.

Layer names and category ids are a contract (DESIGN §7): scripts and other tools rely on them.
Each layer has a :class:`LayerSpec` that says its geometry type, the columns a file may carry,
its unique code column and the layers it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ServiceCategory(StrEnum):
    """Service category ids of facilities (DESIGN §7)."""

    PARTY_SERVICE_CENTRE = "party_service_centre"
    COMMUNITY_SERVICE = "community_service"
    ELDERLY_CARE = "elderly_care"
    CHILDCARE = "childcare"
    KINDERGARTEN = "kindergarten"
    PRIMARY_SCHOOL = "primary_school"
    MIDDLE_SCHOOL = "middle_school"
    CLINIC = "clinic"
    HOSPITAL = "hospital"
    PHARMACY = "pharmacy"
    MARKET = "market"
    GROCERY = "grocery"
    FOOD = "food"
    CULTURE = "culture"
    SPORTS = "sports"
    PARK = "park"
    ADMIN_SERVICE = "admin_service"
    POLICE = "police"
    POST_BANK = "post_bank"
    TOILETS = "toilets"
    WASTE = "waste"


CATEGORY_NAMES_ZH: dict[str, str] = {
    "party_service_centre": "党群服务中心",
    "community_service": "社区服务站",
    "elderly_care": "养老服务",
    "childcare": "托育",
    "kindergarten": "幼儿园",
    "primary_school": "小学",
    "middle_school": "初中",
    "clinic": "社区卫生服务",
    "hospital": "医院",
    "pharmacy": "药店",
    "market": "菜市场",
    "grocery": "便利店/超市",
    "food": "餐饮",
    "culture": "文化活动",
    "sports": "体育健身",
    "park": "公园绿地",
    "admin_service": "便民/政务服务",
    "police": "警务",
    "post_bank": "邮政/银行",
    "toilets": "公共厕所",
    "waste": "垃圾收集",
}


#: the areas coverage is summarised for, from the whole study area down to the grid
SUMMARY_SCOPES: tuple[str, ...] = ("area", "street", "community", "grid")

#: Pedestrian-usable OSM ``highway`` values (the OSMnx "walk" network, plus corridors).
WALK_HIGHWAYS: tuple[str, ...] = (
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service",
    "road", "pedestrian", "footway", "path", "steps", "track", "corridor", "bridleway",
    "crossing", "busway",
)  # fmt: skip


class GridKind(StrEnum):
    """Kinds of work grid that may be merged into one network (多网合一). These are the
    packaged ones; a district adds its own, with their rules, in the organisation catalogue."""

    PARTY = "party"  # 党建网格
    COMPREHENSIVE = "comprehensive"  # 综治网格
    SANITATION = "sanitation"  # 城管/环卫网格
    POLICE = "police"  # 警务网格
    LARGE = "large"  # 大网格: may span communities


class CompoundKind(StrEnum):
    """Kinds of residential compound (小区)."""

    OLD_TOWN = "old_town"  # 老城街巷
    COMMERCIAL = "commercial"  # 商品房/高端住宅
    RESETTLEMENT = "resettlement"  # 拆迁安置
    STAFF_DORMITORY = "staff_dormitory"  # 职工宿舍
    OTHER = "other"


class OrgKind(StrEnum):
    """The kinds of party organisation the code refers to by name; the whole tree, with the
    kinds a district adds, is the organisation catalogue (``gridmap/data/organisation.yaml``)."""

    DISTRICT_CONFERENCE = "district_conference"  # 区城市基层党建联席会议
    STREET_COMMITTEE = "street_committee"  # 街道(大)党工委
    PROPERTY_COMMITTEE = "property_committee"  # 物业行业党委
    COMMUNITY_COMMITTEE = "community_committee"  # 社区(大)党委/党总支
    COMPOUND_BRANCH = "compound_branch"  # 小区党支部 (its form: BranchForm)
    GRID_BRANCH = "grid_branch"  # 网格党支部
    UNIT_ORG = "unit_org"  # 共建单位党组织
    BUILDING_GROUP = "building_group"  # 楼栋党小组
    GRID_GROUP = "grid_group"  # 网格党小组


class BranchForm(StrEnum):
    """How a branch was formed, apart from how many compounds it serves (``joint``)."""

    SINGLE = "single"  # 单独组建: the members of one compound or unit
    JOINT = "joint"  # 联合党支部: one branch over several compounds
    EMBEDDED = "embedded"  # 兼合式党支部: in-service members come "home" where they live
    TEMPORARY = "temporary"  # 临时党支部


class MemberKind(StrEnum):
    """Resident members, and in-service members who register where they live (双报到)."""

    RESIDENT = "resident"
    IN_SERVICE = "in_service"


class Role(StrEnum):
    """The posts the code refers to by name; every post, with where it is held and whether
    one person holds it at a time, is in the organisation catalogue."""

    GRID_LEADER = "grid_leader"  # 网格长
    GRID_WORKER = "grid_worker"  # 网格员
    BUILDING_LEADER = "building_leader"  # 楼栋长
    LANE_LEADER = "lane_leader"  # 街巷长
    BRANCH_SECRETARY = "branch_secretary"  # 党组织书记
    RESIDENTS_COMMITTEE_DIRECTOR = "residents_committee_director"  # 居委会主任
    OWNERS_COMMITTEE_CHAIR = "owners_committee_chair"  # 业委会主任


class UserRole(StrEnum):
    """Access roles of the service (what each may do is the access table, gridmap.scope)."""

    ADMIN = "admin"  # the district: everything
    PLANNER = "planner"  # reads everything, personal data masked
    STREET_ADMIN = "street_admin"  # edits and reads in full within their street
    COMMUNITY_ADMIN = "community_admin"  # edits and reads in full within their community
    GRID_LEADER = "grid_leader"  # reads their grids; moves events and needs, logs visits there
    GRID_WORKER = "grid_worker"  # reads their grids; logs visits and updates households there
    PUBLIC = "public"


@dataclass(frozen=True)
class Column:
    """A column of a layer as a file may carry it.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``;
    ``choices`` limits a text column to a StrEnum's values, ``catalogue`` to the ids of a
    section of the organisation catalogue in force (:mod:`gridmap.orgcatalogue`), ``pattern`` (a regular expression
    the whole text must match, with ``pattern_says`` telling a person what it means) to a
    format, ``max_length`` its characters; ``minimum`` and ``maximum`` bound a number;
    ``happened`` marks a day of something done (a visit, points earned), which cannot lie
    ahead.
    """

    name: str
    kind: str = "str"
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500
    pattern: str | None = None
    pattern_says: str = ""
    catalogue: str | None = None
    happened: bool = False


@dataclass(frozen=True)
class Reference:
    """A column holding the id of a feature in another layer.

    A file may give the reference as the id itself (``column``) or as the other layer's code
    (``code_column``), which import resolves to the id.
    """

    column: str
    layer: str
    code_column: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    """What a layer holds. ``geometry`` is None for a plain table."""

    name: str
    geometry: str | None
    columns: tuple[Column, ...]
    code: str | None = None
    references: tuple[Reference, ...] = ()
    title_zh: str = ""
    personal: tuple[str, ...] = field(default=())
    #: pairs of columns whose first value may not come after the second (dates of a term)
    ordered: tuple[tuple[str, str], ...] = ()
    #: what makes a file's row the same feature as a stored one when the file gives no id and
    #: the layer has no code: these columns equal, and with ``PLACE`` the geometry within a metre
    match: tuple[str, ...] = ()

    @property
    def match_key(self) -> tuple[str, ...]:
        """The columns an import matches stored features on: the code, else ``match``."""
        return (self.code,) if self.code else self.match

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


#: the range of a whole-number column that names none (the databases' 32-bit INTEGER)
INT_RANGE: tuple[int, int] = (-(2**31), 2**31 - 1)


def _choices(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(m.value for m in enum)


_SOURCE = Column("source", max_length=100)
_OSM_ID = Column("osm_id", "int", minimum=-(2**62), maximum=2**62)
_NAME = Column("name", max_length=200)
_COUNT = 100_000  # at most this many households or residents in one building or grid


#: administrative codes (GB/T 2260 districts, GB/T 10114 streets, civil-affairs communities)
#: and grid codes (DB11/T 1300: community code and a 3-digit sequence)
def _code(digits: int, what: str) -> Column:
    return Column("code", required=True, pattern=rf"\d{{{digits}}}", pattern_says=f"{digits} digits ({what})")


#: a phone number: digits, with an optional leading + and - or spaces between groups
_PHONE = Column(
    "phone",
    max_length=30,
    pattern=r"\+?[0-9][0-9 -]{4,24}[0-9]",
    pattern_says="digits, optionally with a leading + and - or spaces between groups",
)
#: where a building's households and residents come from: given in its own row (a file, an
#: edit), spread from a committee's ledger by floor area, or estimated from footprint × levels
HOUSEHOLD_SOURCES: tuple[str, ...] = ("given", "ledger", "estimate")

#: the states of a grid event (吹哨报到), where it is handled, and how it came in (the moves
#: between states are :data:`gridmap.events.TRANSITIONS`)
EVENT_STATES: tuple[str, ...] = (
    "reported", "accepted", "assigned", "in_progress", "resolved", "closed", "returned", "escalated",
    "duplicate", "not_ours",
)  # fmt: skip
EVENT_LEVELS: tuple[str, ...] = ("grid", "community", "street")
EVENT_SOURCES: tuple[str, ...] = ("resident", "patrol", "hotline", "inspection")
#: what a visit to a household was (四必访: the must-visits, and the routine ones)
VISIT_KINDS: tuple[str, ...] = ("routine", "must_visit", "festival", "follow_up")

#: needs (双向认领): what kind they are, how far they have come, and who confirmed them done
NEED_KINDS: tuple[str, ...] = ("wish", "list_item", "project")  # 微心愿, 民情清单, 项目
NEED_STATES: tuple[str, ...] = ("open", "claimed", "done", "confirmed", "cancelled")
NEED_CONFIRMERS: tuple[str, ...] = ("resident", "community")
#: what a co-building unit sponsors (包保), and what a points entry was earned by
SPONSORED_LAYERS: tuple[str, ...] = ("compounds", "party_orgs")
POINT_SOURCES: tuple[str, ...] = ("needs", "events", "visits", "households", "members")

#: layers whose features change only through their own steps: never edited feature by feature
#: nor imported as a layer (why, and what to use instead)
STEPPED_LAYERS: dict[str, str] = {
    "events": "an event is filed and changes through its steps "
    "(gridmap events file|move|import, or the events routes)",
    "needs": "a need is filed and changes through its steps (gridmap needs file|claim|done|confirm)",
    "points": "points are earned under the rules (gridmap points award), never written by hand",
}

#: in a layer's ``match``: the same place, the geometry within ``PLACE_TOLERANCE_M``
PLACE = "place"
PLACE_TOLERANCE_M = 1.0
_NAME_AND_PLACE = ("name", PLACE)
_LEVEL_MINUTES = Column("level", "int", minimum=1, maximum=60)  # life-circle level (5, 10, 15); empty: any

LAYER_SPECS: dict[str, LayerSpec] = {
    s.name: s
    for s in [
        LayerSpec(
            "districts",
            "MULTIPOLYGON",
            (_code(6, "a district's GB/T 2260 code"), Column("name", required=True, max_length=200)),
            code="code",
            title_zh="区",
        ),
        LayerSpec(
            "streets",
            "MULTIPOLYGON",
            (
                _code(9, "the district's code and 3 digits"),
                Column("name", required=True, max_length=200),
                Column("district_id", "int"),
            ),
            code="code",
            references=(Reference("district_id", "districts", "district_code"),),
            title_zh="街道",
        ),
        LayerSpec(
            "communities",
            "MULTIPOLYGON",
            (
                _code(12, "the street's code and 3 digits"),
                Column("name", required=True, max_length=200),
                Column("street_id", "int"),
            ),
            code="code",
            references=(Reference("street_id", "streets", "street_code"),),
            title_zh="社区",
        ),
        LayerSpec(
            "grids",
            "MULTIPOLYGON",
            (
                # the code's standard is the grid kind's (DB11, CJ/T 349, the district's own)
                Column("code", required=True, max_length=40),
                _NAME,
                Column("level", "int", minimum=1, maximum=5),
                Column("kind", catalogue="grid_kinds"),
                Column("parent_id", "int"),
                Column("community_id", "int"),
                Column("households", "int", minimum=0, maximum=_COUNT),
                Column("branch_id", "int"),  # the branch or group on this grid (多格一支部: shared)
            ),
            code="code",
            references=(
                Reference("community_id", "communities", "community_code"),
                Reference("parent_id", "grids", "parent_code"),
                Reference("branch_id", "party_orgs"),
            ),
            title_zh="网格",
        ),
        LayerSpec(
            "compounds",
            "MULTIPOLYGON",
            (
                _NAME,
                Column("kind", choices=_choices(CompoundKind)),
                Column("property_company", max_length=200),
                Column("owners_committee", "bool"),
                Column("red_property", "bool"),
                Column("red_owners_committee", "bool"),
                Column("community_id", "int"),
                Column("branch_id", "int"),
                _OSM_ID,
                _SOURCE,
            ),
            references=(
                Reference("community_id", "communities", "community_code"),
                Reference("branch_id", "party_orgs"),
            ),
            title_zh="小区",
            match=_NAME_AND_PLACE,
        ),
        LayerSpec(
            "buildings",
            "MULTIPOLYGON",
            (
                _NAME,
                Column("use", max_length=100),
                Column("compound_id", "int"),
                Column("levels", "int", minimum=1, maximum=200),
                Column("households", "int", minimum=0, maximum=_COUNT),
                Column("residents", "int", minimum=0, maximum=_COUNT * 5),
                Column("estimated", "bool"),
                Column("generated", "bool"),
                Column("households_from", choices=HOUSEHOLD_SOURCES),
                Column("levels_from", max_length=50),
                Column("floor_area_m2", "float", minimum=0, maximum=10_000_000),
                Column("party_group_id", "int"),
                _OSM_ID,
                _SOURCE,
            ),
            references=(
                Reference("compound_id", "compounds"),
                Reference("party_group_id", "party_orgs"),
            ),
            title_zh="楼栋",
            match=_NAME_AND_PLACE,
        ),
        LayerSpec(
            "facilities",
            "POINT",
            (
                _NAME,
                Column("kind", max_length=100),
                Column("categories", required=True),
                Column("capacity", "int", minimum=0, maximum=1_000_000),
                _LEVEL_MINUTES,
                Column("opening_hours", max_length=200),
                Column("community_id", "int"),
                _OSM_ID,
                _SOURCE,
            ),
            references=(Reference("community_id", "communities", "community_code"),),
            title_zh="设施/阵地",
            match=_NAME_AND_PLACE,
        ),
        LayerSpec(
            "roads",
            "LINESTRING",
            (
                Column("u", "int", minimum=-(2**62), maximum=2**62),
                Column("v", "int", minimum=-(2**62), maximum=2**62),
                Column("highway", max_length=50),
                _NAME,
                Column("length_m", "float", minimum=0, maximum=1_000_000),
                Column("osm_way_id", "int", minimum=-(2**62), maximum=2**62),
                _SOURCE,
            ),
            title_zh="道路",
            match=_NAME_AND_PLACE,
        ),
        LayerSpec(
            "entrances",
            "POINT",
            (Column("kind", max_length=50), _NAME, Column("compound_id", "int"), _OSM_ID, _SOURCE),
            references=(Reference("compound_id", "compounds"),),
            title_zh="出入口",
            match=_NAME_AND_PLACE,
        ),
        LayerSpec(
            "party_orgs",
            None,
            (
                Column("name", required=True, max_length=200),
                Column("kind", required=True, catalogue="org_kinds"),
                Column("parent_id", "int"),
                Column("street_id", "int"),
                Column("community_id", "int"),
                Column("building_id", "int"),
                Column("joint", "bool"),  # serves several compounds (kept so by assign_branch)
                Column("form", catalogue="branch_forms"),  # how it was formed: never recomputed
                Column("founded_on", "date"),
                Column("coop_unit_id", "int"),  # a co-building unit's own party organisation
            ),
            references=(
                Reference("parent_id", "party_orgs"),
                Reference("street_id", "streets", "street_code"),
                Reference("community_id", "communities", "community_code"),
                Reference("building_id", "buildings"),
                Reference("coop_unit_id", "coop_units"),
            ),
            title_zh="党组织",
            match=("name", "kind"),
        ),
        LayerSpec(
            "members",
            None,
            (
                Column("name", required=True, max_length=100),
                Column("gender", max_length=10),
                Column("birth_year", "int", minimum=1900, maximum=2030),
                _PHONE,
                Column("kind", required=True, choices=_choices(MemberKind)),
                Column("building_id", "int"),
                Column("community_id", "int"),
                Column("org_id", "int"),
                Column("coop_unit_id", "int"),
                Column("skills", max_length=500),
                Column("registered_on", "date"),  # reported where they live (双报到, home side)
                Column("unit_registered_on", "date"),  # reported at their unit's community ("1+X")
                Column("central_household", "bool"),  # 党员中心户
            ),
            references=(
                Reference("building_id", "buildings"),
                Reference("community_id", "communities", "community_code"),
                Reference("org_id", "party_orgs"),
                Reference("coop_unit_id", "coop_units"),
            ),
            title_zh="党员",
            match=("name", "phone"),
            personal=("name", "phone", "birth_year"),
        ),
        LayerSpec(
            "households",
            None,
            (
                Column("building_id", "int", required=True),
                Column("unit", max_length=50),
                Column("room", max_length=50),
                Column("head_name", max_length=100),
                _PHONE,
                Column("residents", "int", minimum=0, maximum=50),
                Column("linked_member_id", "int"),
                Column("care_tags", max_length=200),  # gridmap/data/care_tags.yaml, comma separated
            ),
            references=(
                Reference("building_id", "buildings"),
                Reference("linked_member_id", "members"),
            ),
            title_zh="住户",
            match=("building_id", "unit", "room"),
            personal=("head_name", "phone"),
        ),
        LayerSpec(
            "assignments",
            None,
            (
                Column("person_name", required=True, max_length=100),
                Column("member_id", "int"),
                _PHONE,
                Column("role", required=True, catalogue="roles"),
                Column("target_layer", required=True),
                Column("target_id", "int", required=True),
                Column("valid_from", "date", required=True),
                Column("valid_to", "date"),
                Column("note", max_length=1000),
            ),
            references=(Reference("member_id", "members"),),
            title_zh="职责",
            match=("person_name", "role", "target_layer", "target_id", "valid_from"),
            personal=("person_name", "phone"),
            ordered=(("valid_from", "valid_to"),),
        ),
        LayerSpec(
            "events",
            "POINT",
            (
                Column("category", required=True, max_length=50),
                Column("description", max_length=2000),
                Column("source", required=True, choices=EVENT_SOURCES),
                Column("reporter", max_length=100),
                _PHONE,
                Column("state", required=True, choices=EVENT_STATES),
                Column("level", required=True, choices=EVENT_LEVELS),
                Column("department", max_length=100),
                Column("assignee", max_length=100),
                Column("street_id", "int"),
                Column("community_id", "int"),
                Column("grid_id", "int"),
                Column("compound_id", "int"),
                Column("building_id", "int"),
                Column("filed_at", "datetime", required=True),
                Column("first_claim_due_at", "datetime"),
                Column("claim_due_at", "datetime"),
                Column("due_at", "datetime"),
                Column("accepted_at", "datetime"),
                Column("resolved_at", "datetime"),
                Column("closed_at", "datetime"),
                Column("escalations", "int", minimum=0, maximum=10),
                Column("rating", "int", minimum=1, maximum=5),
                Column("catalogue_version", "int", minimum=1, maximum=10_000),
                Column("external_id", max_length=100),
                Column("generated", "bool"),
            ),
            references=(
                Reference("street_id", "streets", "street_code"),
                Reference("community_id", "communities", "community_code"),
                Reference("grid_id", "grids", "grid_code"),
                Reference("compound_id", "compounds"),
                Reference("building_id", "buildings"),
            ),
            title_zh="事件",
            personal=("reporter", "phone"),
        ),
        LayerSpec(
            "visits",
            None,
            (
                Column("household_id", "int", required=True),
                Column("visited_on", "date", required=True, happened=True),
                Column("visitor", max_length=100),
                Column("kind", choices=VISIT_KINDS),
                Column("note", max_length=2000),
            ),
            references=(Reference("household_id", "households"),),
            title_zh="走访",
            match=("household_id", "visited_on", "visitor"),
        ),
        LayerSpec(
            "coop_units",
            "POINT",
            (
                Column("name", required=True, max_length=200),
                Column("kind", max_length=100),
                Column("community_id", "int"),
                Column("signed_on", "date"),  # the co-building agreement
                Column("registered_on", "date"),  # the unit reported to the community (双报到, unit side)
            ),
            references=(Reference("community_id", "communities", "community_code"),),
            title_zh="共建单位",
            match=_NAME_AND_PLACE,
        ),
        LayerSpec(
            "sponsorships",
            None,
            (
                Column("coop_unit_id", "int", required=True),
                Column("target_layer", required=True, choices=SPONSORED_LAYERS),
                Column("target_id", "int", required=True),
                Column("valid_from", "date", required=True),
                Column("valid_to", "date"),
                Column("note", max_length=1000),
            ),
            references=(Reference("coop_unit_id", "coop_units"),),
            title_zh="包保",
            match=("coop_unit_id", "target_layer", "target_id", "valid_from"),
            ordered=(("valid_from", "valid_to"),),
        ),
        LayerSpec(
            "needs",
            "POINT",
            (
                Column("kind", required=True, choices=NEED_KINDS),
                Column("category", required=True, max_length=50),  # gridmap/data/needs.yaml
                Column("title", required=True, max_length=200),
                Column("description", max_length=2000),
                Column("resident_name", max_length=100),
                _PHONE,
                Column("state", required=True, choices=NEED_STATES),
                Column("household_id", "int"),
                Column("compound_id", "int"),
                Column("grid_id", "int"),
                Column("community_id", "int"),
                Column("street_id", "int"),
                Column("filed_on", "date", required=True, happened=True),
                Column("claimed_on", "date", happened=True),
                Column("done_on", "date", happened=True),
                Column("confirmed_on", "date", happened=True),
                Column("confirmed_by", choices=NEED_CONFIRMERS),
                Column("member_id", "int"),  # claimed by a member …
                Column("coop_unit_id", "int"),  # … or by a co-building unit
                Column("offer_id", "int"),  # the offer it claimed (双向认领: needs claim offers)
                Column("generated", "bool"),
            ),
            references=(
                Reference("household_id", "households"),
                Reference("compound_id", "compounds"),
                Reference("grid_id", "grids", "grid_code"),
                Reference("community_id", "communities", "community_code"),
                Reference("street_id", "streets", "street_code"),
                Reference("member_id", "members"),
                Reference("coop_unit_id", "coop_units"),
                Reference("offer_id", "offers"),
            ),
            title_zh="需求(微心愿/民情清单/项目)",
            personal=("resident_name", "phone"),
        ),
        LayerSpec(
            "offers",
            None,
            (
                Column("category", required=True, max_length=50),  # gridmap/data/needs.yaml
                Column("title", required=True, max_length=200),
                Column("description", max_length=2000),
                Column("member_id", "int"),
                Column("coop_unit_id", "int"),
                Column("community_id", "int"),
                Column("offered_on", "date", required=True),
                Column("valid_to", "date"),
            ),
            references=(
                Reference("member_id", "members"),
                Reference("coop_unit_id", "coop_units"),
                Reference("community_id", "communities", "community_code"),
            ),
            title_zh="资源(党员/单位认领)",
            match=("title", "member_id", "coop_unit_id", "offered_on"),
            ordered=(("offered_on", "valid_to"),),
        ),
        LayerSpec(
            "points",
            None,
            (
                Column("member_id", "int", required=True),
                Column("earned_on", "date", required=True, happened=True),
                Column("rule", required=True, max_length=50),  # gridmap/data/points.yaml
                Column("points", "int", required=True, minimum=-1000, maximum=1000),
                Column("asked", "int", minimum=-1000, maximum=1000),  # before the period's cap
                Column("source_layer", choices=POINT_SOURCES),
                Column("source_id", "int"),
                Column("rules_version", "int", minimum=1, maximum=10_000),
                Column("note", max_length=1000),
            ),
            references=(Reference("member_id", "members"),),
            title_zh="积分",
        ),
    ]
}

#: what a form calls a field (the layers' columns) in Chinese; a column not named here shows its id
FIELD_NAMES_ZH: dict[str, str] = {
    "code": "编码", "name": "名称", "kind": "类型", "level": "层级", "parent_id": "上级", "community_id": "所属社区",
    "street_id": "所属街道", "district_id": "所属区", "households": "户数", "residents": "人口", "branch_id": "党组织",
    "property_company": "物业公司", "owners_committee": "有业委会", "red_property": "红色物业",
    "red_owners_committee": "红色业委会", "compound_id": "所属小区", "levels": "层数", "use": "用途",
    "categories": "服务类别", "capacity": "容量", "opening_hours": "开放时间", "party_group_id": "楼栋党小组",
    "source": "来源", "osm_id": "OSM编号", "floor_area_m2": "建筑面积(㎡)", "estimated": "估算",
    "generated": "生成", "households_from": "户数来源", "levels_from": "层数来源", "building_id": "所属楼栋",
    "unit": "单元", "room": "房号", "head_name": "户主", "phone": "电话", "linked_member_id": "联系党员",
    "care_tags": "关爱标签", "signed_on": "签约日期", "registered_on": "报到日期",
}  # fmt: skip

LAYERS: tuple[str, ...] = tuple(LAYER_SPECS)
SPATIAL_LAYERS: tuple[str, ...] = tuple(n for n, s in LAYER_SPECS.items() if s.geometry)
# Assignments may point at these layers.
ASSIGNMENT_TARGETS: tuple[str, ...] = (
    "grids",
    "buildings",
    "compounds",
    "communities",
    "party_orgs",
)


def layer_spec(name: str) -> LayerSpec:
    """The spec of a layer, or an error naming the layers there are."""
    from gridmap.errors import InputError

    try:
        return LAYER_SPECS[name]
    except KeyError:
        raise InputError(f"unknown layer '{name}'; expected one of: {', '.join(LAYERS)}") from None
