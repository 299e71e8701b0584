"""What ``gridmap coverage`` prints: the coverage table, compound checks, the largest gaps,
what could not be measured, and comparisons of stored runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine

from gridmap.coverage import CoverageParams, CoverageResult, compute_coverage, pair_thresholds, result_frames
from gridmap.errors import InputError
from gridmap.households import HomeOrigins
from gridmap.io.export import write_frames
from gridmap.model import CATEGORY_NAMES_ZH
from gridmap.standards import Checklist, load_checklist
from gridmap.store.inputs import load_inputs
from gridmap.store.runs import (
    compare_runs,
    fail_run,
    finish_run,
    inputs_used,
    kept_homes,
    list_runs,
    save_run,
    save_walks,
    start_run,
    stored_inputs_used,
)
from gridmap_cli.common import counts_moved, homes_counted, require_people, settle
from gridmap_cli.terminal import percent, print_table, progress_bar, say, whole

if TYPE_CHECKING:
    from gridmap.scale.coverage import PartWalks

MARKS = {True: "▲", False: "△"}


def _mark(checklist: Checklist, category: str, level: int) -> str:
    item = checklist.level(level).item(category)
    return MARKS[item.required] if item else " "


@dataclass(frozen=True)
class InParts:
    """How a run is cut and where its parts walk: ``workers`` local processes, or the Dask
    scheduler at ``cluster``; by district unless ``tile_km`` (or there are no districts);
    walks kept in ``cache`` for the next run."""

    workers: int | None = None
    cluster: str | None = None
    tile_km: float | None = None
    cache: Path | None = None


def run_and_print(
    engine: Engine,
    params: CoverageParams,
    *,
    by: str | None = None,
    out: str | None = None,
    save: bool = True,
    label: str | None = None,
    area=None,
    parts: InParts | None = None,
    database_url: str | None = None,
) -> int | None:
    """Run coverage on the stored layers (those of ``area``, EPSG:4326, when given), print the
    summary, keep the run; returns its id. With ``parts``, the run is cut into parts that
    walk on a Dask cluster over the database at ``database_url``."""
    if out and Path(out).suffix.lower() not in (".gpkg", ".csv"):
        raise InputError(f"--out '{out}': expected a .gpkg or .csv file")
    checklist = load_checklist()
    if parts is not None:
        if area is not None:
            raise InputError("a run in parts covers the whole database: leave out --bbox and --district")
        used = stored_inputs_used(engine)
        result, run_id = _run_in_parts(
            engine, database_url or "", params, checklist, parts, used, save, label
        )
    else:
        inputs = load_inputs(engine)
        if area is not None:
            walk = params.walking
            inputs = inputs.within(area, walk.metres(max(params.levels)) + walk.max_snap_m)
        require_people(inputs.buildings, "a coverage run")
        settle()  # the layers read stay for the whole run
        with progress_bar() as progress:
            # the homes' results and the figures are written while the circles are still drawn
            result = compute_coverage(
                inputs, params, checklist=checklist, progress=progress, circles_later=save
            )
            used = inputs_used(inputs)
            run_id = save_run(engine, result, used, user="cli", label=label) if save else None
    origins = HomeOrigins.from_record(used["homes"])  # what the homes' count held, as the run keeps it
    _print_result(result, checklist, by, homes_counted(origins))
    if run_id is not None:
        say(
            f"kept as coverage run {run_id}; compare later with: gridmap coverage compare {run_id} <other run>"
        )
    if out:
        written = write_frames({**result_frames(result), "homes_counted": origins.row()}, out)
        say("wrote " + ", ".join(str(w) for w in written))
    return run_id


def _print_result(result: CoverageResult, checklist: Checklist, by: str | None, counted: str) -> None:
    p, rep = result.params, result.report
    homes = result.homes
    say(
        f"coverage of {len(homes):,} homes ({int(homes['households'].sum()):,} households, "
        f"{int(homes['residents'].sum()):,} residents), from {p.walking.origin}s, walking {p.walking.speed_mps:g} m/s, "
        f"measure: {p.measure}; checklist v{result.checklist_version} ({checklist.standard})"
    )
    say(counted)
    if "partitions" in rep:
        cut = rep["partitions"]
        reused = sum(part["reused"] for part in cut["parts"])
        say(
            f"walked in {len(cut['parts'])} parts ({reused} kept from the last run) with a halo of "
            f"{cut['halo_m']:,.0f} m in {cut['seconds']:.1f} s; walks beyond {p.reach_m:,.0f} m are not followed"
        )
        if len(result.gaps):
            drawn = cut.get("gaps_drawn", 0)
            say(f"{drawn:,} of the {len(result.gaps):,} gaps drawn in the parts; the {len(result.gaps) - drawn:,} "
                "at a part's border once the parts were gathered")  # fmt: skip
    elif result.method == "network":
        say(
            f"walking network: {rep['network_nodes']:,} nodes, {rep['network_edges']:,} edges, "
            f"{rep['network_km']:,} km; {rep['islands']} disconnected islands ({rep['island_km']} km)"
        )
    if result.method != "network":
        say(f"distances: {result.method}")
    _print_area(result.summary, checklist, p.levels)
    if by:
        _print_units(result.summary, by, p.levels)
    _print_compounds(result.compounds)
    _print_gaps(result.gaps)
    print_islands(rep)
    _print_problems(rep)


def _run_in_parts(
    engine: Engine, url: str, params: CoverageParams, checklist: Checklist, how: InParts,
    used: dict[str, Any], save: bool, label: str | None,
) -> tuple[CoverageResult, int | None]:  # fmt: skip
    """Cut the database's homes into parts, walk them on the cluster, keep each part's
    results as it arrives (readable while the run goes on), then the figures; the run kept
    says it read ``used`` (:func:`~gridmap.store.runs.stored_inputs_used`)."""
    from gridmap.scale.cluster import dask_client
    from gridmap.scale.coverage import cut_for, partitioned_coverage, run_params
    from gridmap.scale.sources import StoreSource, close_engines

    params = run_params(params, checklist)
    source = StoreSource(url)
    cut = cut_for(source, params, checklist, tile_m=None if how.tile_km is None else how.tile_km * 1000.0)
    thresholds = pair_thresholds(params, checklist)
    run_id: int | None = None

    def keep(part: PartWalks) -> None:
        if run_id is not None and part.walks is not None:
            save_walks(engine, run_id, part.walks, thresholds)

    def tell(key: str, done: int, total: int, what: str) -> None:
        say(f"part {key}: {what} ({done}/{total})")

    try:
        with dask_client(workers=how.workers, address=how.cluster) as client:
            if save:  # the run is kept once its cluster answers
                run_id = start_run(engine, params, used, checklist.version, user="cli", label=label)
            result = partitioned_coverage(
                source, cut, params, checklist=checklist, client=client, cache=how.cache, progress=tell,
                on_part=keep,
            )  # fmt: skip
    except BaseException as error:
        if run_id is not None:
            fail_run(engine, run_id, error)
        raise
    finally:
        close_engines()
    if run_id is not None:
        finish_run(engine, run_id, result)
    return result, run_id


def _print_area(summary: pd.DataFrame, checklist: Checklist, levels) -> None:
    area = summary[summary["scope"] == "area"]
    headers = ["category", "类别"]
    for level in levels:
        headers += [f"{level}分钟 居民覆盖", f"{level}分钟 未覆盖居民"]
    figures = {  # (category, level): (share, residents left out)
        (category, level): (share, residents - covered)
        for category, level, share, residents, covered in zip(
            area["category"], area["level"], area["share_residents"], area["residents"],
            area["residents_covered"], strict=True,
        )
    }  # fmt: skip
    rows = []
    for category in area["category"].unique():
        row = [category, CATEGORY_NAMES_ZH.get(category, category)]
        for level in levels:
            share, left_out = figures[(category, level)]
            row += [f"{percent(share)} {_mark(checklist, category, level)}", f"{left_out:,}"]
        rows.append(row)
    method = area["method"].iloc[0] if len(area) else ""
    print_table(
        rows,
        headers,
        title=f"whole area — share of residents within the walk (▲ required, △ optional at that level); {method}",
        right=range(2, len(headers)),
    )


def _print_units(summary: pd.DataFrame, scope: str, levels) -> None:
    part = summary[summary["scope"] == scope]
    if part.empty:
        say(f"no {scope} layer to group by")
        return
    for level in levels:
        table = part[part["level"] == level].pivot_table(
            index=["code", "name"], columns="category", values="share_residents", sort=False
        )
        rows = [
            [code, name, *(percent(v) for v in values)]
            for (code, name), values in zip(table.index, table.values, strict=True)
        ]
        print_table(
            rows,
            ["code", "name", *table.columns],
            title=f"{level}-minute share of residents by {scope}",
            right=range(2, 2 + len(table.columns)),
        )


def _print_compounds(compounds: pd.DataFrame) -> None:
    if compounds.empty:
        return
    rows = []
    for check, part in compounds.groupby("check", sort=False):
        failing = part[~part["passes"]]
        common = failing["missing_zh"].str.split("、").explode().value_counts().head(3)
        rows.append(
            [
                check,
                f"{int(part['passes'].sum())} / {len(part)}",
                "、".join(f"{k} ({v})" for k, v in common.items()),
            ]
        )
    print_table(
        rows,
        ["check", "compounds passing", "most often missing"],
        title="compounds against the checklist",
        right=[1],
    )


def _print_gaps(gaps: pd.DataFrame, top: int = 8) -> None:
    if gaps.empty:
        say("no service gaps")
        return
    largest = gaps.sort_values("residents", ascending=False).head(top)
    rows = [
        [g.category, g.category_zh, g.level, g.homes, f"{g.households:,}", f"{g.residents:,}"]
        for g in largest.itertuples()
    ]
    unknown = int(((gaps["households"] == 0) & (gaps["residents"] == 0)).sum())
    said = (
        f" ({unknown:,} of them hold no one known: compounds mapped without buildings of homes)"
        if unknown
        else ""
    )
    print_table(
        rows,
        ["category", "类别", "level", "homes", "households", "residents"],
        title=f"largest of {len(gaps):,} service gaps{said}",
        right=[2, 3, 4, 5],
    )


def print_islands(report: dict, top: int = 8) -> None:
    rows = report.get("islands_with_homes") or []
    if rows:
        print_table(
            [(r["island"], r["km"], r["homes"], f"{r['residents']:,}", r["facilities"]) for r in rows[:top]],
            ("island", "km", "homes", "residents", "facilities on it"),
            title=(
                "1 island of the network cut off from its main part holds"
                if len(rows) == 1
                else f"{len(rows)} islands of the network cut off from its main part hold"
            )
            + " homes: they reach only the facilities on their own island (add the missing links to the roads layer)",
            right=[0, 1, 2, 3, 4],
        )


def _print_problems(report: dict) -> None:
    for key, one, many, text in (
        ("homes_unattached", "home", "homes", "farther than the snap distance from any street (not covered)"),
        ("homes_on_islands", "home", "homes", "on streets cut off from the main network"),
        (
            "facilities_unattached",
            "facility",
            "facilities",
            "farther than the snap distance from any street (not used)",
        ),
    ):
        ids = report.get(key) or []
        if ids:  # a home is named by kind ("compound 19"); a facility, or a home of an older run, by id
            shown = ", ".join(f"{one} {i}" if isinstance(i, int) else str(i) for i in ids[:10])
            count = f"1 {one}" if len(ids) == 1 else f"{len(ids)} {many}"
            say(f"{count} {text}: {shown}{' …' if len(ids) > 10 else ''}")


def print_runs(engine: Engine) -> None:
    runs = list_runs(engine)
    if runs.empty:
        say("no coverage runs kept yet; run 'gridmap coverage'")
        return
    rows = [
        [
            r.id,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            r.created_by,
            r.label if isinstance(r.label, str) else "",
            r.levels,
            r.speed_mps,
            r.origin,
            r.method,
            whole(r.residents),
            percent(r.estimated),
        ]
        for r in runs.itertuples()
    ]
    print_table(rows, ["run", "at (UTC)", "by", "label", "levels", "m/s", "origin", "method", "residents", "estimated"],
                right=[0, 8, 9])  # fmt: skip


def print_comparison(engine: Engine, before: int, after: int, *, out: str | None = None) -> None:
    table, changed = compare_runs(engine, before, after)
    moved = table[(table["residents_gained"] != 0)]
    rows = [
        [
            r.category,
            r.category_zh,
            r.level,
            percent(r.share_residents_before),
            percent(r.share_residents_after),
            f"{int(r.residents_gained):+,}",
        ]
        for r in moved.itertuples()
    ]
    if rows:
        print_table(
            rows,
            ["category", "类别", "level", f"run {before}", f"run {after}", "residents"],
            title=f"coverage run {before} → run {after}",
            right=[2, 3, 4, 5],
        )
    else:
        say(f"runs {before} and {after} cover the same residents")
    if moved_count := counts_moved(
        "run", (before, kept_homes(engine, before)), (after, kept_homes(engine, after))
    ):
        say(moved_count)
    gained = changed[changed["newly_covered"]]
    lost = changed[~changed["newly_covered"]]
    say(
        f"{gained[['home_kind', 'feature_id']].drop_duplicates().shape[0]} homes newly covered, {lost[['home_kind', 'feature_id']].drop_duplicates().shape[0]} no longer covered"
    )
    if out:
        written = write_frames({"comparison": table, "changed_homes": changed}, out)
        say("wrote " + ", ".join(str(w) for w in written))
