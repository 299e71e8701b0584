"""Siting proposals: where new stations would bring the most residents into the circle.

:func:`propose_sites` gathers candidates, measures walking metres from every candidate to the
homes around it over the same network as the coverage engine (straight lines × the detour
factor when there are no roads), runs a location model, and explains the answer: per site
the buildings, households and residents it newly brings into the circle by category and
level (each home counted for the first site, in order of choice, that reaches it), its
marginal gain, its nearest existing station; and coverage before and after for the area,
streets, communities and grids.

Frames with geometry come out in EPSG:4326; metric work is in the network's UTM CRS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from gridmap.coverage import (
    CoverageParams,
    best_per_home,
    coverage_change,
    facility_sets,
    facility_table,
    islands_with_homes,
    listed_pairs,
    straight_line_nearest,
    threshold_m,
)
from gridmap.crs import STORAGE_CRS
from gridmap.errors import InputError
from gridmap.households import doubtful_mask
from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.network.paths import Attachment, FacilityGraph, attach, attach_only, shortest_per_pair
from gridmap.settings import Settings
from gridmap.siting.candidates import (
    AREA_GEOMETRIES,
    CANDIDATE_COLUMNS,
    CandidateRules,
    apply_rules,
    checked_places,
    district_outline,
    given_candidates,
    node_candidates,
    public_building_candidates,
    spacing_pairs,
)
from gridmap.siting.models import DEFAULT_MAX_NONZEROS, DEFAULT_TIME_LIMIT_S, MODELS, Solution, solve
from gridmap.siting.problem import SitingProblem
from gridmap.standards import Checklist, load_checklist
from gridmap.study_area import CoverageInputs, StudyArea, from_inputs, prepare_area
from gridmap.timing import Laps
from gridmap.walking import WalkingParams

DEFAULT_COUNT = 3
WEIGHTS = ("residents", "households")
_COVERAGE = CoverageParams()


@dataclass(frozen=True)
class SitingParams:
    """What to propose. Metres, minutes, people; speeds in m/s."""

    categories: tuple[str, ...]
    model: str = "mclp"
    count: int | None = None  # new sites for MCLP and p-median (default 3)
    levels: tuple[int, ...] = (15,)
    minutes: float | None = None  # the circle in minutes; default: each level's own minutes
    share: float = 1.0  # LSCP: share of all people to cover, existing stations included
    capacity: float | None = None  # people a station can serve
    weight: str = "residents"
    rules: CandidateRules = field(default_factory=CandidateRules)
    cutoff_m: float = 3000.0  # p-median: walks beyond this count as this
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    max_nonzeros: int = DEFAULT_MAX_NONZEROS
    walking: WalkingParams = field(default_factory=WalkingParams)
    #: candidates that reach fewer households than this within the longest walk counted are
    #: ruled out (a site on a footpath cut off from the streets); 0 keeps every candidate
    min_reach_households: int = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, speed_mps: float | None = None, origin: str | None = None, **options: Any
    ) -> SitingParams:
        """Parameters from an installation's :class:`~gridmap.settings.Settings`, with a
        walking speed (m/s), origin and ``options`` on top (None values leave the default)."""
        given = {k: v for k, v in options.items() if v is not None}
        given.setdefault("categories", ())
        given.setdefault("min_reach_households", settings.siting_min_homes)
        return cls(**given, walking=WalkingParams.from_settings(settings, speed_mps=speed_mps, origin=origin))

    def coverage_params(self) -> CoverageParams:
        return replace(_COVERAGE, levels=self.levels, categories=self.categories, walking=self.walking)

    def check(self, checklist: Checklist) -> None:
        if self.model not in MODELS:
            raise InputError(f"model '{self.model}' is not one of {', '.join(MODELS)}")
        if not self.categories:
            raise InputError("name at least one service category to site stations for")
        if self.weight not in WEIGHTS:
            raise InputError(f"weight '{self.weight}' is not one of {', '.join(WEIGHTS)}")
        if self.minutes is not None and not (0 < self.minutes <= 120):
            raise InputError(
                f"--minutes {self.minutes}: expected a walk of more than 0 and at most 120 minutes"
            )
        if self.model == "lscp" and self.count is not None:
            raise InputError("set covering finds the number of sites itself; give --share instead of --count")
        if self.model != "lscp" and self.share != 1.0:
            raise InputError("--share is for set covering (--model lscp)")
        if self.cutoff_m <= 0:
            raise InputError("the p-median cutoff must be positive metres")
        if not self.time_limit_s > 0:  # NaN too; inf: no limit
            raise InputError(f"--time-limit {self.time_limit_s:g}: expected a positive number of seconds")
        self.rules.check()
        self.coverage_params().check(checklist)

    def threshold(self, checklist: Checklist, category: str, level: int) -> float:
        """Walking metres of the circle for (category, level)."""
        if self.minutes is not None:
            return self.walking.metres(self.minutes)
        return threshold_m(checklist, self.coverage_params(), category, level)


@dataclass
class Proposal:
    """A model's proposal, explained. Geometry in EPSG:4326."""

    params: SitingParams
    method: str
    solution: Solution
    sites: gpd.GeoDataFrame  # one row per proposed site, in order of choice
    site_gains: pd.DataFrame  # per site, category and level: buildings, households, residents
    site_homes: pd.DataFrame  # per site: the homes it newly brings into the circle
    coverage: pd.DataFrame  # per scope, unit, category and level: before and after
    candidates: gpd.GeoDataFrame  # every candidate considered, with its rank when chosen
    excluded: pd.DataFrame  # candidates ruled out, with the reason
    report: dict[str, Any]
    problem: SitingProblem  # the instance the model solved (rows: category-level × home)

    def area_coverage(self) -> pd.DataFrame:
        return self.coverage[self.coverage["scope"] == "area"].reset_index(drop=True)


