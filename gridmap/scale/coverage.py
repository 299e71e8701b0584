"""Coverage in parts, on a Dask cluster or one part after another in this process.

Each part walks the homes it owns over the network and facilities of its box (its area and a
halo as wide as the longest walk counted plus the snap distance), so every home reaches
what it would in one process: walks longer than the longest one counted are not followed
(``CoverageParams.reach_m``), and every figure is the same. The parts' walks are gathered
and the figures (summary, compound checks, gaps) summed once, here.

A part's walks are kept in ``cache`` under the fingerprint of what it read; a run over the
same cut and parameters reuses every part whose inputs did not change.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridmap.collector import keep_out_what_exists, kept_out
from gridmap.coverage import (
    CoverageParams,
    CoverageResult,
    HomeWalks,
    coverage_figures,
    home_label_order,
    longest_walk_m,
    resolved,
    walk_homes,
    with_gaps_drawn,
)
from gridmap.crs import STORAGE_CRS, project_shapes
from gridmap.errors import InputError
from gridmap.scale.jobs import Part, PartProgress, Tally, peak_mb
from gridmap.scale.partitions import Partitioning
from gridmap.scale.sources import UNIT_LAYERS, LayerSource, cut_of, inputs_digest
from gridmap.standards import Checklist, load_checklist
from gridmap.study_area import CoverageInputs, compounds_lived_in
from gridmap.walking import params_record

CACHE_FORMAT = 4  # kept parts of another format are walked again (4: with their gaps drawn)


@dataclass(frozen=True)
class PartJob(Part):
    """What a worker needs to walk one part."""

    params: CoverageParams
    checklist: Checklist
    cache: Path | None = None


@dataclass
class PartWalks:
    """One part's walks, with how they were had."""

    key: str
    walks: HomeWalks | None  # None: the part owns no home and no facility
    unattached_facilities: list[int]
    reused: bool
    seconds: float
    peak_mb: float  # the peak memory of the process that walked it, so far
    process: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def halo_m(params: CoverageParams, checklist: Checklist) -> float:
    """How far beyond its area a part reads (metres): the longest walk counted and the
    furthest a point may lie from the street it walks from."""
    return longest_walk_m(params, checklist) + params.walking.max_snap_m


def run_params(params: CoverageParams, checklist: Checklist) -> CoverageParams:
    """A partitioned run's parameters: walks beyond the longest counted are not followed."""
    params = resolved(params, checklist)
    return replace(params, reach_m=longest_walk_m(params, checklist))


def cut_for(
    source: LayerSource, params: CoverageParams, checklist: Checklist, *, tile_m: float | None = None
) -> Partitioning:
    """How a coverage run over ``source`` is cut (:func:`~gridmap.scale.sources.cut_of`)."""
    return cut_of(source, halo_m(params, checklist), tile_m=tile_m)


def walk_part(job: PartJob) -> PartWalks:
    """Read one part's box, keep what it owns, and walk its homes (or take its walks from
    the cache when it read the same as last time). What the process held before the part
    (its imports, a Dask worker's own state) stays out of the cycle collector's full passes
    while the part runs."""
    with kept_out():
        return _walk_part(job)


def _walk_part(job: PartJob) -> PartWalks:
    start = time.perf_counter()
    own, facilities = owned(job.source.read(job.cut.parts[job.index].reads), job)
    path = _cache_path(job, own)  # its fingerprint: what it owns and reads, not its neighbours' homes
    if path is not None and path.exists():
        walks, unattached = _read_cached(path)
        return PartWalks(job.key, walks, unattached, True, time.perf_counter() - start, peak_mb())
    walks, unattached = None, []
    if len(own.buildings) or (own.compounds is not None and len(own.compounds)) or facilities.any():
        walks = walk_homes(
            own, job.params, checklist=job.checklist, crs=job.cut.crs, circle_facilities=facilities
        )
        alone = job.cut.alone(job.index, job.params.gap_cluster_m)
        walks = _without_footprints(with_gaps_drawn(walks, job.params, job.checklist, alone), own)
        ids = set(own.facilities.index[facilities].tolist())
        unattached = [i for i in walks.report.get("facilities_unattached", []) if i in ids]
    if path is not None:
        _write_cached(path, walks, unattached)
    return PartWalks(job.key, walks, unattached, False, time.perf_counter() - start, peak_mb())


def _without_footprints(walks: HomeWalks, inputs: CoverageInputs) -> HomeWalks:
    """The walks with their homes' metric shapes left out where the shapes as stored give
    them back exactly (the layers are in EPSG:4326, as the store keeps them): the gathering
    process projects again only those it draws a gap of one home from, and receives and
    holds each home's shape once rather than twice."""
    layers = [f for f in (inputs.buildings, inputs.compounds) if f is not None and len(f)]
    if not all(CRS.from_user_input(f.crs).equals(STORAGE_CRS) for f in layers):
        return walks
    homes = walks.homes
    none = gpd.GeoSeries(np.full(len(homes), None, dtype=object), index=homes.index, crs=homes.crs)
    return replace(walks, homes=homes.set_geometry(none.rename("geometry")))


