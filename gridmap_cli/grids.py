"""Grid and organisation commands: validate, org report, grids propose and align."""

from __future__ import annotations

import sys
from pathlib import Path

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_FINDINGS, EXIT_OK, homes_counted, open_engine
from gridmap_cli.terminal import percent, print_table


def cmd_validate(args, settings: Settings) -> int:
    from gridmap.households import home_origins
    from gridmap.io.export import write_frame
    from gridmap.store.layers import read_layer
    from gridmap.topology import CHECKED_LAYERS, ERROR, KINDS, Tolerances, check_grid_map

    engine = open_engine(settings)
    layers = {name: read_layer(engine, name) for name in CHECKED_LAYERS}
    tolerances = Tolerances.from_settings(settings)
    findings = check_grid_map(layers, tolerances)
    print(homes_counted(home_origins(layers["buildings"], layers["compounds"])))
    if findings.empty:
        print("the grid map is sound: no findings")
    else:
        counts = findings.groupby(["severity", "kind"], sort=False).agg(
            n=("kind", "size"), example=("message", "first")
        )
        rows = [(sev, kind, KINDS[kind][1], n, ex) for (sev, kind), (n, ex) in counts.iterrows()]
        print_table(rows, ("severity", "kind", "meaning", "findings", "first of them"), right=[3])
    if args.out:
        path = write_frame(findings, args.out, layer="findings")
        print(f"wrote {len(findings)} findings to {path}")
    errors = int((findings["severity"] == ERROR).sum())
    if errors:
        print(f"{errors} errors, {len(findings) - errors} warnings", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


#: the figures printed per unit on the terminal (all of them go to --out)
HEADLINE = ("branches", "compounds_with_branch", "building_groups", "central_households", "member_building_leaders",
            "one_shoulder", "in_service_registered", "households_linked", "needs_done", "points")  # fmt: skip
UNIT_LAYERS = {"district": "districts", "street": "streets", "community": "communities", "grid": "grids"}


def _figure_cell(count: object, total: object, share: object) -> str:
    """``count`` or ``count/total share``; "—" where the unit has nothing to count."""
    import pandas as pd

    if pd.isna(count):
        return "—"
    if pd.isna(total):
        return f"{int(count):,}"
    return f"{int(count):,}/{int(total):,} {percent(share)}"


def cmd_org(args, settings: Settings) -> int:
    import datetime as dt

    from gridmap.households import home_origins
    from gridmap.io.export import REPORT_SUFFIXES, write_frames
    from gridmap.organisation import ORG_LAYERS, ReportOptions, figures_by_unit, organisation_report
    from gridmap.store.layers import read_layer

    if args.out and Path(args.out).suffix.lower() not in REPORT_SUFFIXES:
        raise InputError(f"--out '{args.out}': expected a {' or '.join(REPORT_SUFFIXES)} file")
    try:
        on = dt.date.fromisoformat(args.on) if args.on else None
    except ValueError:
        raise InputError(f"--on '{args.on}' is not a date as YYYY-MM-DD") from None
    if args.min_households is not None and args.base != "households":
        raise InputError("--min-households goes with --base households")
    options = ReportOptions(on=on, base=args.base, min_households=args.min_households or 0)
    engine = open_engine(settings)
    layers = {name: read_layer(engine, name) for name in ORG_LAYERS}
    report = organisation_report(layers, options)
    print(homes_counted(home_origins(layers["buildings"])))
    labels = report.labels
    rows = [(r.figure, r.figure_zh, _figure_cell(r.count, r.total, r.share), _missing(r.missing))
            for r in report.area().itertuples()]  # fmt: skip
    base = {"all": "all compounds", "property": "compounds with a property company",
            "households": f"compounds of {options.min_households}+ households"}[options.base]  # fmt: skip
    title = f"party-building figures, whole area, as on {on or 'today'} (compound base: {base})"
    print_table(rows, ("figure", "指标", "count", "missing (ids)"), title=title, right=[2])
    table = figures_by_unit(report, args.by)
    if len(table):
        shown = [f for f in HEADLINE if f in table.columns]
        rows = [
            (r["code"], r["name"], *(_figure_cell(r[f], r.get(f"{f}_total"), r.get(f"{f}_share", 0.0))
                                     for f in shown))
            for _, r in table.iterrows()
        ]  # fmt: skip
        print_table(rows, ("code", args.by, *(labels[f][1] for f in shown)), title=f"by {args.by}",
                    right=range(2, 2 + len(shown)))  # fmt: skip
    load = report.leader_load
    for role, group in load.groupby("role"):
        print(
            f"{role}: {len(group)} people, households each {group['households'].min():,.0f}–"
            f"{group['households'].max():,.0f} (mean {group['households'].mean():,.0f}; "
            f"most loaded {group.loc[group['households'].idxmax(), 'person_name']} at "
            f"{group['ratio_to_mean'].max():.1f}× the mean)"
        )
    if args.out:
        by_unit = table
        if Path(args.out).suffix.lower() == ".gpkg":  # the units' outlines with their figures, for a map
            import geopandas as gpd

            units = read_layer(engine, UNIT_LAYERS[args.by], columns=["code"]) if args.by != "area" else None
            if units is not None:
                shapes = units.set_index("id").geometry.reindex(table["unit_id"].astype("Int64")).to_numpy()
                by_unit = gpd.GeoDataFrame(table, geometry=list(shapes), crs=units.crs)
        frames = {"org_figures": report.figures, f"org_by_{args.by}": by_unit, "org_leader_load": load,
                  "org_skills": report.skills}  # fmt: skip
        frames |= {
            f"missing_{k}": v.reset_index(drop="id" in v.columns, names="id")
            for k, v in report.missing.items()
            if len(v)
        }
        written = write_frames(frames, args.out)
        print("wrote " + ", ".join(str(w) for w in written))
    return EXIT_OK


def _missing(ids: str) -> str:
    parts = [p for p in str(ids or "").split(",") if p]
    return " ".join(parts[:8]) + (f" … ({len(parts)})" if len(parts) > 8 else "")


def households_range(text: str | None, settings: Settings) -> tuple[int, int]:
    if text is None:
        return settings.grid_households_min, settings.grid_households_max
    lo, sep, hi = text.partition("-")
    if not sep or not lo.strip().isdigit() or not hi.strip().isdigit() or int(lo) > int(hi) or int(lo) < 1:
        raise InputError(f"--households {text!r}: expected MIN-MAX, two whole numbers with 1 <= MIN <= MAX")
    return int(lo), int(hi)


def cmd_grids(args, settings: Settings) -> int:
    if args.action == "propose":
        return cmd_grids_propose(args, settings)
    from gridmap.io.export import write_frames
    from gridmap.store.layers import read_layer
    from gridmap.topology import grid_alignment

    if len(args.kinds) != 2:
        raise InputError("grids align needs two grid kinds, e.g. `gridmap grids align party comprehensive`")
    engine = open_engine(settings)
    grids, buildings = (read_layer(engine, n) for n in ("grids", "buildings"))
    a, b = args.kinds
    result = grid_alignment(grids, a, b, buildings, tolerance_m=args.tolerance)
    table = result.grids
    rows = []
    for kind, part in table.groupby("kind", sort=False):
        rows.append((kind, len(part), int(part["nested"].sum()), f"{part['share_in_match'].mean():.1%}"))
    print_table(
        rows,
        ("kind", "grids", "nested in one grid of the other", "mean share in best match"),
        right=[1, 2, 3],
    )
    print(
        f"inner borders: {a} {result.boundary_a_m:,.0f} m, {b} {result.boundary_b_m:,.0f} m; shared "
        f"{result.shared_m:,.0f} m ({result.shared_share_a:.1%} of {a}'s, {result.shared_share_b:.1%} of {b}'s); "
        f"{len(result.split_buildings)} buildings kept whole by one network and split by the other"
    )
    if args.out:
        frames = {"alignment_grids": table, "split_buildings": result.split_buildings}
        print("wrote " + ", ".join(str(w) for w in write_frames(frames, args.out)))
    return EXIT_OK


def cmd_grids_propose(args, settings: Settings) -> int:
    from gridmap.gridplan import community_named, grid_kind, grid_level, propose_grids
    from gridmap.io.export import write_frames
    from gridmap.store.gridplans import apply_grid_plan
    from gridmap.store.layers import read_layer

    if not args.community:
        raise InputError("grids propose needs --community NAME_OR_CODE")
    grid_level(args.level)
    households = households_range(args.households, settings)
    engine = open_engine(settings)
    community = community_named(read_layer(engine, "communities"), args.community)
    cid = int(community["id"].iloc[0])
    grids = read_layer(engine, "grids")
    own = grids[grids["community_id"] == cid]
    kind = (
        grid_kind(args.kind)
        if args.kind
        else (own["kind"].mode().iloc[0] if own["kind"].notna().any() else "comprehensive")
    )
    existing = own[(own["kind"] == kind) & (own["level"] == args.level)]
    plan = propose_grids(
        community,
        read_layer(engine, "buildings"),
        compounds=read_layer(engine, "compounds"),
        roads=read_layer(engine, "roads"),
        existing=existing,
        households=households,
        fresh=args.fresh,
        seed=args.seed,
        taken=grids["code"],
    )
    name = community["name"].iloc[0]
    lo, hi = households
    print(f"{name} ({plan.community_code}): {len(plan.grids)} {kind} grids for {lo}-{hi} households each")
    rows = [
        (
            r.code,
            r.status,
            r.households,
            r.buildings,
            f"{r.area_m2 / 10_000:.1f}",
            "yes" if r.in_range else "NO",
        )
        for r in plan.grids.itertuples()
    ]
    print_table(rows, ("code", "status", "households", "buildings", "area ha", "in range"), right=[2, 3, 4])
    if len(plan.lineage):
        lineage = [
            (r.old_code or "-", r.new_code, r.relation, int(r.households), f"{r.area_m2 / 10_000:.1f}")
            for r in plan.lineage.itertuples()
        ]
        print_table(lineage, ("from", "to", "relation", "households", "area ha"), right=[3, 4])
    if plan.retired:
        print("retired: " + ", ".join(plan.retired))
    for note in plan.notes:
        print(f"note: {note}")
    if args.out:
        frames = {"proposed_grids": plan.grids, "grid_lineage": plan.lineage}
        print("wrote " + ", ".join(str(w) for w in write_frames(frames, args.out)))
    if args.apply:
        done = apply_grid_plan(
            engine, plan, community_id=cid, kind=kind, level=args.level, user="cli", end_terms=args.end_terms
        )
        if done.added or done.retired:
            print(
                f"applied: {len(done.kept)} grids kept, {len(done.added)} added, {len(done.retired)} retired; "
                "lineage recorded"
            )
        else:
            print("nothing to apply: every grid stays as it is")
        for term in done.ended_terms:
            print(f"ended: {term}")
        for account in done.accounts:
            print(
                f"note: account {account} names a retired grid; give it the new grid codes", file=sys.stderr
            )
    return EXIT_OK