def listed_categories(checklist: Checklist, levels: tuple[int, ...]) -> list[str]:
    """The categories the checklist lists at any of ``levels``, sorted."""
    return sorted({c for c, lv in listed_pairs(checklist) if lv in levels})


def gap_categories(
    inputs: CoverageInputs,
    levels: tuple[int, ...],
    checklist: Checklist | None = None,
    *,
    area: StudyArea | None = None,
    **coverage: Any,
) -> list[str]:
    """Categories the checklist lists at ``levels`` that leave residents outside the circle;
    ``area``: the inputs already prepared for the walking given, which the proposals share."""
    from gridmap.coverage import compute_coverage

    checklist = checklist or load_checklist()
    listed = listed_categories(checklist, levels)
    params = replace(
        _COVERAGE, levels=levels, categories=tuple(listed), gaps=False, circles=False, **coverage
    )
    result = compute_coverage(inputs, params, checklist=checklist, area=area)
    summary = result.area_summary()
    summary = summary[
        [
            (c, lv) in listed_pairs(checklist)
            for c, lv in zip(summary["category"], summary["level"], strict=True)
        ]
    ]
    short = summary[summary["residents_covered"] < summary["residents"]]
    return [c for c in listed if c in set(short["category"])]


def category_groups(
    inputs: CoverageInputs, params: SitingParams, checklist: Checklist
) -> tuple[list[tuple[str, ...]], StudyArea | None]:
    """What to propose sites for: ``params.categories`` together, else each category the
    checklist lists at ``params.levels`` that leaves residents outside the circle, on its own
    (none when every home is inside every circle). Those found short share one study area
    with every proposal for them, given back (None for categories named)."""
    if params.categories:
        return [params.categories], None
    shared = prepare_area(inputs, params.walking)  # network and homes once, for all that follows
    found = gap_categories(inputs, params.levels, checklist, area=shared, walking=params.walking)
    return [(c,) for c in found], shared