def owned(inputs: CoverageInputs, part: Part) -> tuple[CoverageInputs, np.ndarray]:
    """The inputs ``part`` read with only the homes it owns: its buildings, the compounds it
    owns that hold no home anywhere (``Part.lived_in``: a compound's buildings may lie beyond
    the part's halo), and the compounds its buildings lie in (for their gates); and the mask
    of the facilities it owns (over ``inputs.facilities``)."""
    cut, index = part.cut, part.index
    buildings, compounds = inputs.buildings, inputs.compounds
    own_b = cut.owners(_points(buildings, cut)) == index
    if compounds is not None and len(compounds):
        ids = np.asarray(compounds.index, dtype=np.int64)
        own_c = cut.owners(_points(compounds, cut)) == index
        keep = (own_c & ~np.isin(ids, part.lived_in)) | np.isin(ids, compounds_lived_in(buildings[own_b]))
        compounds = compounds[keep]
    facilities = cut.owners(_points(inputs.facilities, cut)) == index
    return replace(inputs, buildings=buildings[own_b], compounds=compounds), facilities


def _points(frame: gpd.GeoDataFrame | None, cut: Partitioning) -> np.ndarray:
    """The point each feature is placed by, in the cut's CRS (as a run places homes)."""
    if frame is None or len(frame) == 0:
        return np.zeros(0, dtype=object)
    return shapely.point_on_surface(project_shapes(np.asarray(frame.geometry.values), frame.crs, cut.crs))


def partitioned_coverage(
    source: LayerSource,
    cut: Partitioning,
    params: CoverageParams | None = None,
    *,
    checklist: Checklist | None = None,
    client: Any = None,
    retries: int = 2,
    cache: Path | None = None,
    progress: PartProgress | None = None,
    on_part: Callable[[PartWalks], None] | None = None,
) -> CoverageResult:
    """Coverage of every home of ``source``, walked part by part as ``cut`` says: on the Dask
    ``client``'s cluster, or one part after another here without one. A part that fails is
    sent again up to ``retries`` times; ``on_part`` sees each part's walks as they come (once
    all are gathered, each part's own are let go: ``PartWalks.walks`` is then None)."""
    with kept_out():  # the walks gathered stay out of the collector's full passes
        checklist = checklist or load_checklist()
        params = run_params(params or CoverageParams(), checklist)
        lived_in = source.compounds_lived_in()
        jobs = [PartJob(source, cut, i, lived_in, params, checklist, cache) for i in range(len(cut.parts))]
        tally = Tally(len(jobs), retries, progress)

        def done(part: PartWalks) -> None:
            if on_part:
                on_part(part)
            tally.done(part.key, part, "reused" if part.reused else "walked")
            keep_out_what_exists()

        started = time.perf_counter()
        tally.run(walk_part, jobs, client, done, "walk")
        outcomes, failures = tally.outcomes, tally.failures
        parts = [outcomes[p.key] for p in cut.parts]
        walked = [p.walks for p in parts if p.walks is not None]
        if not walked or sum(len(w.homes) for w in walked) == 0:
            raise InputError("there are no buildings or compounds: nothing to measure coverage from")
        report = _report(parts, failures, cut, time.perf_counter() - started)
        # the homes in the order one process gives them: buildings, then compounds, by id
        order = np.lexsort((
            np.concatenate([w.homes["feature_id"].to_numpy() for w in walked]),
            np.concatenate([w.homes["kind"].to_numpy() != "building" for w in walked]),
        ))  # fmt: skip
        walks = HomeWalks.gathered(walked, report, order)
        del walked
        for part in parts:  # the gathered walks hold all: each part's own copy goes
            part.walks = None
        units = source.read(None, UNIT_LAYERS)
        keep_out_what_exists()
        return coverage_figures(walks, units, params, checklist=checklist)


