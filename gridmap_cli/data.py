"""Data commands: db, import, import-osm, export, layers and demo."""

from __future__ import annotations

import sys

from gridmap.model import LAYER_SPECS
from gridmap.settings import Settings, shown_url
from gridmap_cli.common import EXIT_OK, doubtful_homes, open_engine
from gridmap_cli.coverage import coverage_params
from gridmap_cli.service import check_address, demo_maps, serve
from gridmap_cli.siting import site_params
from gridmap_cli.terminal import print_table


def cmd_db(args, settings: Settings) -> int:
    from gridmap.store.schema import init_db, upgrade_db

    engine = open_engine(settings)
    if args.action == "init":
        revision = init_db(engine)
    else:
        upgrade_db(engine)
        from gridmap.store.revision import head_revision

        revision = head_revision()
    print(f"database {shown_url(settings.database_url)} is at schema revision {revision}")
    return EXIT_OK


def cmd_import(args, settings: Settings) -> int:
    from gridmap.io.importer import import_layer
    from gridmap.io.read import parse_field_map

    report = import_layer(
        open_engine(settings),
        args.layer,
        args.path,
        source_crs=args.source_crs,
        field_map=parse_field_map(args.field_map),
        fix=args.fix,
        mode="replace" if args.replace else "merge",
        key=args.key,
        orphans=args.orphans,
        dry_run=args.dry_run,
        file_layer=args.file_layer,
        margin_m=settings.district_margin_m,
        encoding=args.encoding,
    )
    for problem in report.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    if doubt := doubtful_homes(report.plan):
        print(f"warning: {doubt}", file=sys.stderr)
    for problem in report.fixes:
        print(f"fixed: {problem}", file=sys.stderr)
    if report.plan.orphans:
        print(f"unlinked {len(report.plan.orphans)} link(s) to removed features", file=sys.stderr)
    head = "dry run, nothing written: would change" if report.dry_run else "imported"
    print(f"{head} {report.plan.describe()} from {args.path}")
    return EXIT_OK


def cmd_import_osm(args, settings: Settings) -> int:
    from gridmap.households import HouseholdParams
    from gridmap.io.osm_import import import_osm
    from gridmap.store.schema import init_db

    engine = open_engine(settings)
    init_db(engine)
    report = import_osm(
        engine,
        args.path,
        bbox=args.bbox,
        network_buffer_m=args.network_buffer,
        source=args.source,
        orphans=args.orphans,
        households=HouseholdParams.from_settings(settings),
        dry_run=args.dry_run,
    )
    w, s, e, n = report.area.bounds
    head = "dry run, nothing written: would change" if report.dry_run else "imported"
    print(f"{head} source '{report.source}' over {w:.4f},{s:.4f},{e:.4f},{n:.4f}")
    rows = [(name, *plan.counts.values()) for name, plan in report.plans.items()]
    print_table(rows, ("layer", "added", "updated", "removed", "unchanged"), right=[1, 2, 3, 4])
    unlinked = sum(len(p.orphans) for p in report.plans.values())
    if unlinked:
        print(f"unlinked {unlinked} link(s) to features the extract no longer holds", file=sys.stderr)
    buildings = report.plans["buildings"]
    if len(buildings.add) or buildings.update:
        print(f"households of new buildings estimated from {HouseholdParams.from_settings(settings).describe()}; "
              "see `gridmap households`")  # fmt: skip
    if doubt := doubtful_homes(buildings):
        print(f"warning: {doubt}", file=sys.stderr)
    return EXIT_OK


def cmd_export(args, settings: Settings) -> int:
    from gridmap.io.export import export_layer

    count = export_layer(open_engine(settings), args.layer, args.path)
    print(f"exported {count} feature(s) of {args.layer} to {args.path}")
    return EXIT_OK


def demo_exists(engine) -> bool:
    from gridmap.store.layers import layer_counts
    from gridmap.store.revision import current_revision

    return current_revision(engine) is not None and layer_counts(engine)["grids"] > 0


def cmd_demo(args, settings: Settings) -> int:
    from gridmap.demo.build import build_demo

    if args.action == "serve":
        check_address(args.host, args.port)  # a port in use is said before the demo is built, not after
    engine = open_engine(settings)
    if args.action == "build" or not demo_exists(engine):
        counts, seconds = build_demo(engine, settings)
        print(f"built the demo district in {seconds:.1f} s into {shown_url(settings.database_url)}")
        print_table(
            [(k, LAYER_SPECS[k].title_zh, v) for k, v in counts.items()],
            ("layer", "名称", "features"),
            right=[2],
        )
        from gridmap_cli import coverage_report

        coverage_report.run_and_print(engine, coverage_params(settings), label="demo baseline")
        from gridmap_cli import siting_report as site_report

        site_report.run_and_print(engine, site_params(settings), label="demo proposals", brief=True)
        demo_maps(engine, settings)
    else:  # a demo database from an older version: bring its schema up to date
        from gridmap.store.schema import upgrade_db

        upgrade_db(engine)
    demo_accounts(engine, args.host, args.port)
    if args.action == "build":
        return EXIT_OK
    return serve(settings, args.host, args.port, args.workers)


def demo_accounts(engine, host: str, port: int) -> None:
    from gridmap.demo.accounts import demo_accounts

    rows = [(n, r, p, ", ".join(g)) for n, r, p, g in demo_accounts(engine)]
    print(f"web map: http://{host}:{port}/  — sign in with one of these demo accounts:")
    print_table(rows, ("user", "role", "password", "grids"))


def cmd_layers(args, settings: Settings) -> int:
    from gridmap.store.layers import layer_counts

    counts = layer_counts(open_engine(settings))
    print_table(
        [(k, LAYER_SPECS[k].title_zh, v) for k, v in counts.items()], ("layer", "名称", "features"), right=[2]
    )
    return EXIT_OK