def _candidates(
    area: StudyArea, params: SitingParams, given: gpd.GeoDataFrame | None, given_file: str | None
) -> gpd.GeoDataFrame:
    rules, metric = params.rules, area.crs
    parts = []
    if "given" in rules.sources and given is not None:
        parts.append(given_candidates(given, metric, file=given_file))
    if "public_buildings" in rules.sources:
        parts.append(public_building_candidates(area))
    if "nodes" in rules.sources:
        areas, shapes = area.inputs.compounds, area.shapes("compounds")
        if rules.grids:
            grids = area.inputs.grids
            if grids is None or "code" not in grids.columns:
                raise InputError(f"unknown grid codes: {', '.join(sorted(set(rules.grids)))}")
            codes = grids["code"].astype(str)
            unknown = sorted(set(rules.grids) - set(codes))
            if unknown:
                raise InputError(f"unknown grid codes: {', '.join(unknown)}")
            wanted = codes.isin(rules.grids).to_numpy()
            areas, shapes = grids[wanted], area.shapes("grids")[wanted]
        parts.append(node_candidates(area.network, areas, shapes, rules.compound_edge_m))
    parts = [p for p in parts if len(p)]
    if not parts:
        raise InputError(
            f"no candidate sites: the sources {', '.join(rules.sources)} gave none "
            "(give sites with --candidates, or use public buildings or network junctions)"
        )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=metric)


