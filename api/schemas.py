"""The service's shapes in one place: what each route takes and what it answers, as Pydantic
models, so that ``/openapi.json`` documents both.

Request bodies forbid keys they do not know and take values as given (``strict``). Answers
are :class:`Answer` models: they name every key the service writes, and allow others, so that
a key added later shows in the answer before it shows here rather than failing the request
(a test checks that no answer carries a key its model does not name). Routes answer with
``response_model_exclude_unset``: a key the service leaves out stays out rather than turning
up as ``null``. Coordinates are EPSG:4326 (lon, lat) throughout; dates are ISO 8601 text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import Path
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gridmap.model import ASSIGNMENT_TARGETS, INT_RANGE, Role, layer_spec

# --- values ---------------------------------------------------------------------------------

Id = Annotated[int, Field(ge=1, le=INT_RANGE[1])]
#: an id in a route's path: one beyond the databases' range is refused before any query
PathId = Annotated[int, Path(ge=1, le=INT_RANGE[1], description="an id (1 and up)")]
Level = Annotated[int, Field(ge=1, le=60)]
CategoryId = Annotated[str, Field(min_length=1, max_length=50)]
Label = Annotated[str, Field(max_length=200)]
Bounds = Annotated[list[float], Field(description="min lon, min lat, max lon, max lat (EPSG:4326)")]
Number = int | float  # a count or a measure, as computed: whole numbers stay whole


def _as_day(value: object) -> object:
    """A day as JSON and query strings carry it, YYYY-MM-DD (or a date): never a number, which
    Pydantic would read as seconds since 1970 (0 became 1970-01-01)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("expected a day as YYYY-MM-DD")


#: a day a request gives (a body's field or a query's value)
Day = Annotated[dt.date, BeforeValidator(_as_day)]


