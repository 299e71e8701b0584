"""The 15-minute service circle: walking time from every home to the nearest facility of each
category, coverage shares, compound pass/fail, service gaps and service-circle polygons.

Everything here works on GeoDataFrames (any CRS in, EPSG:4326 out); metric work happens in
the walking network's UTM CRS. Levels are checked separately (GB 50180-2018 5.0.2): for level
L only facilities with no level or with level L count. A home is covered for a category at a
level when its walk is within the level's minutes at the walking speed (``measure="time"``)
or within the standard's service radius (``measure="radius"``).

With no street layer, distances are straight lines times a detour factor, and every output
says so in its ``method`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import connected_components

from gridmap.choices import LEVELS, MEASURES
from gridmap.crs import STORAGE_CRS, project_shapes
from gridmap.errors import InputError
from gridmap.geometry import Start, concave_hulls, on_all_cores, point_groups, second_thread
from gridmap.model import CATEGORY_NAMES_ZH, SUMMARY_SCOPES, ServiceCategory
from gridmap.network.circles import service_circles
from gridmap.network.graph import WalkingNetwork
from gridmap.network.paths import Attachment, FacilityGraph, attach_only
from gridmap.settings import Settings
from gridmap.standards import Checklist, load_checklist
from gridmap.study_area import CoverageInputs, StudyArea, from_inputs, prepare_area
from gridmap.timing import Laps, timed
from gridmap.walking import WalkingParams

#: Progress callback: (stage, done, total).
Progress = Callable[[str, int, int], None]
PairArrays = dict[tuple[str, int], np.ndarray]  # one array per (category, level), in home order


@dataclass(frozen=True)
class CoverageParams:
    """What a coverage run computes. Speeds in m/s, distances in metres."""

    levels: tuple[int, ...] = LEVELS
    categories: tuple[str, ...] | None = None  # None: every category the checklist names
    walking: WalkingParams = field(default_factory=WalkingParams)
    measure: str = "time"
    gap_cluster_m: float = Settings.gap_cluster_m  # the default lives in one place: the settings
    gap_margin_m: float = 25.0
    circle_margin_m: float = 30.0
    circles: bool = True
    gaps: bool = True
    all_gaps: bool = False  # gaps for every (category, level), not only those the checklist lists
    reach_m: float | None = None  # walks longer than this (metres) are not followed: they reach nothing

    @classmethod
    def from_settings(
        cls, settings: Settings, *, speed_mps: float | None = None, origin: str | None = None, **options: Any
    ) -> CoverageParams:
        """Parameters from an installation's :class:`~gridmap.settings.Settings`, with a run's
        walking speed (m/s), origin and ``options`` on top (None values leave the setting)."""
        base = cls(
            walking=WalkingParams.from_settings(settings, speed_mps=speed_mps, origin=origin),
            gap_cluster_m=settings.gap_cluster_m,
        )
        return replace(base, **{k: v for k, v in options.items() if v is not None})

    def check(self, checklist: Checklist) -> None:
        """Refuse parameters that cannot give a meaningful answer."""
        self.walking.check()
        if self.measure not in MEASURES:
            raise InputError(f"measure '{self.measure}' is not one of {', '.join(MEASURES)}")
        for level in self.levels:
            checklist.level(level)
        unknown = [c for c in self.categories or () if c not in set(ServiceCategory)]
        if unknown:
            raise InputError(
                f"unknown service categories {', '.join(unknown)}; known: {', '.join(ServiceCategory)}"
            )


def default_categories(checklist: Checklist) -> tuple[str, ...]:
    """Every category the checklist's levels and service functions name, in category order."""
    named = {c for lv in checklist.levels.values() for c in lv.categories}
    named |= {c for f in checklist.functions for c in f.categories}
    return tuple(c.value for c in ServiceCategory if c.value in named)


@dataclass
class CoverageResult:
    """All a run produces. Frames with geometry are in EPSG:4326."""

    params: CoverageParams
    checklist_version: int
    method: str
    homes: gpd.GeoDataFrame
    distances: dict[tuple[str, int], np.ndarray]
    nearest: dict[tuple[str, int], np.ndarray]
    thresholds: dict[tuple[str, int], float]
    summary: pd.DataFrame
    compounds: pd.DataFrame
    gaps: gpd.GeoDataFrame
    _circles: gpd.GeoDataFrame | Future[tuple[gpd.GeoDataFrame, float]] = field(repr=False)
    report: dict[str, Any]

    @property
    def circles(self) -> gpd.GeoDataFrame:
        """The service circles; while they are still being drawn beside (``compute_coverage(…,
        circles_later=True)``), waits for them and adds the seconds drawing took to the
        report's timings."""
        if isinstance(self._circles, Future):
            self._circles, self.report = _circles_drawn(self._circles, self.report)
        return self._circles

    @circles.setter
    def circles(self, frame: gpd.GeoDataFrame) -> None:
        self._circles = frame

    def minutes(self, category: str, level: int) -> np.ndarray:
        """Walking minutes from every home (``homes`` order) to the nearest facility."""
        return self.params.walking.minutes(self.distances[(category, level)])

    def covered(self, category: str, level: int) -> np.ndarray:
        return self.distances[(category, level)] <= self.thresholds[(category, level)]

    def area_summary(self) -> pd.DataFrame:
        return self.summary[self.summary["scope"] == "area"].reset_index(drop=True)


def listed_pairs(checklist: Checklist) -> set[tuple[str, int]]:
    """(category, level) pairs the checklist names: a level's items, and the "1+6"
    functions' categories at their level. Gaps are drawn for these."""
    pairs = {(c, n) for n, lv in checklist.levels.items() for c in lv.categories}
    pairs |= {(c, checklist.functions_level) for f in checklist.functions for c in f.categories}
    return pairs


def threshold_m(checklist: Checklist, params: CoverageParams, category: str, level: int) -> float:
    """Walking metres within which a home counts as covered for (category, level)."""
    lv = checklist.level(level)
    if params.measure == "radius":
        item = lv.item(category)
        if item is not None and item.radius_m is not None:
            return item.radius_m
        return lv.distance_m[1]
    return params.walking.metres(lv.minutes)


def pair_thresholds(params: CoverageParams, checklist: Checklist) -> dict[tuple[str, int], float]:
    """The walking metres within which a home counts as covered, per (category, level) of a
    run (``params`` resolved)."""
    return {
        (c, lv): threshold_m(checklist, params, c, lv)
        for c in params.categories or ()
        for lv in params.levels
    }