def propose_sites(
    inputs: CoverageInputs,
    params: SitingParams,
    *,
    given: gpd.GeoDataFrame | None = None,
    given_file: str | None = None,
    exclude: gpd.GeoDataFrame | None = None,
    checklist: Checklist | None = None,
    area: StudyArea | None = None,
) -> Proposal:
    """Propose new sites for ``params.categories`` (one station serves them all).

    ``given`` holds user-named candidate sites (points or polygons, any CRS); ``exclude``
    areas where no station may go (any CRS); ``area`` the inputs already prepared for
    ``params.walking`` (:func:`prepare_area`), which proposals for several categories share.
    """
    checklist = checklist or load_checklist()
    params.check(checklist)
    if exclude is not None:
        exclude = checked_places(exclude, "excluded areas", AREA_GEOMETRIES)
    lap = Laps()

    if len(inputs.buildings) == 0:
        raise InputError("there are no buildings: nobody to site stations for")
    walking = params.walking
    area = from_inputs(area, inputs) if area is not None else prepare_area(inputs, walking)
    metric, network, method = area.crs, area.network, area.method
    homes, origins, fac_xy = area.homes, area.origins, area.facility_xy
    facilities = inputs.facilities
    keys = [(c, lv) for c in params.categories for lv in sorted(params.levels)]
    table = facility_table(inputs.facilities, params.categories)
    sets = facility_sets(table, params.categories, params.levels)
    existing = np.unique(np.concatenate([sets[k] for k in keys])) if keys else np.zeros(0, dtype=np.int64)
    lap("inputs")

    cands = _candidates(area, params, given, given_file)
    gathered = cands["source"].value_counts().to_dict()
    outline = district_outline([area.shapes(n) for n in ("districts", "streets", "communities")])
    cands, excluded = apply_rules(
        cands,
        outline=outline,
        exclude=exclude,
        existing_xy=fac_xy[existing],
        min_spacing_m=params.rules.min_spacing_m,
    )
    cand_xy = shapely.get_coordinates(cands.geometry.values).reshape(-1, 2)
    thresholds = {k: params.threshold(checklist, *k) for k in keys}
    limit = params.cutoff_m if params.model == "pmedian" else max(thresholds.values())

    if network is not None:
        fac_att = attach_only(network, fac_xy, existing, walking.max_snap_m)  # existing stations only
        cand_att = attach(network, cand_xy, walking.max_snap_m)
        loose = ~cand_att.attached
        if loose.any():
            excluded = pd.concat(
                [
                    excluded,
                    cands[loose][CANDIDATE_COLUMNS].assign(
                        reason=f"no street within {walking.max_snap_m:g} m"
                    ),
                ],
                ignore_index=True,
            )
            cands, cand_xy = cands[~loose].reset_index(drop=True), cand_xy[~loose]
            cand_att = Attachment(cand_att.edge[~loose], cand_att.offset[~loose], cand_att.access[~loose])
    if len(cands) == 0:
        reasons = excluded["reason"].value_counts().to_dict() if len(excluded) else {}
        raise InputError(
            "no candidate sites remain after the rules: " + ", ".join(f"{n} {r}" for r, n in reasons.items())
        )
    lap("candidates")

    n_homes, m = len(homes), len(cands)
    origin_home = origins["home"].to_numpy()
    current: dict[tuple[str, int], np.ndarray] = {}
    islands: list[dict[str, Any]] = []
    if network is not None:
        both = Attachment(
            np.concatenate([fac_att.edge, cand_att.edge]),
            np.concatenate([fac_att.offset, cand_att.offset]),
            np.concatenate([fac_att.access, cand_att.access]),
        )
        graph = FacilityGraph(network, both)
        origin_att = area.attach_origins(walking.max_snap_m)
        located = graph.locate(origin_att)
        islands = islands_with_homes(
            network, network.islands(), origin_att, origins, homes, fac_att, existing
        )
        for k in keys:
            current[k] = best_per_home(n_homes, origin_home, *graph.nearest(sets[k], located))[0]
        c_idx, o_idx, dist = graph.within(len(fac_xy) + np.arange(m), located, limit)
    else:
        oxy = origins[["x", "y"]].to_numpy()
        for k in keys:
            nearest = straight_line_nearest(oxy, fac_xy, sets[k], walking.detour_factor)
            current[k] = best_per_home(n_homes, origin_home, *nearest)[0]
        pairs = cKDTree(cand_xy).sparse_distance_matrix(
            cKDTree(oxy), limit / walking.detour_factor, output_type="ndarray"
        )
        c_idx, o_idx, dist = (
            pairs["i"].astype(np.int64),
            pairs["j"].astype(np.int64),
            pairs["v"] * walking.detour_factor,
        )
    c_idx, h_idx, dist = shortest_per_pair(c_idx, origin_home[o_idx], dist)  # a home's best start point
    # households of the distinct homes within the longest walk counted: one building of many
    # flats is reason enough for a site, where a count of buildings would rule it out
    households = np.nan_to_num(homes["households"].to_numpy(dtype=float))
    reach = np.bincount(c_idx, weights=households[h_idx], minlength=m)
    least = params.min_reach_households
    weak = reach < least
    if weak.all():
        raise InputError(
            f"none of the {m} candidate sites reaches {least:,} households within the walk; "
            "lower GRIDMAP_SITING_MIN_HOMES or keep them with --weak-candidates"
        )
    if weak.any():
        minutes = params.walking.minutes(limit)
        excluded = pd.concat([excluded, cands[weak][CANDIDATE_COLUMNS].assign(
            reason=f"reaches fewer than {least:,} households within {minutes:.0f} minutes"
        )], ignore_index=True)  # fmt: skip
        keep = ~weak
        cands, cand_xy = cands[keep].reset_index(drop=True), cand_xy[keep]
        if network is not None:
            cand_att = Attachment(cand_att.edge[keep], cand_att.offset[keep], cand_att.access[keep])
        position = np.cumsum(keep) - 1
        pair = keep[c_idx]
        c_idx, h_idx, dist, m = position[c_idx[pair]], h_idx[pair], dist[pair], int(keep.sum())
    lap("distances")

    weight = homes[params.weight].to_numpy(dtype=float)
    rows, cols, dists, thr = [], [], [], []
    for i, k in enumerate(keys):
        sel = dist <= (limit if params.model == "pmedian" else thresholds[k])
        rows.append(i * n_homes + h_idx[sel])
        cols.append(c_idx[sel])
        dists.append(dist[sel])
        thr.append(np.full(n_homes, thresholds[k]))
    problem = SitingProblem(
        np.tile(weight, len(keys)),
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(dists),
        np.concatenate([current[k] for k in keys]),
        np.concatenate(thr),
        m,
    )
    options: dict[str, Any] = {
        "capacity": params.capacity,
        "spacing": spacing_pairs(cands, params.rules.min_spacing_m),
        "time_limit_s": params.time_limit_s,
        "max_nonzeros": params.max_nonzeros,
    }
    if params.model == "lscp":
        options["share"] = params.share
    else:
        options["k"] = DEFAULT_COUNT if params.count is None else params.count
        if options["k"] > m:
            ruled = excluded["reason"].value_counts() if len(excluded) else pd.Series(dtype=int)
            why = "; ruled out: " + ", ".join(f"{n} {r}" for r, n in ruled.items()) if len(ruled) else ""
            raise InputError(
                f"{options['k']} sites were asked for but only {m} candidate{'s' if m != 1 else ''} "
                f"{'remain' if m != 1 else 'remains'} after the rules{why}"
            )
    if params.model == "pmedian":
        options["cutoff_m"] = params.cutoff_m
    solution = solve(params.model, problem, **options)
    lap("model")

    doubtful = set(np.asarray(inputs.buildings.index)[doubtful_mask(inputs.buildings)])
    home_doubtful = (homes["kind"] == "building").to_numpy() & homes["feature_id"].isin(doubtful).to_numpy()
    explained = _explain(problem, solution, homes.assign(doubtful=home_doubtful), keys, cands, n_homes)
    sites = _sites(explained, solution, cands, homes, keys, facilities, fac_xy, existing, graph if network is not None else None,
                   cand_att if network is not None else None, params, metric)  # fmt: skip
    before = {k: current[k] <= thresholds[k] for k in keys}
    after_rows = problem.covered_by(solution.chosen)
    after = {k: after_rows[i * n_homes : (i + 1) * n_homes] for i, k in enumerate(keys)}
    coverage = coverage_change(homes, before, after, inputs, method)
    lap("explain")

    ranks = np.full(m, pd.NA, dtype=object)
    ranks[solution.chosen] = np.arange(1, len(solution.chosen) + 1)
    candidates_out = cands.assign(rank=pd.array(ranks, dtype="Int64")).to_crs(STORAGE_CRS)
    report = {
        "method": method,
        "crs": metric.to_string(),
        "homes": n_homes,
        "candidates_gathered": {str(k): int(v) for k, v in gathered.items()},
        "candidates": m,
        "excluded": {str(k): int(v) for k, v in excluded["reason"].value_counts().items()}
        if len(excluded)
        else {},
        "demand_rows": int((problem.weight > 0).sum()),
        "pairs": len(problem.dist),
        "thresholds_m": {f"{c}_{lv}": round(v, 1) for (c, lv), v in thresholds.items()},
        "walk_minutes_before": _mean_minutes(problem, problem.current, params),
        "walk_minutes_after": _mean_minutes(problem, problem.distance_with(solution.chosen), params),
        "islands_with_homes": islands,
        "timings_s": lap.seconds,
    }
    return Proposal(
        params=params,
        method=method,
        solution=solution,
        sites=sites,
        site_gains=explained["gains"],
        site_homes=explained["homes"],
        coverage=coverage,
        candidates=candidates_out,
        excluded=excluded,
        report=report,
        problem=problem,
    )


