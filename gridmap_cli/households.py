"""`gridmap households`: where each building's homes come from, committees' ledgers, estimates."""

from __future__ import annotations

import sys

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, open_engine
from gridmap_cli.terminal import print_table

#: the doubtful estimates `gridmap households` lists
SHOWN = 10


def cmd_households(args, settings: Settings) -> int:
    from gridmap.households import HouseholdParams

    params = HouseholdParams.from_settings(settings)
    engine = open_engine(settings)
    if args.action == "ledger":
        return _ledger(engine, args, params)
    if args.action == "estimate":
        return _estimate(engine, args, params)
    return _show(engine, args, params)


def _show(engine, args, params) -> int:
    from gridmap.households import doubtful_estimates, home_origins, homes_by_area
    from gridmap.store.layers import read_layer

    buildings = read_layer(engine, "buildings")
    table = homes_by_area(buildings, read_layer(engine, "communities", columns=["code", "name"]))
    rows = [
        (r.code, r.name, r.buildings_with_homes, f"{r.households:,}", f"{r.residents:,}",
         f"{r.residents_given:,}", f"{r.residents_ledger:,}", f"{r.residents_estimate:,}")
        for r in table.itertuples()
    ]  # fmt: skip
    print_table(
        rows,
        ("code", "community", "buildings", "households", "residents", "given", "ledger", "estimated"),
        title="homes by community: residents given in the buildings' rows, from ledgers, or estimated",
        right=[2, 3, 4, 5, 6, 7],
    )
    origins = home_origins(buildings, read_layer(engine, "compounds", columns=[]))
    print(f"all buildings: {origins.describe()}")
    if uncounted := origins.uncounted():
        print(uncounted)
    if doubt := origins.doubt():
        doubtful = doubtful_estimates(buildings)
        shown = [(i, r.get("name") or "", r.get("use") or "", f"{r['footprint_m2']:,.0f}", int(r["levels"]),
                  f"{int(r['households']):,}") for i, r in doubtful.head(SHOWN).iterrows()]  # fmt: skip
        print_table(shown, ("id", "name", "use", "footprint m²", "levels", "households"),
                    title=f"doubtful estimates: {doubt}", right=[0, 3, 4, 5])  # fmt: skip
        if len(doubtful) > SHOWN:
            print(f"… and {len(doubtful) - SHOWN:,} more")
    print(f"estimates: {params.describe()}; levels from OSM building:levels, height, the type, "
          "or the city's default (GRIDMAP_DEFAULT_LEVELS)")  # fmt: skip
    if args.out:
        if not args.out.lower().endswith(".csv"):
            raise InputError(f"--out '{args.out}': expected a .csv file")
        from gridmap.io.export import write_csv

        write_csv(table, args.out)
        print(f"wrote {args.out}")
    return EXIT_OK


def _ledger(engine, args, params) -> int:
    from gridmap.io.ledger import import_ledger
    from gridmap.io.read import parse_field_map

    if not args.path or not args.by:
        raise InputError("gridmap households ledger FILE --by building|compound|community: give both")
    report = import_ledger(
        engine, args.path, by=args.by, params=params, encoding=args.encoding,
        field_map=parse_field_map(args.field_map), dry_run=args.dry_run,
    )  # fmt: skip
    rows = [
        (report.labels.get(line.unit, line.unit), f"{line.households:,}", f"{line.before:,}",
         f"{line.households - line.before:+,}", line.spread_over, line.fixed, line.note)
        for line in report.lines
    ]  # fmt: skip
    print_table(
        rows,
        (args.by, "ledger", "before", "difference", "spread over", "kept as given", "note"),
        title=f"ledger by {args.by}: households spread over the buildings by floor area",
        right=[1, 2, 3, 4, 5],
    )
    for problem in report.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    head = "dry run, nothing written: would set" if report.dry_run else "set"
    print(f"{head} the households of {report.buildings_changed:,} buildings from {args.path}")
    if report.buildings_added:
        from gridmap.io.ledger import PLACEHOLDER_SIDE_M

        n = report.buildings_added
        print(f"{'would add' if report.dry_run else 'added'} {n:,} building{'s' if n > 1 else ''} to hold the count "
              f"of {'compounds' if n > 1 else 'a compound'} with no building drawn: a square of "
              f"{PLACEHOLDER_SIDE_M:g} m at its point, marked generated (draw its buildings, and the next ledger "
              "spreads the count over them)")  # fmt: skip
    return EXIT_OK


def _estimate(engine, args, params) -> int:
    from gridmap.crs import metric_crs_for
    from gridmap.households import ESTIMATE, estimate_households
    from gridmap.store.engine import write_transaction
    from gridmap.store.layers import bump_version, lock_layer, read_layer, record_audit, update_rows

    columns = [
        "households",
        "residents",
        "households_from",
        "estimated",
        "levels",
        "levels_from",
        "floor_area_m2",
    ]
    opened = engine.connect() if args.dry_run else write_transaction(engine)
    with opened as conn:
        lock_layer(conn, "buildings")
        buildings = read_layer(conn, "buildings")
        open_ = buildings[buildings["households_from"].isna() | buildings["households_from"].eq(ESTIMATE)]
        if not len(open_):
            print("no building has estimated households: nothing to estimate")
            return EXIT_OK
        fresh = estimate_households(
            open_.assign(households=None, residents=None).to_crs(metric_crs_for(open_)), params
        )
        fresh = fresh.to_crs(buildings.crs)
        if not args.dry_run:
            update_rows(conn, "buildings", fresh, columns)
            record_audit(conn, user="cli", action="estimate", layer="buildings", count=len(fresh),
                         detail={"method": params.describe()})  # fmt: skip
            bump_version(conn, "buildings")
    before, after = int(open_["households"].fillna(0).sum()), int(fresh["households"].sum())
    head = "dry run, nothing written: would estimate" if args.dry_run else "estimated"
    print(f"{head} {len(fresh):,} buildings: {before:,} → {after:,} households ({params.describe()})")
    return EXIT_OK
