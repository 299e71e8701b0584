"""Siting per district, on a Dask cluster or one district after another in this process.

Each part proposes its own new sites for the homes it owns: candidates inside its area only,
existing facilities counted from its halo (as wide as the longest walk that counts plus the
snap distance), so a home near the border already served across it needs nothing new. With
no categories named, each part proposes for every checklist category that leaves some of its
residents outside the circle, one proposal each, as ``gridmap site`` does in one process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import geopandas as gpd
import shapely

from gridmap.crs import STORAGE_CRS
from gridmap.errors import InputError
from gridmap.scale.coverage import owned
from gridmap.scale.jobs import Part, PartProgress, Tally, peak_mb
from gridmap.scale.partitions import Partitioning
from gridmap.scale.sources import LayerSource, cut_of
from gridmap.siting.proposal import Proposal, SitingParams, category_groups, listed_categories, propose_sites
from gridmap.standards import Checklist, load_checklist
from gridmap.store.runs import inputs_used


@dataclass(frozen=True)
class SiteJob(Part):
    """What a worker needs to propose sites for one part."""

    params: SitingParams
    checklist: Checklist


@dataclass
class PartSites:
    """One part's proposals (none: it owns no home, or nothing could be proposed), with what
    it read (for the scenarios)."""

    key: str
    name: str
    proposals: list[Proposal]
    used: dict
    seconds: float
    peak_mb: float
    problem: str | None = None  # why a proposal is missing, a line each, when the part has homes


def siting_halo_m(params: SitingParams, checklist: Checklist) -> float:
    """How far beyond its area a part reads (metres): the longest walk that counts (for
    p-median, its cutoff) and the snap distance."""
    categories = params.categories or listed_categories(checklist, params.levels)
    longest = max(params.threshold(checklist, c, lv) for c in categories for lv in params.levels)
    if params.model == "pmedian":
        longest = max(longest, params.cutoff_m)
    return longest + params.walking.max_snap_m


def siting_cut(
    source: LayerSource, params: SitingParams, checklist: Checklist, *, tile_m: float | None = None
) -> Partitioning:
    """How a siting run over ``source`` is cut (:func:`~gridmap.scale.sources.cut_of`)."""
    return cut_of(source, siting_halo_m(params, checklist), tile_m=tile_m)


def site_part(job: SiteJob) -> PartSites:
    """Propose sites for the homes one part owns, on candidates inside its area: for the
    categories named, else for each category that leaves some of its residents outside."""
    start = time.perf_counter()
    part, params = job.cut.parts[job.index], job.params
    own, _ = owned(job.source.read(part.reads), job)
    used = inputs_used(own)

    def sites(proposals: list[Proposal], problem: str | None = None) -> PartSites:
        return PartSites(
            part.key, part.name, proposals, used, time.perf_counter() - start, peak_mb(), problem
        )

    if len(own.buildings) == 0:
        return sites([])
    groups, shared = category_groups(own, params, job.checklist)
    if not groups:
        return sites([], "every home is within the circle of every listed category")
    outside = shapely.difference(shapely.box(*part.reads), job.cut.areas[job.index])
    exclude = gpd.GeoDataFrame(geometry=[outside], crs=STORAGE_CRS)
    proposals, problems = [], []
    for categories in groups:
        try:
            proposals.append(
                propose_sites(
                    own, replace(params, categories=categories), exclude=exclude, checklist=job.checklist,
                    area=shared,
                )
            )  # fmt: skip
        except InputError as problem:  # this part's data, not the run's parameters (checked before)
            problems.append(str(problem) if params.categories else f"{categories[0]}: {problem}")
    return sites(proposals, "\n".join(problems) or None)


def sites_by_part(
    source: LayerSource,
    cut: Partitioning,
    params: SitingParams,
    *,
    checklist: Checklist | None = None,
    client=None,
    retries: int = 2,
    progress: PartProgress | None = None,
) -> list[PartSites]:
    """Each part's own proposals (in ``cut`` order), on the Dask ``client``'s cluster or here."""
    checklist = checklist or load_checklist()
    every = tuple(listed_categories(checklist, params.levels))  # what a part may propose for
    replace(params, categories=params.categories or every).check(checklist)
    lived_in = source.compounds_lived_in()
    jobs = [SiteJob(source, cut, i, lived_in, params, checklist) for i in range(len(cut.parts))]
    tally = Tally(len(jobs), retries, progress)

    def done(part: PartSites) -> None:
        problem = (part.problem or "no homes").splitlines()[-1].strip(" -")
        count = sum(len(p.sites) for p in part.proposals)
        tally.done(part.key, part, f"{count} sites" if part.proposals else problem)

    tally.run(site_part, jobs, client, done, "site")
    return [tally.outcomes[p.key] for p in cut.parts]