def _mean_minutes(problem: SitingProblem, dist: np.ndarray, params: SitingParams) -> float | None:
    """Mean walk in minutes per person to the nearest station, walks capped at the cutoff."""
    w = problem.weight
    if w.sum() == 0:
        return None
    capped = np.minimum(dist, params.cutoff_m)
    return round(float(params.walking.minutes((w * capped).sum() / w.sum())), 2)


def _explain(
    problem: SitingProblem,
    solution: Solution,
    homes: gpd.GeoDataFrame,
    keys: list[tuple[str, int]],
    cands: gpd.GeoDataFrame,
    n_homes: int,
) -> dict[str, pd.DataFrame]:
    """Homes newly brought into the circle, each for the first site (in order) that reaches it."""
    rank_of = np.full(problem.n_candidates, -1, dtype=np.int64)
    rank_of[solution.chosen] = np.arange(1, len(solution.chosen) + 1)
    pairs = np.flatnonzero(problem.cover_pairs() & (rank_of[problem.col] > 0))
    pairs = pairs[~problem.covered_before[problem.row[pairs]]]
    rank, rows = rank_of[problem.col[pairs]], problem.row[pairs]
    order = np.lexsort((rank, rows))  # each row goes to its first site in order of choice
    first = np.ones(len(order), dtype=bool)
    first[1:] = rows[order[1:]] != rows[order[:-1]]
    kept = np.sort(order[first])
    kept = kept[np.argsort(rank[kept], kind="stable")]  # by site, in the problem's pair order
    key_i, home = np.divmod(rows[kept], n_homes)
    site_homes = pd.DataFrame(
        {
            "rank": rank[kept],
            "category": np.array([c for c, _ in keys] or [""], dtype=object)[key_i],
            "level": np.array([lv for _, lv in keys] or [0], dtype=np.int64)[key_i],
            "home_kind": homes["kind"].to_numpy()[home],
            "feature_id": homes["feature_id"].to_numpy()[home],
            "households": homes["households"].to_numpy()[home],
            "residents": homes["residents"].to_numpy()[home],
            "doubtful": homes["doubtful"].to_numpy()[home],
            "walk_m": np.round(problem.dist[pairs[kept]], 1),
        }
    )
    site_homes = site_homes[site_homes["residents"] + site_homes["households"] > 0].reset_index(drop=True)
    gains = (
        site_homes[["rank", "category", "level", "households", "residents"]]
        .assign(buildings=(site_homes["home_kind"] == "building").astype(np.int64))
        .groupby(["rank", "category", "level"], as_index=False)[["buildings", "households", "residents"]]
        .sum()
    )
    gains.insert(2, "category_zh", gains["category"].map(lambda c: CATEGORY_NAMES_ZH.get(c, c)))
    return {"homes": site_homes, "gains": gains}