class Body(BaseModel):
    """A request body: unknown keys are refused, values are taken as given."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Answer(BaseModel):
    """A response body (see the module's note on keys it does not name)."""

    model_config = ConfigDict(extra="allow")


class AnswerRoute(APIRoute):
    """A route whose answer leaves out the keys the service left out (rather than ``null``)."""

    def __init__(self, path: str, endpoint: Any, **options: Any) -> None:
        options["response_model_exclude_unset"] = True  # the router passes its default (False)
        super().__init__(path, endpoint, **options)


# --- errors ---------------------------------------------------------------------------------


class ProblemItem(BaseModel):
    message: str
    feature: str | None = None
    field: str | None = None
    feature_id: str | None = None


class ProblemBody(BaseModel):
    """What every error answer holds."""

    status: int
    title: str
    detail: str
    problems: list[ProblemItem] | None = None


# --- sign-in --------------------------------------------------------------------------------


class Credentials(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    password: str = Field(..., min_length=1, max_length=1024)


class Token(Answer):
    access_token: str
    token_type: Literal["bearer"]  # given, not defaulted: an answer holds only what is set
    name: str
    role: str
    grids: list[str] = Field(description="the codes of the grids the user leads")


class Me(Answer):
    name: str
    role: str
    grids: list[str] = Field(
        description="the codes of the grids the user works in (grid leaders and workers)"
    )
    area: str | None = Field(
        None, description="the code of a street or community admin's street or community"
    )
    communities: list[int] = Field(default_factory=list, description="the ids of the communities they keep")


# --- links, pages and GeoJSON ---------------------------------------------------------------


class Link(Answer):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(Answer):
    """The OGC API landing page."""

    title: str
    description: str
    links: list[Link]


class CategoryName(Answer):
    id: str
    name: str = Field(description="the category's Chinese name")


class WebConfig(Answer):
    """What the web map needs to start."""

    bounds: Bounds | None
    categories: list[CategoryName]
    event_categories: list[CategoryName] = Field(description="the event catalogue's categories")
    tianditu_key: str | None
    attribution: str


class Geometry(Answer):
    """A GeoJSON geometry (EPSG:4326)."""

    type: str
    coordinates: list[Any] | None = None
    geometries: list[Any] | None = None


class Feature(Answer):
    """A GeoJSON Feature: its properties are the layer's fields."""

    type: Literal["Feature"]
    id: int | str | None = None
    geometry: Geometry | None
    properties: dict[str, Any] | None


class FeatureCollection(Answer):
    """A GeoJSON FeatureCollection; pages also say how many matched and link to the next."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int | None = None  # noqa: N815 (OGC API names)
    numberReturned: int | None = None  # noqa: N815
    timeStamp: str | None = None  # noqa: N815
    links: list[Link] | None = None


class FindingCollection(FeatureCollection):
    """The grid map's findings: one feature each, with how many are errors and warnings."""

    errors: int
    warnings: int


class MissingCollection(FeatureCollection):
    """The features that lack one party-building figure."""

    figure: str


class LineageRow(Answer):
    old_code: str | None
    new_code: str
    relation: str = Field(description="split, merged, redrawn or new")
    area_m2: float
    households: float


class GridProposal(FeatureCollection):
    """A proposed drawing of one community's grids and where each new grid came from."""

    community: str
    households_range: list[int]
    lineage: list[LineageRow]
    retired: list[str]
    notes: list[str]
    applied: dict[str, list[str]] | None = Field(
        None, description="a redraw applied: kept, added, retired codes"
    )


# --- features (OGC API) ---------------------------------------------------------------------


class Conformance(Answer):
    conformsTo: list[str]  # noqa: N815


class SpatialExtent(Answer):
    bbox: list[Bounds]
    crs: str


class Extent(Answer):
    spatial: SpatialExtent


class CollectionInfo(Answer):
    """One layer as an OGC API collection."""

    id: str
    title: str
    description: str
    itemType: str  # noqa: N815
    crs: list[str]
    links: list[Link]
    extent: Extent | None = None


class Collections(Answer):
    links: list[Link]
    collections: list[CollectionInfo]


class SearchHit(Answer):
    layer: str
    id: int
    label: str
    bbox: Bounds


class AuditEntry(Answer):
    """One change: who, when, what, to which feature, and the values before and after."""

    id: int
    at: str
    user_name: str
    action: str
    layer: str | None
    feature_id: int | None
    count: int | None
    detail: str | None = Field(description="the values before and after, as JSON text")


class GeometryIn(BaseModel):
    """A GeoJSON geometry (EPSG:4326); heights are dropped."""

    model_config = ConfigDict(extra="allow")
    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any]


class FeatureIn(BaseModel):
    """A GeoJSON Feature as a body: its properties are the layer's fields."""

    model_config = ConfigDict(extra="allow")
    type: Literal["Feature"]
    geometry: GeometryIn | None = None
    properties: dict[str, Any] | None = None


# --- tiles ----------------------------------------------------------------------------------


class VectorLayer(Answer):
    id: str
    fields: dict[str, str] = Field(description="each property and its type (Number, String, Boolean)")
    minzoom: int
    maxzoom: int


class TileJSON(Answer):
    """TileJSON 3.0.0 of one layer's vector tiles."""

    tilejson: str
    name: str
    scheme: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    attribution: str
    vector_layers: list[VectorLayer]
    bounds: Bounds | None = None


# --- who is responsible ---------------------------------------------------------------------


class Person(Answer):
    """A person in charge on the day asked, masked as the caller's role reads them."""

    assignment_id: int
    role: str
    person_name: str | None
    phone: str | None
    member_id: int | None
    valid_from: str | None
    valid_to: str | None
    target_layer: str
    target_id: int


class PartyOrg(Answer):
    id: int
    name: str | None = None
    kind: str | None = None
    joint: bool | None = None
    secretaries: list[Person]


class Area(Answer):
    id: int
    code: str | None = None
    name: str | None = None


class CommunityHere(Area):
    party_org: PartyOrg | None


class GridHere(Area):
    level: int | None = None
    kind: str | None = None
    leaders: list[Person]
    workers: list[Person]


class CompoundHere(Answer):
    id: int
    name: str | None = None
    kind: str | None = None
    property_company: str | None = None
    branch: PartyOrg | None
    lane_leaders: list[Person]


class BuildingHere(Answer):
    id: int
    name: str | None = None
    levels: int | None = None
    households: int | None = Field(None, description="for readers of buildings only")
    residents: int | None = Field(None, description="for readers of buildings only")
    party_group: PartyOrg | None
    leaders: list[Person]


class Who(Answer):
    """Who is responsible at a point on a day: the areas it lies in and the people in charge."""

    lon: float
    lat: float
    at: str
    district: Area | None
    street: Area | None
    community: CommunityHere | None
    grids: list[GridHere]
    compound: CompoundHere | None
    building: BuildingHere | None


class AreaTotals(Answer):
    grids: int
    buildings: int
    households: int
    residents: int
    members: int
    open_events: int
    visits_due: int
    overdue_events: int = Field(description="open events past their deadline")


class MyArea(Answer):
    """A grid leader's own grids with what lies in them. The rows of households, members,
    party organisations and terms have their layers' fields (``/collections/{layer}``)."""

    user: str
    grid_codes: list[str]
    bounds: Bounds | None
    grids: FeatureCollection
    compounds: FeatureCollection
    buildings: FeatureCollection
    households: list[dict[str, Any]]
    members: list[dict[str, Any]]
    party_orgs: list[dict[str, Any]]
    duties: list[dict[str, Any]] = Field(description="terms running today")
    history: list[dict[str, Any]] = Field(description="terms that have ended")
    events: list[dict[str, Any]] = Field(
        description="the events of the grids waiting for their people (not resolved, not ended), soonest due first"
    )
    visits_due: list[dict[str, Any]] = Field(description="households due for a visit, the most overdue first")
    totals: AreaTotals


# --- assignments ----------------------------------------------------------------------------


class Assignment(Body):
    role: Literal[tuple(Role)] = Field(  # type: ignore[valid-type]
        ..., description="grid_leader, grid_worker, building_leader, lane_leader, branch_secretary"
    )
    target_layer: Literal[ASSIGNMENT_TARGETS] = Field(  # type: ignore[valid-type]
        ..., description="grids, buildings, compounds, communities or party_orgs"
    )
    target_id: Id
    person_name: str = Field(..., max_length=100, pattern=r"\S", description="who holds the term")
    phone: str | None = Field(
        None, max_length=30, pattern=f"^{layer_spec('assignments').column('phone').pattern}$"
    )
    member_id: Id | None = None
    valid_from: Day | None = Field(None, strict=False, description="first day (default today)")
    note: str | None = Field(None, max_length=1000)
    replace: bool | None = Field(
        None, description="end the current holders' terms (default: for one-holder roles)"
    )


class Assigned(Answer):
    id: int = Field(description="the new term's id")
    ended: list[int] = Field(description="the ids of the terms it ended")


class End(Body):
    on: Day | None = Field(None, strict=False, description="the day the term ends (default today)")


class Ended(Answer):
    id: int
    ended_on: str


class Post(Answer):
    """A post of the organisation catalogue, and the layers whose features it is held for."""

    id: str
    name_zh: str
    held_for: list[str]
    single: bool = Field(description="one holder at a time on a feature")


class Term(Answer):
    """One term of a person on an area, current (``valid_to`` null) or past."""

    id: int
    person_name: str | None
    member_id: int | None
    phone: str | None
    role: str
    target_layer: str
    target_id: int
    valid_from: str | None
    valid_to: str | None
    note: str | None


class Branch(Body):
    compound_ids: list[Id] = Field(
        default_factory=list,
        max_length=10_000,
        description="the compounds the branch covers (several: a joint branch)",
    )
    grid_ids: list[Id] = Field(
        default_factory=list,
        max_length=10_000,
        description="the grids the branch or group is built on (several: 多格一支部)",
    )
    branch_id: Id | None = Field(
        ..., description="a branch's (or, on grids, a group's) party_orgs id; null: none"
    )


class BranchAssigned(Answer):
    compounds: int = Field(0, description="compounds whose branch changed")
    grids: int = Field(0, description="grids whose branch or group changed")
    branch_id: int | None


# --- kept runs and scenarios, and rows per area -------------------------------------------


class HomesCounted(Answer):
    """Where the residents and households counted came from, by source: ``given`` in the
    buildings' rows, from committees' ``ledger``s, or an ``estimate`` from footprint × levels."""

    residents: dict[str, int] = Field(description="residents by source: given, ledger, estimate")
    households: dict[str, int] = Field(description="households by source: given, ledger, estimate")
    doubtful_residents: int = Field(
        description="of the residents, those estimated in buildings of a footprint larger than homes have "
        "(an estate, a mall or a block drawn as one outline)"
    )
    doubtful_buildings: int = Field(description="the buildings of those doubtful estimates")
    compounds: int = Field(description="the compounds read")
    compounds_without_homes: int = Field(
        description="of them, those mapped without a building of homes: they count no one"
    )
    said: str = Field(description="the same in words, as the command line says it")
    said_zh: str = Field(description="the same in Chinese, as the web map and the maps say it")


class Kept(Answer):
    """What every kept run and scenario says of itself."""

    id: int
    created_at: str
    created_by: str | None
    label: str | None
    homes: HomesCounted | None = Field(
        None, description="what its count of homes held; left out for runs kept before it was recorded"
    )


class KeptListed(Kept):
    """A kept run or scenario in a list: with the residents it counted."""

    residents: int | None = Field(
        description="the residents its homes counted (null: kept before it was recorded)"
    )
    estimated: float | None = Field(description="the share of them estimated from footprint × levels (0–1)")


class AreaUnit(Answer):
    """A row about one unit of a summary: the whole area, a street, a community or a grid."""

    scope: str
    unit_id: Number | None
    code: str | None
    name: str | None


class CategoryInArea(AreaUnit):
    """A row about one (category, level) in one unit, over the homes there."""

    category: str
    category_zh: str
    level: int
    homes: int


# --- jobs -----------------------------------------------------------------------------------


class JobError(Answer):
    """Why a job failed, as an error answer would say it."""

    status: int
    title: str
    detail: str


class JobStatus(Answer):
    """A piece of background work and how far it got; ``result`` once it is done."""

    id: str
    kind: str = Field(description="coverage or siting")
    status: str = Field(description="queued, running, done or failed")
    stage: str
    progress: float = Field(description="0 to 1")
    created_by: str
    created_at: str
    finished_at: str | None
    result: dict[str, Any] = Field(description="coverage: run_id, homes; siting: scenario_id, sites, status")
    error: JobError | None


class JobStarted(JobStatus):
    links: list[Link] = Field(description="where to poll (also in Location)")


# --- coverage -------------------------------------------------------------------------------


class CoverageRequest(Body):
    levels: list[Level] | None = Field(
        None, max_length=10, description="life-circle levels (5, 10, 15); default all"
    )
    categories: list[CategoryId] | None = Field(
        None, max_length=50, description="service category ids; default every listed one"
    )
    speed_mps: float | None = Field(
        None, ge=0.1, le=5, allow_inf_nan=False, description="walking speed in m/s (default the setting, 1.1)"
    )
    origin: Literal["building", "compound"] | None = Field(None, description="building or compound")
    label: Label | None = None


class RunListed(KeptListed):
    method: str = Field(description="network, or straight lines times the detour factor")
    levels: str = Field(description="the levels, comma-separated")
    speed_mps: float
    origin: str


class LayerInput(Answer):
    version: int
    features: int


class Run(Kept):
    """A kept coverage run: what it was asked, what it read, and (for planners) how it went."""

    method: str
    checklist_version: int
    params: dict[str, Any] = Field(description="levels, categories, walking speed, origin, ...")
    inputs: dict[str, LayerInput] = Field(description="each layer's version and feature count")
    report: dict[str, Any] | None = Field(description="network, islands and timings (planners, admins)")


class SummaryRow(CategoryInArea):
    """Coverage of one (category, level) in one area, street, community or grid."""

    homes_uncovered: int
    households: Number
    households_covered: Number
    residents: Number
    residents_covered: Number
    share_households: float | None
    share_residents: float | None


class CompoundCheck(Answer):
    compound_id: int
    check: str
    level: int
    passes: bool
    missing: str | None = Field(description="the categories it lacks, comma-separated")


# --- siting ---------------------------------------------------------------------------------


class SitingRequest(Body):
    categories: list[CategoryId] = Field(
        ..., min_length=1, max_length=50, description="service categories one new station serves"
    )
    model: Literal["mclp", "lscp", "pmedian"] = Field("mclp", description="mclp, lscp or pmedian")
    count: int | None = Field(None, ge=1, le=500, description="new sites (mclp, pmedian; default 3)")
    minutes: float | None = Field(
        None, gt=0, le=60, allow_inf_nan=False, description="the circle in minutes (default each level's own)"
    )
    levels: list[Level] | None = Field(None, max_length=10, description="life-circle levels (default 15)")
    share: float | None = Field(
        None, gt=0, le=1, allow_inf_nan=False, description="lscp: share of people to cover"
    )
    capacity: float | None = Field(
        None, gt=0, le=10_000_000, allow_inf_nan=False, description="residents one station can serve"
    )
    sources: list[Literal["given", "public_buildings", "nodes"]] | None = Field(
        None, max_length=3, description="candidate sources: given, public_buildings, nodes"
    )
    grids: list[Annotated[str, Field(max_length=40)]] | None = Field(
        None, max_length=10_000, description="grid codes to place candidates in"
    )
    min_spacing_m: float | None = Field(
        None,
        ge=0,
        le=10_000,
        allow_inf_nan=False,
        description="no candidate this close to an existing station (m)",
    )
    label: Label | None = None


class ScenarioListed(KeptListed):
    model: str
    sites: int
    categories: str = Field(description="comma-separated")
    levels: str = Field(description="comma-separated")
    status: str
    objective: float | None


class Site(Answer):
    """A proposed site, in the order of what it adds."""

    rank: int
    source: str
    source_id: str | None
    name: str | None
    gain: float | None
    buildings_new: int
    households_new: int
    residents_new: int
    residents_doubtful: int | None = Field(
        description="of the residents brought in, those of buildings whose homes are estimated from a "
        "footprint larger than homes have (none for scenarios kept before it was counted)"
    )
    nearest_station_id: int | None
    nearest_station_name: str | None
    nearest_station_m: float | None


class CoverageChange(CategoryInArea):
    """Coverage of one (category, level) in one area before and after the proposed sites."""

    households: Number
    residents: Number
    households_covered_before: Number
    households_covered_after: Number
    residents_covered_before: Number
    residents_covered_after: Number
    share_residents_before: float | None
    share_residents_after: float | None


class Scenario(Kept):
    """A kept siting scenario: parameters, the solver's result, the sites and the coverage."""

    model: str
    categories: list[str]
    levels: list[int]
    method: str
    status: str
    solver: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float | None
    params: dict[str, Any]
    sites: list[Site]
    coverage: list[CoverageChange]


# --- grid map and organisation --------------------------------------------------------------


class Figure(AreaUnit):
    """One party-building figure in one area: how many of how many (a share), how many (a
    count) or how much (a sum), and which lack it."""

    figure: str
    figure_zh: str
    what: Literal["share", "count", "sum"]
    count: int
    total: int | None = Field(description="what a share is of; none for counts and sums")
    share: float | None
    missing: str | None = Field(None, description="ids that lack it (planners, admins)")


class FigureLabel(Answer):
    zh: str
    short: str
    what: Literal["share", "count", "sum"]


class LeaderLoad(Answer):
    role: str
    person_name: str | None
    targets: str = Field(description="the ids of the grids or buildings they hold")
    households: float
    ratio_to_mean: float | None


class Skills(Answer):
    grid_id: int
    grid_code: str | None
    skill: str
    members: int


class OrgReport(Answer):
    on: dt.date | None = Field(description="the day the figures are as on (none: today's terms)")
    base: str = Field(description="the compounds branch coverage counts")
    figures: list[Figure]
    labels: dict[str, FigureLabel]
    missing_layers: list[str] = Field(description="figures with a map layer at /org/missing/{figure}")
    leader_load: list[LeaderLoad] | None = Field(None, description="planners, admins")
    skills: list[Skills] | None = Field(None, description="planners, admins")


class GridMatch(Answer):
    kind: str
    grid_id: int
    code: str | None
    best_match_id: int | None
    best_match_code: str | None
    share_in_match: float
    nested: bool


class Alignment(Answer):
    """How two grid networks align: border lengths in metres, the share they share, each
    grid's best match in the other network, and buildings split by one but not the other."""

    boundary_m: dict[str, float]
    shared_m: float
    shared_share: dict[str, float]
    grids: list[GridMatch]
    split_buildings: list[dict[str, Any]]


# --- grid events ------------------------------------------------------------------------------


class EventStepBody(BaseModel):
    """A move of an event along its steps (``gridmap.events.TRANSITIONS``)."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="the state it goes to: accepted, assigned, in_progress, resolved, closed …")
    note: str | None = Field(
        None, max_length=2000, description="why (returned, duplicate, reopened … need one)"
    )
    rating: int | None = Field(None, ge=1, le=5, description="closing: the resident's rating")
    assignee: str | None = Field(None, max_length=100, description="who takes it on")


class EventState(Answer):
    """An event as it stands after a move."""

    id: int
    state: str
    level: str
    assignee: str | None = None
    due_at: str | None = None


class EventStep(Answer):
    at: str
    from_state: str | None = None
    to_state: str
    level: str
    by_user: str
    by_role: str
    assignee: str | None = None
    note: str | None = None


class EventFigures(Answer):
    """The figures of events per unit (``unit`` the id, or ``all``); rates are shares 0–1."""

    by: str
    rows: list[dict[str, Any]]
    labels: dict[str, str]


class VisitBody(BaseModel):
    """A visit to a household, logged by its grid's people."""

    model_config = ConfigDict(extra="forbid")

    household_id: Id
    visited_on: Day | None = Field(None, description="the day (default today)")
    kind: Literal["routine", "must_visit", "festival", "follow_up"] = "must_visit"
    note: str | None = Field(None, max_length=2000)


class VisitLogged(Answer):
    id: int
    household_id: int
    visited_on: str


class PhotoKept(Answer):
    id: int
    event_id: int
    size: int = Field(description="bytes")


# --- needs, claims and points (双向认领, 积分) -------------------------------------------------


class NeedBody(BaseModel):
    """A need, placed at one of a household, a compound, a grid or a point (EPSG:4326)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["wish", "list_item", "project"] = "wish"
    category: CategoryId
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    household_id: Id | None = None
    compound_id: Id | None = None
    grid_id: Id | None = None
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    resident_name: str | None = Field(None, max_length=100, description="who asks (staff only)")
    phone: str | None = Field(None, max_length=30, description="their phone (staff only)")
    filed_on: Day | None = Field(None, description="the day (default today)")


class NeedStepBody(BaseModel):
    """A need's next step: claimed (by a member or a unit, or through an offer), done,
    confirmed (by the resident or the community), open again (the claim let go), cancelled."""

    model_config = ConfigDict(extra="forbid")

    to: Literal["claimed", "done", "confirmed", "open", "cancelled"]
    member_id: Id | None = None
    coop_unit_id: Id | None = None
    offer_id: Id | None = None
    confirmed_by: Literal["resident", "community"] | None = None
    on: Day | None = Field(None, description="the day (default today)")


class PointsEntry(Answer):
    entry_id: int
    points: int = Field(description="what the entry earned, after the caps")
    asked: int = Field(description="what it asked for")


class NeedState(Answer):
    id: int
    state: str
    grid_id: int | None
    awarded: PointsEntry | None = Field(
        None, description="the points the claiming member earned by this step"
    )


class PointsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: Id
    rule: str = Field(min_length=1, max_length=50, description="a rule of the points rules")
    times: int = Field(1, ge=1, le=100)
    on: Day | None = Field(None, description="the day (default today)")
    note: str | None = Field(None, max_length=1000)


class Ranked(Answer):
    unit_id: int
    member_id: int
    name: str | None
    points: int
    rank: int


# --- changesets: edits saved together, with a comment ------------------------------------------


class ChangeBody(BaseModel):
    """One edit of a changeset: ``create`` (properties and geometry), ``update`` (the fields
    and geometry given change) or ``delete`` a feature, with the tag it was read with."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["create", "update", "delete"]
    layer: str = Field(min_length=1, max_length=50)
    id: Id | None = None
    if_match: str | None = Field(None, max_length=200, description="the ETag the feature was read with")
    properties: dict[str, Any] = Field(default_factory=dict)
    geometry: GeometryIn | None = None


class ChangesetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=1000, description="what was done and why")
    dry_run: bool = Field(False, description="check and report the findings; keep nothing")
    changes: list[ChangeBody] = Field(min_length=1, max_length=500)


class SavedFeature(Answer):
    layer: str
    id: int
    tag: str | None = Field(description="its new ETag; none when deleted")


class SavedChangeset(Answer):
    changeset_id: int | None = Field(description="none for a dry run")
    features: list[SavedFeature]
    findings: dict[str, Any] = Field(
        description="the checks' findings on what changed (GeoJSON FeatureCollection)"
    )


class FeatureVersion(Answer):
    id: int
    at: dt.datetime
    user: str
    action: str
    changeset_id: int | None
    comment: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class GridRedrawBody(BaseModel):
    """A clerk's redraw of grids: split one along a line, or merge neighbours; applied when
    ``apply`` (terms in office on a retired grid end on the day only with ``end_terms``)."""

    model_config = ConfigDict(extra="forbid")

    split: str | None = Field(None, max_length=40, description="the code of the grid to split")
    line: GeometryIn | None = Field(None, description="a LineString across the grid (EPSG:4326)")
    merge: list[str] = Field(
        default_factory=list, max_length=20, description="codes of neighbouring grids to merge"
    )
    apply: bool = False
    end_terms: bool = False
    comment: str | None = Field(None, max_length=1000)