def best_per_home(
    n_homes: int, home: np.ndarray, dist: np.ndarray, fac: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The shortest of several start points per home."""
    if len(home) == n_homes and np.array_equal(home, np.arange(n_homes)):  # one start each
        return dist, fac
    order = np.lexsort((dist, home))
    home, dist, fac = home[order], dist[order], fac[order]
    first = np.ones(len(home), dtype=bool)
    first[1:] = home[1:] != home[:-1]
    best = np.full(n_homes, np.inf)
    which = np.full(n_homes, -1, dtype=np.int64)
    best[home[first]] = dist[first]
    which[home[first]] = fac[first]
    return best, which


# --- the run ------------------------------------------------------------------------------


def facility_table(facilities: gpd.GeoDataFrame, categories: Iterable[str]) -> pd.DataFrame:
    """One row per (facility, category) for the wanted categories, with the facility level:
    columns ``pos`` (position in ``facilities``), ``category`` and ``level`` (NaN: any)."""
    lists = [str(c).split(",") for c in facilities["categories"].fillna("").to_numpy(dtype=object)]
    pos = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
    category = np.array([c.strip() for x in lists for c in x], dtype=object)
    level = (
        pd.to_numeric(facilities["level"], errors="coerce").to_numpy(dtype=float)
        if "level" in facilities.columns
        else np.full(len(facilities), np.nan)
    )
    keep = np.isin(category, list(set(categories))) if len(category) else np.zeros(0, dtype=bool)
    return pd.DataFrame({"pos": pos[keep], "category": category[keep], "level": level[pos[keep]]})


def facility_sets(table: pd.DataFrame, categories: Iterable[str], levels: Iterable[int]) -> PairArrays:
    """Facility positions usable for each (category, level): no level, or that level. On
    arrays: a frame filtered for each of the demo's 60 pairs took 35 ms of a run's start."""
    category = table["category"].to_numpy(dtype=object)
    level = table["level"].to_numpy(dtype=float)
    pos = table["pos"].to_numpy(dtype=np.int64)
    any_level = np.isnan(level)
    out = {}
    for cat in categories:
        of_category = category == cat
        for lv in levels:
            out[(cat, lv)] = np.unique(pos[of_category & (any_level | (level == lv))])
    return out


def compute_coverage(
    inputs: CoverageInputs,
    params: CoverageParams | None = None,
    *,
    checklist: Checklist | None = None,
    progress: Progress | None = None,
    crs: CRS | None = None,
    area: StudyArea | None = None,
    circles_later: bool = False,
) -> CoverageResult:
    """Compute coverage of every home for every requested category and level.

    Distances are walking metres over ``inputs.roads`` (or straight lines times the detour
    factor when there are no roads); one multi-source shortest-path pass per distinct
    facility set. ``crs`` fixes the metric CRS (by default the UTM zone of the roads);
    ``area`` gives the inputs already prepared for ``params.walking`` (:func:`prepare_area`),
    as analyses of the same inputs share them. With ``circles_later`` the result comes while
    the service circles are still being drawn (``result.circles`` waits for them), so that a
    caller can keep the rest meanwhile.
    """
    checklist = checklist or load_checklist()
    params = resolved(params or CoverageParams(), checklist)
    if len(inputs.buildings) == 0 and (inputs.compounds is None or len(inputs.compounds) == 0):
        raise InputError("there are no buildings or compounds: nothing to measure coverage from")
    lap = Laps()
    # the circles are drawn in a second thread while the figures are summed and the gaps outlined
    # (and, with circles_later, while the caller keeps the rest: it then keeps a core of its own)
    with second_thread("circles", wait=not circles_later, caller_busy=circles_later) as start:
        walks = walk_homes(
            inputs, params, checklist=checklist, progress=progress, crs=crs, lap=lap, circles_beside=start,
            area=area,
        )  # fmt: skip
        return coverage_figures(walks, inputs, params, checklist=checklist, progress=progress, lap=lap,
                                circles_later=circles_later)  # fmt: skip


def resolved(params: CoverageParams, checklist: Checklist) -> CoverageParams:
    """``params`` with its categories filled in from the checklist, checked."""
    if params.categories is None:
        params = replace(params, categories=default_categories(checklist))
    params.check(checklist)
    return params


def longest_walk_m(params: CoverageParams, checklist: Checklist) -> float:
    """The longest walk any (category, level) of a run counts as covered (metres): no home's
    figures depend on a walk longer than this."""
    return max(pair_thresholds(params, checklist).values())


@dataclass
class HomeWalks:
    """What the walks of a run give, before any figure is summed: the homes (metric CRS, with
    their ``point``), metres to the nearest facility of each (category, level) and which
    facility that is (feature id, -1 for none), the service circles (EPSG:4326) and the
    network report."""

    homes: gpd.GeoDataFrame
    crs: CRS
    method: str
    distances: PairArrays
    nearest: PairArrays
    circles: gpd.GeoDataFrame
    report: dict[str, Any]
    drawing: Future[tuple[gpd.GeoDataFrame, float]] | None = None  # circles still being drawn
    #: gaps already drawn where the walks were (:func:`with_gaps_drawn`), and for each
    #: (category, level) the mask of the uncovered homes whose gaps are left to be drawn
    gaps_drawn: gpd.GeoDataFrame | None = None
    gaps_left: PairArrays | None = None

    def drawn(self) -> HomeWalks:
        """These walks with their circles drawn (waiting for them if they are being drawn
        beside), the seconds drawing took in the report's timings."""
        if self.drawing is None:
            return self
        circles, report = _circles_drawn(self.drawing, self.report)
        return replace(self, circles=circles, drawing=None, report=report)

    @classmethod
    def gathered(
        cls, parts: list[HomeWalks], report: dict[str, Any], order: np.ndarray | None = None
    ) -> HomeWalks:
        """The walks of several parts as one (their CRS and method agree), in the parts' order
        or, with ``order``, with the homes of that order over the parts' homes one after
        another: one copy of each array, made one (category, level) at a time."""
        first = parts[0]
        keys = list(first.distances)
        circles = [p.circles for p in parts if len(p.circles)]
        homes = pd.concat([p.homes for p in parts], ignore_index=True)
        if order is not None:
            homes = homes.take(order).reset_index(drop=True)

        def joined(arrays: list[np.ndarray]) -> np.ndarray:
            out = np.concatenate(arrays)
            return out if order is None else out[order]

        drawn = [p.gaps_drawn for p in parts if p.gaps_drawn is not None and len(p.gaps_drawn)]
        left = None
        if all(p.gaps_left is not None for p in parts):
            masks = [p.gaps_left or {} for p in parts]
            left = {k: joined([m[k] for m in masks]) for k in masks[0]}
        return cls(
            homes=gpd.GeoDataFrame(homes, crs=first.crs),
            crs=first.crs,
            method=first.method,
            distances={k: joined([p.distances[k] for p in parts]) for k in keys},
            nearest={k: joined([p.nearest[k] for p in parts]) for k in keys},
            circles=pd.concat(circles, ignore_index=True) if circles else first.circles,
            report=report,
            gaps_drawn=pd.concat(drawn, ignore_index=True) if drawn else None,
            gaps_left=left,
        )


def _circles_drawn(
    drawing: Future[tuple[gpd.GeoDataFrame, float]], report: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The circles being drawn beside, once drawn, and ``report`` with the seconds drawing
    took among its timings."""
    circles, seconds = drawing.result()
    timings = {**report.get("timings_s", {}), "circles": round(seconds, 4)}
    return circles, {**report, "timings_s": timings}


def walk_homes(
    inputs: CoverageInputs,
    params: CoverageParams,
    *,
    checklist: Checklist,
    progress: Progress | None = None,
    crs: CRS | None = None,
    circle_facilities: np.ndarray | None = None,
    lap: Laps | None = None,
    circles_beside: Start | None = None,
    area: StudyArea | None = None,
) -> HomeWalks:
    """The walks of a run (``params`` resolved): every home to the nearest facility of each
    (category, level), and the service circles of the facilities (of those in the mask
    ``circle_facilities`` over ``inputs.facilities``, when given). With ``circles_beside``
    (:func:`~gridmap.geometry.second_thread`) the circles are drawn beside while the caller
    goes on (:meth:`HomeWalks.drawn` waits for them). ``area``: the inputs already prepared
    (:func:`prepare_area`, in ``crs`` when given)."""
    categories, levels = tuple(params.categories or ()), tuple(sorted(params.levels))
    lap = lap or Laps()
    walking = params.walking
    area = from_inputs(area, inputs) if area is not None else prepare_area(inputs, walking, crs=crs)
    metric, network, method = area.crs, area.network, area.method
    homes, origins, fac_xy = area.homes, area.origins, area.facility_xy
    lap("network_homes")

    table = facility_table(inputs.facilities, categories)
    sets = facility_sets(table, categories, levels)
    report: dict[str, Any] = {"method": method, "crs": metric.to_string(), "homes": len(homes)}
    lap("facilities")

    distances: dict[tuple[str, int], np.ndarray] = {}
    nearest: dict[tuple[str, int], np.ndarray] = {}
    graph = None
    fac_ids = np.asarray(inputs.facilities.index, dtype=np.int64)
    if network is not None:
        used = np.unique(table["pos"].to_numpy(dtype=np.int64))
        # facilities of other categories stay out of the graph
        fac_att = attach_only(network, fac_xy, used, walking.max_snap_m)
        graph = FacilityGraph(network, fac_att)

    circles, drawing, draw = _no_shapes(CIRCLE_COLUMNS), None, None
    if params.circles and graph is not None:  # started as soon as the graph is: they need no more
        at = table["pos"].to_numpy(np.int64)
        shown = table if circle_facilities is None else table[circle_facilities[at]]
        draw = partial(_circles, graph, shown, categories, levels, pair_thresholds(params, checklist), params,
                       fac_ids, metric, method, progress)  # fmt: skip
        if circles_beside is not None:
            drawing, draw = circles_beside(partial(timed, draw)), None

    if graph is not None:
        origin_att = area.attach_origins(walking.max_snap_m)
        located = graph.locate(origin_att)
    lap("attach")
    if network is not None:
        report.update(_network_report(network, origin_att, origins, homes, fac_att, used, fac_ids))
    lap("network_report")

    cache: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
    pairs = [(c, lv) for c in categories for lv in levels]
    for k, key in enumerate(pairs):
        subset = sets[key]
        token = tuple(subset.tolist())
        if token not in cache:
            if graph is not None:
                d, f = graph.nearest(subset, located)
            else:
                d, f = straight_line_nearest(
                    origins[["x", "y"]].to_numpy(), fac_xy, subset, walking.detour_factor
                )
            cache[token] = best_per_home(len(homes), origins["home"].to_numpy(), d, f)
        best, which = cache[token]
        if params.reach_m is not None:  # walks beyond the reach are not followed
            beyond = best > params.reach_m
            best, which = np.where(beyond, np.inf, best), np.where(beyond, -1, which)
        distances[key] = best
        nearest[key] = np.where(which >= 0, fac_ids[np.clip(which, 0, None)] if len(fac_ids) else -1, -1)
        if progress:
            progress("distances", k + 1, len(pairs))
    report["shortest_path_passes"] = len(cache)
    lap("distances")
    if draw is not None:
        circles = draw()
    if drawing is None:
        lap("circles")

    return HomeWalks(homes, metric, method, distances, nearest, circles, report, drawing)


def coverage_figures(
    walks: HomeWalks,
    units: CoverageInputs,
    params: CoverageParams,
    *,
    checklist: Checklist,
    progress: Progress | None = None,
    lap: Laps | None = None,
    circles_later: bool = False,
) -> CoverageResult:
    """A run's figures from its walks: what each home reaches, the summary per unit (the
    streets, communities and grids of ``units`` name them), compound checks and gaps; the
    circles still being drawn, with ``circles_later``, are left to ``result.circles``."""
    lap = lap or Laps()
    levels, homes = tuple(sorted(params.levels)), walks.homes
    categories = tuple(params.categories or ())
    thresholds = pair_thresholds(params, checklist)
    covered = {key: walks.distances[key] <= thresholds[key] for key in walks.distances}
    summary = coverage_summary(homes, covered, units, walks.method)
    compounds = _compound_checks(homes, covered, checklist, levels, categories)
    lap("summary")

    gaps = _no_shapes(GAP_COLUMNS)
    if params.gaps:
        outside = walks.gaps_left or {k: ~covered[k] for k in gap_pairs(covered, params, checklist)}
        drawn, _ = _gaps(homes, outside, params, walks.crs, progress)
        gaps = _in_order([drawn, walks.gaps_drawn], walks.method)
    lap("gaps")

    out_homes = _homes_frame(homes, walks.distances, walks.nearest, covered, params, walks.method)
    lap("homes")
    if not circles_later:
        walks = walks.drawn()
    report = {**walks.report, "timings_s": {**walks.report.get("timings_s", {}), **lap.seconds}}
    return CoverageResult(
        params=params,
        checklist_version=checklist.version,
        method=walks.method,
        homes=out_homes,
        distances=walks.distances,
        nearest=walks.nearest,
        thresholds=thresholds,
        summary=summary,
        compounds=compounds,
        gaps=gaps,
        _circles=walks.circles if walks.drawing is None else walks.drawing,
        report=report,
    )


def straight_line_nearest(
    origin_xy: np.ndarray, fac_xy: np.ndarray, subset: np.ndarray, detour: float
) -> tuple[np.ndarray, np.ndarray]:
    """Like :meth:`FacilityGraph.nearest`, in straight lines times ``detour``: metres to the
    nearest of the facilities ``subset`` and its position (-1 when there is none)."""
    if len(subset) == 0:
        return np.full(len(origin_xy), np.inf), np.full(len(origin_xy), -1, dtype=np.int64)
    from scipy.spatial import cKDTree  # only for straight lines: its import is slow

    dist, idx = cKDTree(fac_xy[subset]).query(origin_xy)
    return dist * detour, subset[idx]


def _network_report(
    network: WalkingNetwork,
    origin_att: Attachment,
    origins: pd.DataFrame,
    homes: pd.DataFrame,
    fac_att: Attachment,
    used: np.ndarray,
    fac_ids: np.ndarray,
) -> dict[str, Any]:
    islands = network.islands()
    main = int(islands.loc[0, "component"]) if len(islands) else -1
    attached = origin_att.attached
    off_main = attached & (network.component[network.edge_u[np.clip(origin_att.edge, 0, None)]] != main)
    unattached_homes = np.setdiff1d(origins["home"].to_numpy(), origins["home"].to_numpy()[attached])
    fac_unattached = [int(fac_ids[i]) for i in used if not fac_att.attached[i]]
    return {
        "network_nodes": network.node_count,
        "network_edges": network.edge_count,
        "network_km": round(float(network.edge_length.sum()) / 1000.0, 3),
        "islands": max(len(islands) - 1, 0),
        "island_km": round(float(islands["length_m"].iloc[1:].sum()) / 1000.0, 3) if len(islands) else 0.0,
        "homes_unattached": home_labels(homes, unattached_homes),
        "homes_on_islands": home_labels(homes, origins["home"].to_numpy()[off_main]),
        "islands_with_homes": islands_with_homes(network, islands, origin_att, origins, homes, fac_att, used),
        "facilities_unattached": fac_unattached,
    }


def home_labels(homes: pd.DataFrame, positions: np.ndarray) -> list[str]:
    """The homes at ``positions`` of ``homes`` as their layers name them ("building 12",
    "compound 3": a home is a building or a compound without buildings), each once, in
    :func:`home_label_order`."""
    codes, kinds = pd.factorize(homes["kind"].to_numpy()[positions], sort=True)  # kinds in order
    ids = homes["feature_id"].to_numpy()[positions].astype(np.int64)
    order = np.lexsort((ids, codes))  # as home_label_order sorts the labels
    codes, ids = codes[order], ids[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = (codes[1:] != codes[:-1]) | (ids[1:] != ids[:-1])
    names = [str(k) for k in kinds]
    return [f"{names[c]} {i}" for c, i in zip(codes[first].tolist(), ids[first].tolist(), strict=True)]


def home_label_order(label: str) -> tuple[str, int]:
    """Buildings before compounds, each by id."""
    kind, ident = label.rsplit(" ", 1)
    return kind, int(ident)


def islands_with_homes(
    network: WalkingNetwork,
    islands: pd.DataFrame,
    origin_att: Attachment,
    origins: pd.DataFrame,
    homes: pd.DataFrame,
    fac_att: Attachment,
    used: np.ndarray,
) -> list[dict[str, Any]]:
    """Each island of the network (not the main part) that homes attach to: its rank (1 is
    the largest island), length, homes, residents and the facilities on it."""
    if len(islands) < 2:
        return []
    rank = {int(c): i for i, c in enumerate(islands["component"])}
    main = int(islands.loc[0, "component"])

    def component(att: Attachment, which: np.ndarray) -> np.ndarray:
        return np.asarray(network.component[network.edge_u[np.clip(att.edge[which], 0, None)]])

    attached = np.flatnonzero(origin_att.attached)
    home_comp = pd.Series(component(origin_att, attached), index=origins["home"].to_numpy()[attached])
    home_comp = home_comp[~home_comp.index.duplicated(keep="first")]
    on_fac = [i for i in used if fac_att.attached[i]]
    fac_comp = pd.Series(component(fac_att, np.asarray(on_fac, dtype=np.int64))).value_counts()
    residents = (
        homes["residents"].to_numpy(dtype=float) if "residents" in homes.columns else np.zeros(len(homes))
    )
    length_m = islands["length_m"].to_numpy(dtype=float)
    rows = []
    for comp, members in home_comp.groupby(home_comp).groups.items():
        if int(comp) == main:
            continue
        rows.append({
            "island": rank[int(comp)], "km": round(float(length_m[rank[int(comp)]]) / 1000.0, 3),
            "homes": len(members), "residents": int(residents[np.asarray(members, dtype=np.int64)].sum()),
            "facilities": int(fac_comp.get(comp, 0)),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (-r["residents"], r["island"]))


# --- aggregates ---------------------------------------------------------------------------


@dataclass
class SummaryUnits:
    """The units coverage is summed over: the whole area, then each street, community and grid
    with a home in it, in :data:`gridmap.model.SUMMARY_SCOPES` order. Home ``home[i]`` lies in unit ``unit[i]``."""

    scope: np.ndarray
    unit_id: np.ndarray  # NA for the whole area
    code: np.ndarray
    name: np.ndarray
    home: np.ndarray
    unit: np.ndarray

    @classmethod
    def of(cls, homes: pd.DataFrame, inputs: CoverageInputs) -> SummaryUnits:
        layers = {"street": inputs.streets, "community": inputs.communities, "grid": inputs.grids}
        n = len(homes)
        scope, unit_id, code, name = ["area"], [pd.NA], [""], ["全域"]
        home, unit = [np.arange(n)], [np.zeros(n, dtype=np.int64)]
        outside = np.iinfo(np.int64).min
        for sc in SUMMARY_SCOPES[1:]:
            ids = homes[f"{sc}_id"].to_numpy(dtype=np.int64, na_value=outside)
            inside = ids != outside
            if not inside.any():
                continue
            found, which = np.unique(ids[inside], return_inverse=True)
            home.append(np.flatnonzero(inside))
            unit.append(len(scope) + which)
            scope += [sc] * len(found)
            unit_id += found.tolist()
            code += _column_of(layers[sc], "code", found)
            name += _column_of(layers[sc], "name", found)
        return cls(
            np.array(scope, dtype=object),
            pd.array(unit_id, dtype="Int64"),
            np.array(code, dtype=object),
            np.array(name, dtype=object),
            np.concatenate(home),
            np.concatenate(unit),
        )

    def totals(self, homes: pd.DataFrame, masks: list[np.ndarray]) -> np.ndarray:
        """Homes, households and residents per unit (3 × units) for all homes, then for the
        homes in each mask: an array of (1 + masks) × 3 × units."""
        n = len(self.scope)
        per_home = np.vstack(
            [np.ones(len(homes)), homes["households"].to_numpy(float), homes["residents"].to_numpy(float)]
        )
        out = np.zeros((1 + len(masks), 3, n))
        for k, mask in enumerate([None, *masks]):
            take = slice(None) if mask is None else mask[self.home]
            h, u = self.home[take], self.unit[take]
            for j in range(3):
                out[k, j] = np.bincount(u, weights=per_home[j, h], minlength=n)
        return out

    def rows(self, pairs: list[tuple[str, int]]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The key columns of a summary with a row per scope, pair and unit (in that order),
        with each row's pair and unit index."""
        scopes = pd.unique(self.scope)
        unit = np.concatenate(
            [np.tile(np.flatnonzero(self.scope == sc), len(pairs)) for sc in scopes]
        ) if len(pairs) else np.zeros(0, dtype=np.int64)  # fmt: skip
        pair = np.concatenate(
            [np.repeat(np.arange(len(pairs)), (self.scope == sc).sum()) for sc in scopes]
        ) if len(pairs) else np.zeros(0, dtype=np.int64)  # fmt: skip
        categories = np.array([c for c, _ in pairs] or [""], dtype=object)[pair]
        frame = pd.DataFrame(
            {
                "scope": self.scope[unit],
                "unit_id": self.unit_id[unit],
                "code": self.code[unit],
                "name": self.name[unit],
                "category": categories,
                "category_zh": [CATEGORY_NAMES_ZH.get(c, c) for c in categories],
                "level": np.array([lv for _, lv in pairs] or [0], dtype=np.int64)[pair],
            }
        )
        return frame, pair, unit


def _covered_columns(total: np.ndarray, covered: np.ndarray, suffix: str = "") -> dict[str, np.ndarray]:
    """Covered and uncovered counts and shares from per-row totals and covered counts (3 × rows:
    homes, households, residents)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            f"homes_uncovered{suffix}": (total[0] - covered[0]).astype(np.int64),
            f"households_covered{suffix}": covered[1].astype(np.int64),
            f"residents_covered{suffix}": covered[2].astype(np.int64),
            f"share_households{suffix}": np.where(total[1] > 0, covered[1] / total[1], np.nan),
            f"share_residents{suffix}": np.where(total[2] > 0, covered[2] / total[2], np.nan),
        }


def coverage_summary(
    homes: pd.DataFrame, covered: Mapping[tuple[str, int], np.ndarray], inputs: CoverageInputs, method: str
) -> pd.DataFrame:
    """Homes, households and residents, and those covered, per scope, unit, category and
    level, with the shares covered. ``covered`` holds a mask over ``homes`` per (category,
    level)."""
    units = SummaryUnits.of(homes, inputs)
    pairs = list(covered)
    sums = units.totals(homes, list(covered.values()))
    frame, pair, unit = units.rows(pairs)
    total, cov = sums[0][:, unit], sums[1 + pair, :, unit].T
    columns = _covered_columns(total, cov)
    return frame.assign(
        homes=total[0].astype(np.int64),
        homes_uncovered=columns["homes_uncovered"],
        households=total[1].astype(np.int64),
        households_covered=columns["households_covered"],
        residents=total[2].astype(np.int64),
        residents_covered=columns["residents_covered"],
        share_households=columns["share_households"],
        share_residents=columns["share_residents"],
        method=method,
    )


def coverage_change(
    homes: pd.DataFrame,
    before: Mapping[tuple[str, int], np.ndarray],
    after: Mapping[tuple[str, int], np.ndarray],
    inputs: CoverageInputs,
    method: str,
) -> pd.DataFrame:
    """Like :func:`coverage_summary`, for two states of the same (category, level) pairs:
    the covered measures with ``_before`` and ``_after``, and ``residents_new``."""
    units = SummaryUnits.of(homes, inputs)
    pairs = list(before)
    sums = units.totals(homes, [before[p] for p in pairs] + [after[p] for p in pairs])
    frame, pair, unit = units.rows(pairs)
    total = sums[0][:, unit]
    was, now = sums[1 + pair, :, unit].T, sums[1 + len(pairs) + pair, :, unit].T
    out = frame.assign(
        homes=total[0].astype(np.int64),
        households=total[1].astype(np.int64),
        residents=total[2].astype(np.int64),
        **_covered_columns(total, was, "_before"),
        **_covered_columns(total, now, "_after"),
    )
    out["residents_new"] = out["residents_covered_after"] - out["residents_covered_before"]
    out["method"] = method
    return out


def _column_of(layer: gpd.GeoDataFrame | None, column: str, ids: np.ndarray) -> list[str]:
    if layer is None or column not in layer.columns:
        return [""] * len(ids)
    pos = layer.index.get_indexer(ids)
    values = (
        layer[column].to_numpy(dtype=object)[np.maximum(pos, 0)] if len(layer) else np.zeros(len(ids), object)
    )
    blank = (pos < 0) | pd.isna(values)
    return ["" if b else str(v) for b, v in zip(blank, values, strict=True)]


def _compound_checks(
    homes: pd.DataFrame,
    covered: PairArrays,
    checklist: Checklist,
    levels: tuple[int, ...],
    categories: tuple[str, ...],
) -> pd.DataFrame:
    """Pass/fail per compound for each level's required categories and for the "1+6"
    functions: a compound passes when every one of its homes is covered."""
    comp = homes["compound_id"]
    inside = comp.notna().to_numpy()
    if not inside.any():
        return pd.DataFrame(columns=["compound_id", "check", "level", "passes", "missing", "missing_zh"])
    ids = comp[inside].astype(np.int64).to_numpy()
    unit_ids, codes = np.unique(ids, return_inverse=True)
    n = len(unit_ids)
    homes_per = np.bincount(codes, minlength=n)

    def all_covered(mask: np.ndarray) -> np.ndarray:
        return np.asarray(np.bincount(codes[mask[inside]], minlength=n) == homes_per)

    checks = []
    for level in levels:
        lv = checklist.level(level)
        needed = [c for c in lv.required if c in categories]
        if needed:
            checks.append((f"GB50180-{level}min", level, [(c, CATEGORY_NAMES_ZH[c], [c]) for c in needed]))
    if checklist.functions_level in levels:
        funcs = [(f.id, f.name_zh, [c for c in f.categories if c in categories]) for f in checklist.functions]
        funcs = [f for f in funcs if f[2]]
        if funcs:
            checks.append(("1+6", checklist.functions_level, funcs))
    rows = []
    for name, level, needs in checks:
        met = {}
        for need_id, _, cats in needs:
            any_cov = np.zeros(len(homes), dtype=bool)
            for c in cats:
                any_cov |= covered[(c, level)]
            met[need_id] = all_covered(any_cov)
        for i, cid in enumerate(unit_ids):
            missing = [(nid, zh) for nid, zh, _ in needs if not met[nid][i]]
            rows.append(
                {
                    "compound_id": int(cid),
                    "check": name,
                    "level": level,
                    "passes": not missing,
                    "missing": ",".join(m[0] for m in missing),
                    "missing_zh": "、".join(m[1] for m in missing),
                }
            )
    return pd.DataFrame(rows)


# --- shapes -------------------------------------------------------------------------------


GAP_COLUMNS = ["category", "category_zh", "level", "homes", "households", "residents", "method"]
CIRCLE_COLUMNS = ["facility_id", "category", "category_zh", "level", "limit_m", "method"]


def _no_shapes(columns: list[str]) -> gpd.GeoDataFrame:
    """An empty layer of gaps or circles, with its columns."""
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=STORAGE_CRS)


def gap_cells(xy: np.ndarray, cluster_m: float) -> np.ndarray:
    """The square cell of ``cluster_m`` metres each point (metres) lies in, as (column, row)
    counted from the CRS's origin: every part of a run cut into parts places its homes in the
    same cells as one process does."""
    return np.floor(xy / cluster_m).astype(np.int64)


def gap_clusters(xy: np.ndarray, cluster_m: float) -> np.ndarray:
    """Cluster labels of points (metres): points in the same or touching cells
    (:func:`gap_cells`) share a label, so homes up to about ``cluster_m`` apart (never more
    than 2.9 × ``cluster_m``) chain into one cluster. Clusters are numbered in the order of
    their first cell, by x then y."""
    return cell_clusters(gap_cells(xy, cluster_m))


def cell_clusters(cells: np.ndarray) -> np.ndarray:
    """Cluster labels of points by their cells (:func:`gap_cells`), as :func:`gap_clusters`
    gives them."""
    if len(cells) == 0:
        return np.zeros(0, dtype=np.int64)
    cell = cells - cells.min(axis=0)
    width = int(cell[:, 1].max()) + 3  # a cell's code leaves room for y - 1 and y + 1
    code = cell[:, 0] * width + cell[:, 1] + 1
    occupied = np.zeros((int(cell[:, 0].max()) + 2) * width, dtype=bool)
    occupied[code] = True
    cells = np.flatnonzero(occupied)  # by x, then y
    number = np.cumsum(occupied) - 1  # each occupied cell's place among them
    first, second = [], []
    for step in (1, width - 1, width, width + 1):  # the cell above each, and the three right of it
        touching = occupied[cells + step]
        first.append(np.flatnonzero(touching))
        second.append(number[cells[touching] + step])
    i, j = np.concatenate(first), np.concatenate(second)
    graph = sp.coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(cells), len(cells)))
    _, component = connected_components(graph, directed=False)
    _, firsts = np.unique(component, return_index=True)
    order = np.empty(len(firsts), dtype=np.int64)
    order[np.argsort(firsts)] = np.arange(len(firsts))
    label: np.ndarray = order[component][number[code]]
    return label


def _cluster_shapes(
    xy: np.ndarray,
    footprints: Callable[[np.ndarray], np.ndarray],
    label: np.ndarray,
    margin_m: float,
    homes: np.ndarray,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """One polygon per cluster of ``label``, whose points are the homes ``homes`` (positions
    in ``xy``, each home's point): a lone home's footprint (``footprints(positions)``)
    widened by the margin; for several homes, the concave hull of their points widened by the
    margin. A cluster of the same homes as another — the same gap for several categories or
    levels — is drawn once and shared, and ``project`` (to another CRS) applied to it once;
    only the homes of the clusters drawn are looked up. Within each cluster the points come
    by x, then y."""
    first, same_as = _same_members(label, homes)
    drawn = homes[first]
    shapes = _drawn_clusters(xy[drawn], lambda lone: footprints(drawn[lone]), label[first], margin_m)
    if project is not None:
        shapes = project(shapes)
    shared: np.ndarray = shapes[same_as]
    return shared


def _same_members(label: np.ndarray, homes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For clusters ``label`` (0..n-1) of ``homes`` (each home at most once in a cluster): a
    mask of the points of each first cluster of its set of homes, and for each cluster the
    label that first cluster takes among them (0..m-1, in order).

    A set of homes is known by its size and two sums of a random 64-bit number per home
    (wrapping): two different sets agree on all three by chance about once in 2¹²⁸."""
    n = int(label.max()) + 1 if len(label) else 0
    marks = np.random.default_rng(0).integers(0, 2**64, size=(2, int(homes.max()) + 1 if len(homes) else 0),
                                               dtype=np.uint64)  # fmt: skip
    sums = np.zeros((n, 3), dtype=np.uint64)
    sums[:, 0] = np.bincount(label, minlength=n)
    with np.errstate(over="ignore"):
        for k in (0, 1):
            np.add.at(sums[:, k + 1], label, marks[k][homes])
    _, firsts, same = np.unique(sums, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(firsts), dtype=np.int64)
    rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
    keep_cluster = np.zeros(n, dtype=bool)
    keep_cluster[firsts] = True
    return keep_cluster[label], rank[same.ravel()]


def _drawn_clusters(
    xy: np.ndarray, footprints: Callable[[np.ndarray], np.ndarray], label: np.ndarray, margin_m: float
) -> np.ndarray:
    """The outline of each cluster of ``label`` (consecutive from its lowest value); the
    points ``xy`` come ordered by x, then y; ``footprints(mask)`` gives the shapes of the
    points in ``mask``, the clusters of one point."""
    present = np.zeros(int(label.max()) + 1, dtype=bool)
    present[label] = True
    label = (np.cumsum(present) - 1)[label]  # the labels numbered 0…n-1 in their order
    n = int(label.max()) + 1
    size = np.bincount(label, minlength=n)
    shapes = np.empty(n, dtype=object)
    lone = size[label] == 1
    shapes[label[lone]] = footprints(lone)
    many = ~lone
    if many.any():
        keys, points = point_groups(xy[many], label[many], ordered=True)
        shapes[keys] = concave_hulls(points, ratio=0.3)
    return on_all_cores(lambda g: shapely.buffer(g, margin_m, quad_segs=2), shapes)


def gap_pairs(covered: PairArrays, params: CoverageParams, checklist: Checklist) -> list[tuple[str, int]]:
    """The (category, level)s whose gaps a run draws: those the checklist lists, or all."""
    listed = listed_pairs(checklist)
    return [k for k in covered if params.all_gaps or k in listed]


def with_gaps_drawn(
    walks: HomeWalks,
    params: CoverageParams,
    checklist: Checklist,
    alone: Callable[[np.ndarray], np.ndarray],
) -> HomeWalks:
    """The walks of a part of a run with the gaps drawn that no home of another part can
    join: those none of whose cells ``alone`` refuses (cells as (column, row) → whether no
    other part's home can lie in or beside them). The other gaps' homes are left to the
    gathering (``gaps_left``), which draws them with their neighbours'."""
    if not params.gaps:
        return walks
    thresholds = pair_thresholds(params, checklist)
    covered = {k: walks.distances[k] <= thresholds[k] for k in walks.distances}
    outside = {k: ~covered[k] for k in gap_pairs(covered, params, checklist)}
    drawn, left = _gaps(walks.homes, outside, params, walks.crs, None, alone=alone)
    return replace(walks, gaps_drawn=drawn, gaps_left=left)


def _gaps(
    homes: gpd.GeoDataFrame,
    outside: PairArrays,
    params: CoverageParams,
    metric: CRS,
    progress: Progress | None,
    alone: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[gpd.GeoDataFrame, PairArrays]:
    """Service gaps: clusters of the homes in each (category, level)'s mask ``outside``
    (chained within ``gap_cluster_m``), each drawn as the concave hull of its homes, widened
    by a margin, with its first cell (``cell_x``, ``cell_y``: gaps of equal residents come in
    that order). The clusters of every (category, level) are drawn together, so that the work
    spreads over all cores. With ``alone`` (:func:`with_gaps_drawn`: cells → whether no home of
    elsewhere can share or touch them), a cluster with a cell it refuses is not drawn: its
    homes are left, in a mask per (category, level)."""
    frames, members, labels = [], [], []
    left: PairArrays = {}
    hh = homes["households"].to_numpy()
    rs = homes["residents"].to_numpy()
    pts = np.column_stack([homes["point"].x.to_numpy(), homes["point"].y.to_numpy()])
    clusters = 0
    by_xy = np.lexsort((pts[:, 1], pts[:, 0]))  # each gap's homes in this order, as hulls take them
    home_cells = gap_cells(pts, params.gap_cluster_m)  # each home's, for every (category, level)
    home_alone = None if alone is None else alone(home_cells)
    for k, ((category, level), mask) in enumerate(outside.items()):
        idx = by_xy[mask[by_xy]]
        if alone is not None:
            left[(category, level)] = np.zeros(len(homes), dtype=bool)
        if len(idx):
            cells = home_cells[idx]
            label = cell_clusters(cells)
            if home_alone is not None:
                joined = np.bincount(label, weights=~home_alone[idx], minlength=int(label.max()) + 1) > 0
                leave = joined[label]
                left[(category, level)][idx[leave]] = True
                idx, label, cells = (
                    idx[~leave],
                    np.unique(label[~leave], return_inverse=True)[1],
                    cells[~leave],
                )
        if len(idx):
            by_cluster = np.argsort(label, kind="stable")  # each cluster's homes together, still by x, y
            idx, label, cells = idx[by_cluster], label[by_cluster], cells[by_cluster]
            n = label.max() + 1
            first = np.lexsort((cells[:, 1], cells[:, 0], label))  # each cluster's cells, the first first
            first = first[np.unique(label[first], return_index=True)[1]]
            frames.append({
                "category": np.full(n, category, dtype=object),
                "category_zh": np.full(n, CATEGORY_NAMES_ZH.get(category, category), dtype=object),
                "level": np.full(n, level, dtype=np.int64),
                "homes": np.bincount(label, minlength=n),
                "households": np.bincount(label, weights=hh[idx], minlength=n).astype(np.int64),
                "residents": np.bincount(label, weights=rs[idx], minlength=n).astype(np.int64),
                "cell_x": cells[first, 0],
                "cell_y": cells[first, 1],
            })  # fmt: skip
            members.append(idx)
            labels.append(label + clusters)
            clusters += n
        if progress:
            progress("gaps", k + 1, len(outside))
    if not frames:
        return _no_shapes([*GAP_COLUMNS, "cell_x", "cell_y"]), left
    idx, label = np.concatenate(members), np.concatenate(labels)
    shapes = _cluster_shapes(pts, lambda at: _footprints(homes, at), label, params.gap_margin_m, idx,
                             project=lambda g: project_shapes(g, metric, STORAGE_CRS))  # fmt: skip
    columns = {name: np.concatenate([f[name] for f in frames]) for name in frames[0]}
    return gpd.GeoDataFrame(columns, geometry=shapes, crs=STORAGE_CRS), left


def _in_order(drawn: list[gpd.GeoDataFrame | None], method: str) -> gpd.GeoDataFrame:
    """The gaps drawn (here, and in the parts of a run), by category, level and residents
    (most first), then by their first cell, as one process orders them."""
    frames = [f for f in drawn if f is not None and len(f)]
    if not frames:
        return _no_shapes(GAP_COLUMNS)
    gaps = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORAGE_CRS)
    gaps = gaps.sort_values(["category", "level", "residents", "cell_x", "cell_y"],
                            ascending=[True, True, False, True, True], kind="stable")  # fmt: skip
    gaps["method"] = method
    return gaps.drop(columns=["cell_x", "cell_y"]).reset_index(drop=True)


def _footprints(homes: gpd.GeoDataFrame, at: np.ndarray) -> np.ndarray:
    """The metric shapes of the homes at positions ``at`` (gaps of one home are drawn from
    them). Where a run in parts left them out (``homes`` without geometry), they are projected
    again from the shapes as stored, as they were projected in the first place."""
    shapes: np.ndarray = np.asarray(homes.geometry.values)[at]
    left_out = shapely.is_missing(shapes)
    if left_out.any():
        stored = np.asarray(homes["stored"].values)[at[left_out]]
        shapes[left_out] = project_shapes(stored, STORAGE_CRS, homes.crs)
    return shapes


def _circles(
    graph: FacilityGraph,
    table: pd.DataFrame,
    categories: tuple[str, ...],
    levels: tuple[int, ...],
    thresholds: dict[tuple[str, int], float],
    params: CoverageParams,
    fac_ids: np.ndarray,
    metric: CRS,
    method: str,
    progress: Progress | None,
) -> gpd.GeoDataFrame:
    """Service circles per facility, category and level (EPSG:4326), from one bounded search
    per facility."""
    usable = table.copy()
    rows = []
    for level in levels:
        ok = usable["level"].isna() | (usable["level"] == level)
        part = usable[ok].copy()
        part["at_level"] = level
        rows.append(part)
    wanted = pd.concat(rows, ignore_index=True)
    wanted["limit_m"] = [
        thresholds[(c, lv)] for c, lv in zip(wanted["category"], wanted["at_level"], strict=True)
    ]
    positions = np.unique(wanted["pos"].to_numpy(dtype=np.int64))
    positions = positions[graph.facility_node[positions] >= 0]
    limits = np.unique(wanted["limit_m"].to_numpy())
    total = len(positions)
    done = 0

    def tick(step: int) -> None:
        nonlocal done
        done += step
        if progress and (done % 50 == 0 or done == total):
            progress("circles", done, total)

    fac, limit, polys = service_circles(
        graph, positions, limits, margin_m=params.circle_margin_m, progress=tick,
        project=partial(project_shapes, source=metric, target=STORAGE_CRS),
    )  # fmt: skip
    shapes = pd.DataFrame({"pos": fac, "limit_m": limit, "geometry": polys})
    merged = wanted.merge(shapes, on=["pos", "limit_m"], how="inner")
    frame = gpd.GeoDataFrame(
        {
            "facility_id": fac_ids[merged["pos"].to_numpy(dtype=np.int64)],
            "category": merged["category"].to_numpy(),
            "category_zh": [CATEGORY_NAMES_ZH.get(c, c) for c in merged["category"]],
            "level": merged["at_level"].to_numpy(dtype=np.int64),
            "limit_m": merged["limit_m"].to_numpy(),
            "method": method,
        },
        geometry=merged["geometry"].to_numpy(),
        crs=STORAGE_CRS,
    )
    return frame


def _homes_frame(
    homes: gpd.GeoDataFrame,
    distances: PairArrays,
    nearest: PairArrays,
    covered: PairArrays,
    params: CoverageParams,
    method: str,
) -> gpd.GeoDataFrame:
    """Homes in EPSG:4326 with walking minutes per (category, level) as ``{category}_{level}``."""
    data: dict[str, Any] = {
        "kind": homes["kind"].to_numpy(),
        "feature_id": homes["feature_id"].to_numpy(),
        "compound_id": homes["compound_id"].to_numpy(),
        "street_id": homes["street_id"].to_numpy(),
        "community_id": homes["community_id"].to_numpy(),
        "grid_id": homes["grid_id"].to_numpy(),
        "households": homes["households"].to_numpy(),
        "residents": homes["residents"].to_numpy(),
    }
    for (category, level), dist in distances.items():
        minutes = params.walking.minutes(dist)
        data[f"{category}_{level}"] = np.where(np.isfinite(minutes), np.round(minutes, 2), np.nan)
    if "stored" in homes.columns:  # the shapes as stored, not projected there and back
        stored = np.asarray(homes["stored"].values)
    else:
        stored = project_shapes(np.asarray(homes.geometry.values), homes.crs, STORAGE_CRS)
    frame = gpd.GeoDataFrame(data, geometry=stored, crs=STORAGE_CRS)
    frame["method"] = method
    return frame


def long_results(result: CoverageResult) -> pd.DataFrame:
    """One row per (home, category, level): distance (m), minutes, nearest facility, covered."""
    return pair_rows(result.homes, result.distances, result.nearest, result.thresholds)


def pair_rows(
    homes: pd.DataFrame, distances: PairArrays, nearest: PairArrays, thresholds: dict[tuple[str, int], float]
) -> pd.DataFrame:
    """One row per (home, category, level) of ``homes`` (with ``kind``, ``feature_id``,
    ``households``, ``residents``): the home's households and residents, distance (m, NaN
    when nothing is reached), nearest facility (NA: none) and covered."""
    n, keys = len(homes), list(distances)
    dist = np.concatenate([distances[k] for k in keys]) if keys else np.zeros(0)
    near = np.concatenate([nearest[k] for k in keys]) if keys else np.zeros(0, dtype=np.int64)
    limit = np.repeat([thresholds[k] for k in keys], n)
    facility = pd.array(near, dtype="Int64")
    facility[near < 0] = pd.NA  # -1: no facility reachable
    return pd.DataFrame(
        {
            "home_kind": np.tile(homes["kind"].to_numpy(), len(keys)),
            "feature_id": np.tile(homes["feature_id"].to_numpy(), len(keys)),
            "households": np.tile(homes["households"].to_numpy(), len(keys)),
            "residents": np.tile(homes["residents"].to_numpy(), len(keys)),
            "category": np.repeat(np.array([k[0] for k in keys], dtype=object), n),
            "level": np.repeat(np.array([k[1] for k in keys], dtype=np.int64), n),
            "distance_m": np.where(np.isfinite(dist), np.round(dist, 2), np.nan),
            "facility_id": facility,
            "covered": dist <= limit,
        }
    )


def result_frames(result: CoverageResult) -> dict[str, pd.DataFrame]:
    """The outputs of a run as named frames, for a GeoPackage or CSV files."""
    compounds = result.compounds.copy()
    return {
        "coverage_summary": result.summary,
        "coverage_homes": result.homes,
        "coverage_compounds": compounds.assign(method=result.method),
        "service_gaps": result.gaps,
        "service_circles": result.circles,
    }
