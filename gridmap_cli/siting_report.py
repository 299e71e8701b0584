"""What ``gridmap site`` prints: the proposed sites with what each newly covers, coverage
before and after, how the model did, and comparisons of stored scenarios."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine

from gridmap.crs import STORAGE_CRS
from gridmap.errors import InputError
from gridmap.households import HomeOrigins
from gridmap.io.export import write_frames
from gridmap.io.read import read_file
from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.siting.candidates import AREA_GEOMETRIES, SITE_GEOMETRIES, checked_places
from gridmap.siting.proposal import Proposal, SitingParams, category_groups, propose_sites
from gridmap.standards import load_checklist
from gridmap.store.inputs import load_inputs, stored_home_origins
from gridmap.store.runs import inputs_used, kept_homes
from gridmap.store.scenarios import compare_scenarios, list_scenarios, save_scenario
from gridmap.store.tables import siting_scenarios
from gridmap_cli.common import counts_moved, homes_counted, require_people, settle
from gridmap_cli.coverage_report import print_islands
from gridmap_cli.terminal import percent, print_table, say, whole

OBJECTIVES = {
    "mclp": "residents newly within the circle",
    "lscp": "new sites",
    "pmedian": "person-metres walked",
}


def _read_places(path: str | None, what: str, kinds: tuple[str, ...]) -> gpd.GeoDataFrame | None:
    """Candidate sites or excluded areas from the file at ``path``, every feature checked."""
    if path is None:
        return None
    frame = read_file(path)
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None and Path(path).suffix.lower() == ".csv":
        frame = frame.set_crs(STORAGE_CRS)  # lon/lat columns are WGS 84
    return checked_places(frame, what, kinds, file=path)


def proposal_frames(proposal: Proposal) -> dict[str, pd.DataFrame]:
    """The outputs of a proposal as named frames, for a GeoPackage or CSV files."""
    return {
        "siting_sites": proposal.sites,
        "siting_site_gains": proposal.site_gains,
        "siting_site_homes": proposal.site_homes,
        "siting_coverage": proposal.coverage,
        "siting_candidates": proposal.candidates,
        "siting_excluded": proposal.excluded,
    }


def run_and_print(
    engine: Engine,
    params: SitingParams,
    *,
    candidates: str | None = None,
    exclude: str | None = None,
    out: str | None = None,
    save: bool = True,
    label: str | None = None,
    brief: bool = False,
    area=None,
) -> list[int]:
    """Propose sites on the stored layers, print them, keep each proposal as a scenario.

    With no categories in ``params``, proposes for every checklist category at the levels
    that leaves residents outside the circle, one scenario each. ``brief`` prints one line a
    proposal instead of its tables. Returns the scenario ids.
    """
    if out and Path(out).suffix.lower() not in (".gpkg", ".csv"):
        raise InputError(f"--out '{out}': expected a .gpkg or .csv file")
    given = _read_places(candidates, "candidate sites", SITE_GEOMETRIES)
    areas = _read_places(exclude, "excluded areas", AREA_GEOMETRIES)
    checklist = load_checklist()
    inputs = load_inputs(engine)
    if area is not None:
        minutes = params.minutes or max(params.levels)
        inputs = inputs.within(area, params.walking.metres(minutes) + params.walking.max_snap_m)
    require_people(inputs.buildings, "a siting proposal")
    settle()  # the layers read stay for the whole run
    used = inputs_used(inputs)  # what each scenario kept says it read: worked out once for them all
    say(homes_counted(HomeOrigins.from_record(used["homes"])))
    groups, shared = category_groups(inputs, params, checklist)
    if not groups:
        say("every home is within the circle of every listed category: nothing to propose")
        return []
    if not params.categories:
        say(f"categories with residents outside the circle: {', '.join(c for (c,) in groups)}")
    ids, frames, lines = [], {}, []
    for cats in groups:
        proposal = propose_sites(
            inputs, replace(params, categories=cats), given=given, given_file=candidates, exclude=areas,
            checklist=checklist, area=shared,
        )  # fmt: skip
        if not brief:
            print_proposal(proposal)
        scenario_id = save_scenario(engine, proposal, used, user="cli", label=label) if save else None
        if scenario_id is not None:
            ids.append(scenario_id)
            if not brief:
                say(
                    f"kept as siting scenario {scenario_id}; compare: gridmap site compare {scenario_id} <other>"
                )
        lines.append(_brief_rows(proposal, scenario_id))
        for name, frame in proposal_frames(proposal).items():
            frames.setdefault(name, []).append(frame)
    if brief:
        print_table(
            [row for rows in lines for row in rows],
            ["category", "类别", "level", "model", "sites", "newly covered", "before", "after", "scenario"],
            title="siting proposals — residents within the circle before and after the new sites",
            right=[2, 4, 5, 6, 7, 8],
        )
    if out:
        written = write_frames({name: _concat(parts) for name, parts in frames.items()}, out)
        say("wrote " + ", ".join(str(w) for w in written))
    return ids


def run_in_parts(
    engine: Engine, url: str, params: SitingParams, *, workers: int | None, cluster: str | None,
    tile_km: float | None, save: bool, label: str | None,
) -> list[int]:  # fmt: skip
    """Propose sites in each district (or tile) of the database at ``url`` on a Dask cluster,
    each from candidates inside it (for the categories of ``params``, else for each that leaves
    some of the part's residents outside the circle); print a line and keep a scenario for
    each proposal."""
    from gridmap.scale.cluster import dask_client
    from gridmap.scale.siting import sites_by_part, siting_cut
    from gridmap.scale.sources import StoreSource, close_engines

    checklist = load_checklist()
    say(homes_counted(stored_home_origins(engine)))
    source = StoreSource(url)
    cut = siting_cut(source, params, checklist, tile_m=None if tile_km is None else tile_km * 1000.0)
    try:
        with dask_client(workers=workers, address=cluster) as client:
            parts = sites_by_part(
                source, cut, params, checklist=checklist, client=client,
                progress=lambda key, done, total, what: say(f"part {key}: {what} ({done}/{total})"),
            )  # fmt: skip
    finally:
        close_engines()
    ids, rows = [], []
    note = f"{label} · " if label else ""
    for part in parts:
        for proposal in part.proposals:
            scenario_id = (
                save_scenario(engine, proposal, part.used, user="cli", label=f"{note}{part.key} {part.name}")
                if save
                else None
            )
            if scenario_id is not None:
                ids.append(scenario_id)
            rows += [[part.key, part.name, *row] for row in _brief_rows(proposal, scenario_id)]
    print_table(
        rows,
        [
            "part",
            "name",
            "category",
            "类别",
            "level",
            "model",
            "sites",
            "newly covered",
            "before",
            "after",
            "scenario",
        ],
        title="new sites in each part — its residents within the circle before and after its own new sites",
        right=[4, 6, 7, 8, 9, 10],
    )
    return ids


def _brief_rows(proposal: Proposal, scenario_id: int | None) -> list[list]:
    return [
        [r.category, r.category_zh, r.level, proposal.solution.model, len(proposal.sites), f"{int(r.residents_new):+,}",
         percent(r.share_residents_before), percent(r.share_residents_after), scenario_id or ""]
        for r in proposal.area_coverage().itertuples()
    ]  # fmt: skip


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    joined = pd.concat(parts, ignore_index=True)
    if isinstance(parts[0], gpd.GeoDataFrame):
        return gpd.GeoDataFrame(joined, geometry="geometry", crs=parts[0].crs)
    return joined


def print_proposal(proposal: Proposal) -> None:
    p, sol, rep = proposal.params, proposal.solution, proposal.report
    names = "、".join(CATEGORY_NAMES_ZH.get(c, c) for c in p.categories)
    circle = ", ".join(f"{k.rsplit('_', 1)[1]} min = {v:g} m" for k, v in rep["thresholds_m"].items())
    say("")
    say(
        f"{sol.model.upper()} for {', '.join(p.categories)} ({names}); circle {circle}; distances: {proposal.method}"
    )
    gathered = ", ".join(f"{n} {s}" for s, n in rep["candidates_gathered"].items())
    dropped = ", ".join(f"{n} {r}" for r, n in rep["excluded"].items()) or "none"
    say(f"candidates: {gathered}; ruled out: {dropped}; {rep['candidates']} considered")
    print_islands(rep)
    if len(proposal.sites) == 0:
        say(f"no new site proposed: {sol.note or 'no candidate brings anyone new into the circle'}")
    else:
        sites = proposal.sites
        doubts = "residents_doubtful" in sites.columns and bool((sites["residents_doubtful"] > 0).any())
        rows = []
        for s in sites.itertuples():
            near = f"{s.nearest_station_name or s.nearest_station_id} ({s.nearest_station_m:,.0f} m)" if pd.notna(
                s.nearest_station_id) else "none reachable"  # fmt: skip
            rows.append(
                [s.rank, s.source, s.source_id, s.name or "", f"{s.geometry.x:.5f},{s.geometry.y:.5f}",
                 s.buildings_new, f"{s.households_new:,}", f"{s.residents_new:,}",
                 *([f"{s.residents_doubtful:,}"] if doubts else []), f"{s.gain:,.0f}", near]
            )  # fmt: skip
        headers = ["rank", "source", "id", "name", "lon,lat", "buildings", "households", "residents",
                   *(["of them doubtful"] if doubts else []), "gain", "nearest station"]  # fmt: skip
        print_table(
            rows,
            headers,
            title=f"proposed sites in order of choice — newly within the circle; gain in {OBJECTIVES[sol.model]}",
            right=[0, 5, 6, 7, 8, *([9] if doubts else [])],
        )
        if doubts:
            say("of them doubtful: residents of buildings whose homes are estimated from a footprint larger than "
                "homes have (`gridmap validate` names them): count them (a ledger) before building there")  # fmt: skip
    area = proposal.area_coverage()
    rows = [
        [r.category, r.category_zh, r.level, f"{r.residents:,}", percent(r.share_residents_before),
         percent(r.share_residents_after), f"{int(r.residents_new):+,}"]
        for r in area.itertuples()
    ]  # fmt: skip
    print_table(
        rows,
        ["category", "类别", "level", "residents", "before", "after", "newly covered"],
        title="whole area — share of residents within the circle, before and after",
        right=[2, 3, 4, 5, 6],
    )
    bound = f"bound {sol.bound:,.1f}, gap {100 * sol.gap:.2f}%"
    say(
        f"{sol.solver}: {sol.status}; objective {sol.objective:,.1f} {OBJECTIVES[sol.model]} ({bound}); "
        f"{sol.seconds:.2f} s; mean walk to the nearest station {rep['walk_minutes_before']} → "
        f"{rep['walk_minutes_after']} min" + (f"; {sol.note}" if sol.note else "")
    )


def print_scenarios(engine: Engine) -> None:
    frame = list_scenarios(engine)
    if frame.empty:
        say("no siting scenarios kept yet; run 'gridmap site'")
        return
    rows = [
        [r.id, f"{r.created_at:%Y-%m-%d %H:%M}", r.created_by, r.label or "", r.model, r.categories, r.levels,
         r.sites, r.status, f"{r.objective:,.1f}", whole(r.residents),
         percent(r.estimated)]
        for r in frame.itertuples()
    ]  # fmt: skip
    headers = [
        "scenario",
        "at (UTC)",
        "by",
        "label",
        "model",
        "categories",
        "levels",
        "sites",
        "status",
        "objective",
        "residents",
        "estimated",
    ]
    print_table(rows, headers, right=[0, 7, 9, 10, 11])


def print_comparison(engine: Engine, first: int, second: int, *, out: str | None = None) -> None:
    table, sites = compare_scenarios(engine, first, second)
    rows = [
        [r.category, r.category_zh, r.level, percent(r.share_residents_before),
         percent(getattr(r, f"share_residents_after_{first}")), percent(getattr(r, f"share_residents_after_{second}")),
         getattr(r, f"sites_{first}"), getattr(r, f"sites_{second}"), f"{int(r.residents_difference):+,}"]
        for r in table.itertuples()
    ]  # fmt: skip
    print_table(
        rows,
        [
            "category",
            "类别",
            "level",
            "before",
            f"after {first}",
            f"after {second}",
            f"sites {first}",
            f"sites {second}",
            f"residents {second} − {first}",
        ],
        title=f"siting scenario {first} against scenario {second}",
        right=[2, 3, 4, 5, 6, 7, 8],
    )
    counted = [(i, kept_homes(engine, i, siting_scenarios)) for i in (first, second)]
    if moved := counts_moved("scenario", *counted):
        say(moved)
    if "apart_m" in sites.columns:
        rows = [
            [r.rank, f"{r.residents_new:,}", getattr(r, f"nearest_rank_in_{second}"), f"{r.apart_m:,.0f}"]
            for r in sites.itertuples()
        ]
        print_table(
            rows,
            [f"site in {first}", "residents new", f"nearest in {second}", "metres apart"],
            right=[0, 1, 2, 3],
        )
    if out:
        written = write_frames({"scenario_comparison": table, "site_pairs": sites}, out)
        say("wrote " + ", ".join(str(w) for w in written))