def _report(parts: list[PartWalks], failures: dict[str, list[str]], cut: Partitioning, seconds: float):
    walked = [p.walks for p in parts if p.walks is not None]
    first = walked[0].report if walked else {}
    return {
        "method": first.get("method"),
        "crs": cut.crs.to_string(),
        "homes": int(sum(len(w.homes) for w in walked)),
        "homes_unattached": sorted(
            {i for w in walked for i in w.report.get("homes_unattached", [])}, key=home_label_order
        ),
        # islands as each part's network (its area and halo) has them: named by part
        "homes_on_islands": sorted(
            {i for w in walked for i in w.report.get("homes_on_islands", [])}, key=home_label_order
        ),
        "islands_with_homes": sorted(
            (
                {**row, "island": f"{p.key} #{row['island']}"}
                for p in parts
                if p.walks is not None
                for row in p.walks.report.get("islands_with_homes", [])
            ),
            key=lambda row: (-row["residents"], row["island"]),
        ),
        "facilities_unattached": sorted(i for p in parts for i in p.unattached_facilities),
        "shortest_path_passes": int(sum(w.report.get("shortest_path_passes", 0) for w in walked)),
        "partitions": {
            "halo_m": round(cut.halo_m, 1),
            "seconds": round(seconds, 2),
            "gaps_drawn": int(sum(len(w.gaps_drawn) for w in walked if w.gaps_drawn is not None)),
            "parts": [
                {
                    "key": p.key,
                    "homes": 0 if p.walks is None else len(p.walks.homes),
                    "reused": p.reused,
                    "seconds": round(p.seconds, 3),
                    "peak_mb": round(p.peak_mb, 1),
                    "process": p.process,
                    "failures": failures.get(p.key, []),
                }
                for p in parts
            ],
        },
    }


# --- kept parts -----------------------------------------------------------------------------


def _cache_path(job: PartJob, inputs: CoverageInputs) -> Path | None:
    if job.cache is None:
        return None
    run = json.dumps(
        [CACHE_FORMAT, params_record(job.params), job.checklist.version, job.cut.digest()],
        sort_keys=True, default=str,
    )  # fmt: skip
    run_digest = hashlib.sha256(run.encode()).hexdigest()[:16]
    return Path(job.cache) / run_digest / f"{job.key}-{inputs_digest(inputs)}.json"


def _write_cached(path: Path, walks: HomeWalks | None, unattached: list[int]) -> None:
    """Keep a part's walks: a table of its homes with their distances and nearest
    facilities, one of its circles, and what else the walks say (``path``, written last and
    by rename, so a reader never takes half a part)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"unattached": unattached, "walks": walks is not None}
    if walks is not None:
        meta.update(
            crs=walks.crs.to_wkt(), method=walks.method, report=walks.report, pairs=list(walks.distances)
        )
        columns = {f"d{k}": dist for k, dist in enumerate(walks.distances.values())}
        columns.update({f"n{k}": near for k, near in enumerate(walks.nearest.values())})
        left = walks.gaps_left
        meta["gap_pairs"] = None if left is None else list(left)
        columns.update({f"g{k}": mask for k, mask in enumerate((left or {}).values())})
        homes = pd.concat([pd.DataFrame(walks.homes.to_wkb()), pd.DataFrame(columns)], axis=1)
        drawn = walks.gaps_drawn if walks.gaps_drawn is not None else gpd.GeoDataFrame(geometry=[], crs=4326)
        tables = [(homes, ".homes"), (pd.DataFrame(walks.circles.to_wkb()), ".circles")]
        for table, suffix in [*tables, (pd.DataFrame(drawn.to_wkb()), ".gaps")]:
            tmp = path.with_suffix(f"{suffix}.tmp")
            table.to_parquet(tmp)
            tmp.replace(path.with_suffix(f"{suffix}.parquet"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, default=str))
    tmp.replace(path)


def _read_cached(path: Path) -> tuple[HomeWalks | None, list[int]]:
    from pyproj import CRS

    meta = json.loads(path.read_text())
    if not meta["walks"]:
        return None, meta["unattached"]
    crs = CRS.from_wkt(meta["crs"])
    table = pd.read_parquet(path.with_suffix(".homes.parquet"))
    pairs = [(c, int(lv)) for c, lv in meta["pairs"]]
    distances = {key: table.pop(f"d{k}").to_numpy() for k, key in enumerate(pairs)}
    nearest = {key: table.pop(f"n{k}").to_numpy() for k, key in enumerate(pairs)}
    gap_pairs = meta["gap_pairs"]
    left = None if gap_pairs is None else {
        (c, int(lv)): table.pop(f"g{k}").to_numpy() for k, (c, lv) in enumerate(gap_pairs)
    }  # fmt: skip
    gaps = pd.read_parquet(path.with_suffix(".gaps.parquet"))
    drawn = gpd.GeoDataFrame(gaps, geometry=gpd.GeoSeries.from_wkb(gaps.pop("geometry"), crs=4326))
    for column in ("geometry", "point"):
        table[column] = gpd.GeoSeries.from_wkb(table[column], crs=crs)
    table["stored"] = gpd.GeoSeries.from_wkb(table["stored"], crs=4326)
    homes = gpd.GeoDataFrame(table, geometry="geometry", crs=crs)
    circles = pd.read_parquet(path.with_suffix(".circles.parquet"))
    shapes = gpd.GeoSeries.from_wkb(circles.pop("geometry"), crs=4326)
    walks = HomeWalks(
        homes,
        crs,
        meta["method"],
        distances,
        nearest,
        gpd.GeoDataFrame(circles, geometry=shapes),
        meta["report"],
        gaps_drawn=drawn if len(drawn) else None,
        gaps_left=left,
    )
    return walks, meta["unattached"]