def _sites(
    explained: dict[str, pd.DataFrame],
    solution: Solution,
    cands: gpd.GeoDataFrame,
    homes: gpd.GeoDataFrame,
    keys: list[tuple[str, int]],
    facilities: gpd.GeoDataFrame,
    fac_xy: np.ndarray,
    existing: np.ndarray,
    graph: FacilityGraph | None,
    cand_att: Attachment | None,
    params: SitingParams,
    metric: CRS,
) -> gpd.GeoDataFrame:
    """One row per chosen site: what it newly covers (distinct homes), its marginal gain, and
    its nearest existing station of the categories sited for."""
    chosen = solution.chosen
    site_homes = explained["homes"]
    distinct = site_homes.drop_duplicates(["rank", "home_kind", "feature_id"])
    rank = distinct["rank"].to_numpy(dtype=np.int64)

    def per_site(values: np.ndarray) -> np.ndarray:
        return np.bincount(rank, weights=values, minlength=len(chosen) + 1)[1:].astype(np.int64)

    ranks = np.arange(1, len(chosen) + 1)
    near_id = np.full(len(chosen), -1, dtype=np.int64)
    near_m = np.full(len(chosen), np.nan)
    if len(existing) and len(chosen):
        if graph is not None and cand_att is not None:
            located = graph.locate(
                Attachment(cand_att.edge[chosen], cand_att.offset[chosen], cand_att.access[chosen])
            )
            d, f = graph.nearest(existing, located)
        else:
            cxy = shapely.get_coordinates(cands.geometry.values[chosen]).reshape(-1, 2)
            d, i = cKDTree(fac_xy[existing]).query(cxy)
            d, f = d * params.walking.detour_factor, existing[i]
        ok = f >= 0
        near_id[ok] = np.asarray(facilities.index, dtype=np.int64)[f[ok]]
        near_m[ok] = np.round(d[ok], 1)
    names = facilities["name"] if "name" in facilities.columns else pd.Series("", index=facilities.index)
    frame = gpd.GeoDataFrame(
        {
            "rank": ranks,
            "source": cands["source"].to_numpy()[chosen],
            "source_id": cands["source_id"].to_numpy()[chosen],
            "name": cands["name"].to_numpy()[chosen],
            "categories": ",".join(params.categories),
            "gain": np.round(solution.gains, 2) if len(solution.gains) == len(chosen) else np.nan,
            "buildings_new": per_site((distinct["home_kind"] == "building").to_numpy(dtype=float)),
            "households_new": per_site(distinct["households"].to_numpy(dtype=float)),
            "residents_new": per_site(distinct["residents"].to_numpy(dtype=float)),
            # of them, those in buildings whose homes are estimated from too large an outline
            "residents_doubtful": per_site(
                (distinct["residents"] * distinct["doubtful"]).to_numpy(dtype=float)
            ),
            "nearest_station_id": pd.array(np.where(near_id >= 0, near_id, 0), dtype="Int64"),
            "nearest_station_name": [_text(names.get(i)) if i >= 0 else "" for i in near_id],
            "nearest_station_m": near_m,
        },
        geometry=cands.geometry.values[chosen],
        crs=metric,
    )
    frame.loc[near_id < 0, "nearest_station_id"] = pd.NA
    return frame.to_crs(STORAGE_CRS)


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value)
