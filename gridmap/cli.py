"""The ``gridmap`` command line (DESIGN §7).

Exit codes: 0 success, 1 problems found in the data (validate), 2 bad usage or bad input,
with a message on stderr that names what was wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gridmap.errors import GridmapError, InputError
from gridmap.model import LAYER_SPECS, LAYERS, UserRole
from gridmap.settings import Settings
from gridmap.terminal import percent, print_table

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 as well; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"gridmap: error: {message}\n")


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not W,S,E,N in degrees (EPSG:4326)") from None
    if not (west < east and south < north):
        raise argparse.ArgumentTypeError(f"'{text}': expected west < east and south < north")
    return west, south, east, north


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gridmap", description="Community governance on the map.")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: $GRIDMAP_DATABASE_URL or sqlite:///gridmap.sqlite)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    db = sub.add_parser("db", help="create or upgrade the database schema")
    db.add_argument("action", choices=["init", "upgrade"])

    imp = sub.add_parser(
        "import", help="import a GeoPackage, GeoJSON, Shapefile (.shp/.zip) or CSV into a layer"
    )
    imp.add_argument("layer", choices=LAYERS, metavar="LAYER", help=f"one of: {', '.join(LAYERS)}")
    imp.add_argument("path", metavar="PATH")
    imp.add_argument(
        "--source-crs", metavar="CRS", help="CRS of the file: EPSG:4490, EPSG:4326, gcj02, bd09, …"
    )
    imp.add_argument("--field-map", metavar="A=B,…", help="rename file fields to layer columns")
    imp.add_argument("--fix", action="store_true", help="repair invalid geometry with make_valid")
    imp.add_argument("--layer", dest="file_layer", metavar="NAME", help="layer of a multi-layer file")
    imp.add_argument("--replace", action="store_true", help="replace the layer's features instead of adding")

    osm = sub.add_parser(
        "import-osm", help="load roads, buildings, compounds, facilities, entrances from OSM"
    )
    osm.add_argument("path", metavar="PATH", help=".osm, .osm.gz or .osm.pbf")
    osm.add_argument("--bbox", type=_bbox, metavar="W,S,E,N", help="area of interest (EPSG:4326)")
    osm.add_argument(
        "--network-buffer",
        type=float,
        default=500.0,
        metavar="M",
        help="walking network reaches this far beyond the bbox (m)",
    )

    exp = sub.add_parser("export", help="export a layer to .gpkg, .geojson or .csv")
    exp.add_argument("layer", choices=LAYERS, metavar="LAYER")
    exp.add_argument("path", metavar="PATH")

    demo = sub.add_parser("demo", help="build the demo district (if needed) and serve it")
    demo.add_argument("action", nargs="?", choices=["build", "serve"], default="serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)

    serve = sub.add_parser("serve", help="serve the API and web map")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    sub.add_parser("layers", help="list the layers and their feature counts")
    _coverage_parser(sub)
    _site_parser(sub)
    _map_parser(sub)
    org = sub.add_parser("org", help="party-building figures: branches, groups, leaders, 双报到, 1+10")
    org.add_argument("action", choices=["report"])
    org.add_argument("--by", choices=["street", "community"], default="community", help="also per unit")
    org.add_argument("--out", metavar="PATH", help="write figures and missing features to .gpkg or .csv")
    _grids_parser(sub)
    user = sub.add_parser("user", help="accounts of the web service")
    user.add_argument("action", choices=["add", "list", "password", "unlock"])
    user.add_argument("name", nargs="?", metavar="NAME")
    user.add_argument(
        "--role", choices=[r.value for r in UserRole], help="admin, planner, grid_leader or public"
    )
    user.add_argument("--grid", action="append", metavar="CODE", help="a grid leader's grid (repeatable)")
    user.add_argument(
        "--password", help="the password (default: GRIDMAP_PASSWORD, or asked for on a terminal)"
    )
    val = sub.add_parser("validate", help="check the grid map's integrity; exit 1 when errors are found")
    val.add_argument("--out", metavar="PATH", help="write the findings to .geojson, .gpkg or .csv")
    return parser


def _grids_parser(sub) -> None:
    grids = sub.add_parser(
        "grids", help="work grids: draw a community's grids, or how two networks align (多网合一)"
    )
    grids.add_argument("action", choices=["propose", "align"])
    grids.add_argument(
        "kinds", nargs="*", metavar="KIND", help="align: two grid kinds, e.g. party comprehensive"
    )
    grids.add_argument("--community", metavar="NAME_OR_CODE", help="propose: the community to draw")
    grids.add_argument(
        "--households",
        metavar="MIN-MAX",
        help="propose: households per grid (default from the settings, 300-500)",
    )
    grids.add_argument(
        "--kind", help="propose: grid kind (default: the community's grids' kind, else comprehensive)"
    )
    grids.add_argument("--level", type=int, default=1, help="propose: grid level (default 1)")
    grids.add_argument(
        "--fresh", action="store_true", help="propose: redraw every grid, not only unsound ones"
    )
    grids.add_argument("--seed", type=int, default=0, help="propose: random seed of the zoning search")
    grids.add_argument("--apply", action="store_true", help="propose: replace the grids with the drawing")
    grids.add_argument(
        "--end-terms", action="store_true", help="propose --apply: end terms in office on retired grids"
    )
    grids.add_argument(
        "--tolerance", type=float, default=5.0, metavar="M", help="align: borders this close coincide"
    )
    grids.add_argument(
        "--out", metavar="PATH", help="write the drawing and lineage, or the alignment (.gpkg, .csv)"
    )


def _coverage_parser(sub) -> None:
    from gridmap.coverage import MEASURES, ORIGIN_MODES
    from gridmap.standards import LEVELS

    cov = sub.add_parser(
        "coverage",
        help="15-minute service circle: walking coverage, gaps and circles (or list / compare runs)",
        description="Compute coverage (default), list stored runs ('runs'), or compare two runs "
        "('compare BEFORE AFTER').",
    )
    cov.add_argument("action", nargs="?", choices=["run", "runs", "compare"], default="run")
    cov.add_argument("run_ids", nargs="*", type=int, metavar="RUN", help="two run ids for 'compare'")
    cov.add_argument(
        "--level", type=int, nargs="+", action="extend", choices=LEVELS, help="life-circle levels (minutes)"
    )
    cov.add_argument(
        "--category",
        nargs="+",
        action="extend",
        metavar="C",
        help="service category ids (default: all the checklist names)",
    )
    cov.add_argument(
        "--speed", metavar="MPS", help="walking speed in m/s, or 'elderly' (default: GRIDMAP_WALK_SPEED_MPS)"
    )
    cov.add_argument(
        "--origin",
        choices=ORIGIN_MODES,
        default="building",
        help="start from buildings, or from compound gates",
    )
    cov.add_argument(
        "--measure",
        choices=MEASURES,
        default="time",
        help="covered within the level's minutes, or the standard's radius",
    )
    cov.add_argument("--by", choices=["street", "community", "grid"], help="also print shares per unit")
    cov.add_argument("--out", metavar="PATH", help="write results to .gpkg (layers) or .csv (files)")
    cov.add_argument("--label", help="a note stored with the run")
    cov.add_argument("--no-save", action="store_true", help="do not keep the run in the database")
    cov.add_argument("--no-circles", action="store_true", help="skip the service-circle polygons")


def _site_parser(sub) -> None:
    from gridmap.siting.candidates import CANDIDATE_SOURCES
    from gridmap.siting.models import MODELS
    from gridmap.standards import LEVELS

    site = sub.add_parser(
        "site",
        help="siting proposals for new stations (or list / compare scenarios)",
        description="Propose new sites (default), list stored scenarios ('scenarios'), or compare two "
        "('compare A B'). Without --category, proposes for every category with residents outside the circle.",
    )
    site.add_argument("action", nargs="?", choices=["propose", "scenarios", "compare"], default="propose")
    site.add_argument("scenario_ids", nargs="*", type=int, metavar="SCENARIO", help="two ids for 'compare'")
    site.add_argument(
        "--category", nargs="+", action="extend", metavar="C",
        help="service categories one new station serves (default: each category with a gap, in turn)",
    )  # fmt: skip
    site.add_argument("--count", type=int, metavar="K", help="new sites for mclp and pmedian (default 3)")
    site.add_argument(
        "--model", choices=MODELS, default="mclp", help="maximal covering, set covering, p-median"
    )
    site.add_argument("--minutes", type=float, metavar="M", help="the circle in walking minutes (default 15)")
    site.add_argument(
        "--level", type=int, nargs="+", action="extend", choices=LEVELS, help="life-circle levels"
    )
    site.add_argument("--share", type=float, default=1.0, help="lscp: share of residents to cover (0–1]")
    site.add_argument("--capacity", type=float, metavar="N", help="residents one station can serve")
    site.add_argument("--weight", choices=["residents", "households"], default="residents")
    site.add_argument(
        "--candidates", metavar="PATH", help="candidate sites: points or polygons (.gpkg, .geojson, .csv)"
    )
    site.add_argument(
        "--sources", default=",".join(CANDIDATE_SOURCES), metavar="S,…",
        help=f"candidate sources (default {','.join(CANDIDATE_SOURCES)})",
    )  # fmt: skip
    site.add_argument(
        "--grid", nargs="+", action="extend", metavar="CODE", help="junction candidates only in these grids"
    )
    site.add_argument("--min-spacing", type=float, default=0.0, metavar="M", help="metres between stations")
    site.add_argument("--exclude", metavar="PATH", help="areas where no station may go (water, …)")
    site.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="solver time limit (s)")
    site.add_argument("--speed", metavar="MPS", help="walking speed in m/s, or 'elderly'")
    site.add_argument(
        "--out", metavar="PATH", help="write sites and coverage to .gpkg (layers) or .csv (files)"
    )
    site.add_argument("--label", help="a note stored with the scenario")
    site.add_argument("--no-save", action="store_true", help="do not keep the scenario in the database")


def _map_parser(sub) -> None:
    from gridmap.standards import LEVELS

    mp = sub.add_parser("map", help="write a map: grids, coverage, gaps, siting or a grid's area (HTML)")
    mp.add_argument("kind", choices=["grids", "coverage", "gaps", "siting", "area"])
    mp.add_argument("--out", required=True, metavar="FILE.html")
    mp.add_argument("--offline", action="store_true", help="inline Leaflet: the map opens with no internet")
    mp.add_argument("--category", metavar="C", help="coverage, gaps, siting: the service category")
    mp.add_argument("--level", type=int, choices=LEVELS, default=15, help="life-circle level (minutes)")
    mp.add_argument("--grid", metavar="CODE", help="area: the grid's code")
    mp.add_argument(
        "--scenario", type=int, metavar="ID", help="siting: a kept scenario (else a new proposal)"
    )
    mp.add_argument("--count", type=int, default=3, metavar="K", help="siting: new sites to propose")
    mp.add_argument("--basemap", choices=["none", "osm", "tianditu"], default="none")
    mp.add_argument("--tianditu-key", metavar="KEY", help="key of the Tianditu basemap")
    mp.add_argument("--speed", metavar="MPS", help="walking speed in m/s, or 'elderly'")


def _cmd_map(args, settings: Settings) -> int:
    from maps.cli import build_map, write_map  # maps builds on gridmap; reached only here

    coverage = _coverage_params(settings, speed_mps=_speed(args.speed, settings))
    m = build_map(
        args.kind,
        _engine(settings),
        coverage=coverage,
        category=args.category,
        level=args.level,
        grid=args.grid,
        scenario=args.scenario,
        count=args.count,
        basemap=args.basemap,
        tianditu_key=args.tianditu_key or settings.tianditu_key,
    )
    path = write_map(m, args.out, offline=args.offline)
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({size:.1f} MB{', offline' if args.offline else ''})")
    return EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(database_url=args.db) if args.db else Settings()


_OPENED: list = []  # engines a command opened, closed when it ends


def _engine(settings: Settings):
    from gridmap.store.engine import make_engine

    engine = make_engine(settings.database_url)
    _OPENED.append(engine)
    return engine


def _cmd_db(args, settings: Settings) -> int:
    from gridmap.store.schema import init_db, upgrade_db

    engine = _engine(settings)
    if args.action == "init":
        revision = init_db(engine)
    else:
        upgrade_db(engine)
        from gridmap.store.schema import head_revision

        revision = head_revision()
    print(f"database {settings.database_url} is at schema revision {revision}")
    return EXIT_OK


def _cmd_import(args, settings: Settings) -> int:
    from gridmap.io.importer import import_layer
    from gridmap.io.read import parse_field_map

    report = import_layer(
        _engine(settings),
        args.layer,
        args.path,
        source_crs=args.source_crs,
        field_map=parse_field_map(args.field_map),
        fix=args.fix,
        mode="replace" if args.replace else "append",
        file_layer=args.file_layer,
        margin_m=settings.district_margin_m,
    )
    for problem in report.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    for problem in report.fixes:
        print(f"fixed: {problem}", file=sys.stderr)
    print(f"imported {report.count} feature(s) into {args.layer} from {args.path}")
    return EXIT_OK


def _cmd_import_osm(args, settings: Settings) -> int:
    from gridmap.io.importer import import_osm
    from gridmap.store.schema import init_db

    engine = _engine(settings)
    init_db(engine)
    counts = import_osm(engine, args.path, bbox=args.bbox, network_buffer_m=args.network_buffer)
    print_table([(k, v) for k, v in counts.items()], ("layer", "features"), right=[1])
    return EXIT_OK


def _cmd_export(args, settings: Settings) -> int:
    from gridmap.io.export import export_layer

    count = export_layer(_engine(settings), args.layer, args.path)
    print(f"exported {count} feature(s) of {args.layer} to {args.path}")
    return EXIT_OK


def _demo_exists(engine) -> bool:
    from gridmap.store.layers import layer_counts
    from gridmap.store.schema import current_revision

    return current_revision(engine) is not None and layer_counts(engine)["grids"] > 0


def _cmd_demo(args, settings: Settings) -> int:
    from gridmap.demo.build import build_demo

    engine = _engine(settings)
    if args.action == "build" or not _demo_exists(engine):
        counts, seconds = build_demo(engine, settings)
        print(f"built the demo district in {seconds:.1f} s into {settings.database_url}")
        print_table(
            [(k, LAYER_SPECS[k].title_zh, v) for k, v in counts.items()],
            ("layer", "名称", "features"),
            right=[2],
        )
        from gridmap import coverage_report

        coverage_report.run_and_print(engine, _coverage_params(settings), label="demo baseline")
        from gridmap.siting import report as site_report

        site_report.run_and_print(engine, _site_params(settings), label="demo proposals", brief=True)
        _demo_maps(engine, settings)
    else:  # a demo database from an older version: bring its schema up to date
        from gridmap.store.schema import upgrade_db

        upgrade_db(engine)
    _demo_accounts(engine, args.host, args.port)
    if args.action == "build":
        return EXIT_OK
    return _serve(settings, args.host, args.port)


def _demo_accounts(engine, host: str, port: int) -> None:
    from gridmap.demo.accounts import demo_accounts

    rows = [(n, r, p, ", ".join(g)) for n, r, p, g in demo_accounts(engine)]
    print(f"web map: http://{host}:{port}/  — sign in with one of these demo accounts:")
    print_table(rows, ("user", "role", "password", "grids"))


def _password(args) -> str:
    import getpass
    import os

    if args.password:
        return args.password
    if os.environ.get("GRIDMAP_PASSWORD"):
        return os.environ["GRIDMAP_PASSWORD"]
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != first:
            raise InputError("the two passwords differ")
        return first
    raise InputError("give the password with --password or GRIDMAP_PASSWORD")


def _cmd_user(args, settings: Settings) -> int:
    from gridmap import accounts

    engine = _engine(settings)
    if args.action == "list":
        rows = [(u.name, u.role, ", ".join(u.grid_codes)) for u in accounts.list_users(engine)]
        print_table(rows, ("user", "role", "grids"))
        return EXIT_OK
    if not args.name:
        raise InputError(f"'user {args.action}' needs the user NAME")
    if args.action == "unlock":
        was = accounts.unlock(engine, args.name)
        print(f"{args.name} may sign in again" if was else f"{args.name} had no failed sign-ins to lift")
        return EXIT_OK
    if args.action == "password":
        accounts.set_password(engine, args.name, _password(args))
        print(f"changed the password of {args.name}; their sessions were ended")
        return EXIT_OK
    if not args.role:
        raise InputError("'user add' needs --role admin|planner|grid_leader|public")
    made = accounts.add_user(engine, args.name, args.role, _password(args), args.grid)
    grids = f" for grid(s) {', '.join(made.grid_codes)}" if made.grid_codes else ""
    print(f"added {made.role} {made.name}{grids}")
    return EXIT_OK


def _demo_maps(engine, settings: Settings, folder: str = "out/maps") -> None:
    """The demo's maps, offline, into ``folder``."""
    from gridmap.store.layers import read_layer
    from maps.cli import build_map, write_map  # maps builds on gridmap; reached only here

    grid = str(read_layer(engine, "grids")["code"].iloc[0])
    wanted = {
        "grids": {}, "coverage": {"category": "elderly_care"}, "gaps": {}, "siting": {"category": "elderly_care"},
        "area": {"grid": grid},
    }  # fmt: skip
    written = []
    for kind, options in wanted.items():
        m = build_map(kind, engine, coverage=_coverage_params(settings), **options)
        written.append(str(write_map(m, f"{folder}/{kind}.html", offline=True)))
    print("maps (open offline in a browser): " + ", ".join(written))


def _serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from api.main import create_app  # the service builds on gridmap; reached only here

    print(f"serving {settings.database_url} at http://{host}:{port}/ (API documentation: /docs)")
    uvicorn.run(create_app(settings), host=host, port=port)
    return EXIT_OK


def _cmd_serve(args, settings: Settings) -> int:
    return _serve(settings, args.host, args.port)


def _cmd_layers(args, settings: Settings) -> int:
    from gridmap.store.layers import layer_counts

    counts = layer_counts(_engine(settings))
    print_table(
        [(k, LAYER_SPECS[k].title_zh, v) for k, v in counts.items()], ("layer", "名称", "features"), right=[2]
    )
    return EXIT_OK


def _speed(text: str | None, settings: Settings) -> float:
    if text is None:
        return settings.walk_speed_mps
    if text == "elderly":
        return settings.elderly_speed_mps
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--speed '{text}' is not a number of metres per second or 'elderly'") from None


def _coverage_params(settings: Settings, levels=None, **options):
    """Coverage parameters from the settings, with the command's options on top."""
    from gridmap.coverage import CoverageParams

    return CoverageParams.from_settings(settings, levels=levels, **options)


def _cmd_coverage(args, settings: Settings) -> int:
    from gridmap import coverage_report

    engine = _engine(settings)
    if args.action == "runs":
        coverage_report.print_runs(engine)
        return EXIT_OK
    if args.action == "compare":
        if len(args.run_ids) != 2:
            raise InputError("'coverage compare' needs two run ids: BEFORE AFTER")
        coverage_report.print_comparison(engine, *args.run_ids, out=args.out)
        return EXIT_OK
    if args.run_ids:
        raise InputError("run ids are only for 'coverage compare'")
    params = _coverage_params(
        settings,
        levels=tuple(sorted(set(args.level))) if args.level else None,
        categories=tuple(dict.fromkeys(args.category)) if args.category else None,
        speed_mps=_speed(args.speed, settings),
        origin=args.origin,
        measure=args.measure,
        circles=not args.no_circles,
    )
    coverage_report.run_and_print(
        engine, params, by=args.by, out=args.out, save=not args.no_save, label=args.label
    )
    return EXIT_OK


def _site_params(settings: Settings, **options):
    """Siting parameters from the settings, with the command's options on top."""
    from gridmap.siting.proposal import SitingParams

    return SitingParams.from_settings(settings, **options)


def _cmd_site(args, settings: Settings) -> int:
    from gridmap.siting import report
    from gridmap.siting.candidates import CandidateRules

    engine = _engine(settings)
    if args.action == "scenarios":
        report.print_scenarios(engine)
        return EXIT_OK
    if args.action == "compare":
        if len(args.scenario_ids) != 2:
            raise InputError("'site compare' needs two scenario ids: A B")
        report.print_comparison(engine, *args.scenario_ids, out=args.out)
        return EXIT_OK
    if args.scenario_ids:
        raise InputError("scenario ids are only for 'site compare'")
    levels = tuple(sorted(set(args.level))) if args.level else None
    if levels is None:
        levels = (int(args.minutes),) if args.minutes in (5, 10, 15) else (15,)
    params = _site_params(
        settings,
        categories=tuple(dict.fromkeys(args.category or ())),
        model=args.model,
        count=args.count,
        levels=levels,
        minutes=args.minutes,
        share=args.share,
        capacity=args.capacity,
        weight=args.weight,
        rules=CandidateRules(
            sources=tuple(s.strip() for s in args.sources.split(",") if s.strip()),
            grids=tuple(args.grid or ()),
            min_spacing_m=args.min_spacing,
        ),
        time_limit_s=args.time_limit,
        speed_mps=_speed(args.speed, settings),
    )
    report.run_and_print(
        engine, params, candidates=args.candidates, exclude=args.exclude, out=args.out,
        save=not args.no_save, label=args.label,
    )  # fmt: skip
    return EXIT_OK


def _cmd_validate(args, settings: Settings) -> int:
    from gridmap.io.export import write_frame
    from gridmap.store.layers import read_layer
    from gridmap.topology import CHECKED_LAYERS, ERROR, KINDS, Tolerances, check_grid_map

    engine = _engine(settings)
    layers = {name: read_layer(engine, name) for name in CHECKED_LAYERS}
    tolerances = Tolerances.from_settings(settings)
    findings = check_grid_map(layers, tolerances)
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


def _cmd_org(args, settings: Settings) -> int:
    from gridmap.io.export import write_frames
    from gridmap.organisation import FIGURES, organisation_report
    from gridmap.store.layers import read_layer

    engine = _engine(settings)
    names = ("streets", "communities", "grids", "compounds", "buildings", "party_orgs", "members", "households",
             "assignments")  # fmt: skip
    layers = {name: read_layer(engine, name) for name in names}
    report = organisation_report(layers)

    rows = [
        (r.figure, r.figure_zh, f"{r.count:,} / {r.total:,}", percent(r.share))
        for r in report.area().itertuples()
    ]
    print_table(
        rows, ("figure", "指标", "count", "share"), title="party-building figures, whole area", right=[2, 3]
    )
    part = report.figures[report.figures["scope"] == args.by]
    if len(part):
        table = part.pivot_table(index=["code", "name"], columns="figure", values="share", sort=False)
        table = table[[f for f in FIGURES if f in table.columns]]
        rows = [
            (code, name, *(percent(v) for v in values))
            for (code, name), values in zip(table.index, table.values, strict=True)
        ]
        print_table(
            rows,
            ("code", "name", *(FIGURES[f][1] for f in table.columns)),
            title=f"shares by {args.by}",
            right=range(2, 2 + len(table.columns)),
        )
    load = report.leader_load
    for role, group in load.groupby("role"):
        print(
            f"{role}: {len(group)} people, households each {group['households'].min():,.0f}–"
            f"{group['households'].max():,.0f} (mean {group['households'].mean():,.0f}; "
            f"most loaded {group.loc[group['households'].idxmax(), 'person_name']} at "
            f"{group['ratio_to_mean'].max():.1f}× the mean)"
        )
    for figure, frame in report.missing.items():
        if len(frame):
            ids = ", ".join(str(i) for i in frame.index[:10]) + (" …" if len(frame) > 10 else "")
            print(f"missing {figure}: {len(frame)} ({ids})")
    if args.out:
        frames = {"org_figures": report.figures, "org_leader_load": load, "org_skills": report.skills}
        frames |= {f"missing_{k}": v.reset_index(drop=True) for k, v in report.missing.items() if len(v)}
        written = write_frames(frames, args.out)
        print("wrote " + ", ".join(str(w) for w in written))
    return EXIT_OK


def _households_range(text: str | None, settings: Settings) -> tuple[int, int]:
    if text is None:
        return settings.grid_households_min, settings.grid_households_max
    lo, sep, hi = text.partition("-")
    if not sep or not lo.strip().isdigit() or not hi.strip().isdigit() or int(lo) > int(hi) or int(lo) < 1:
        raise InputError(f"--households {text!r}: expected MIN-MAX, two whole numbers with 1 <= MIN <= MAX")
    return int(lo), int(hi)


def _cmd_grids(args, settings: Settings) -> int:
    if args.action == "propose":
        return _cmd_grids_propose(args, settings)
    from gridmap.io.export import write_frames
    from gridmap.store.layers import read_layer
    from gridmap.topology import grid_alignment

    if len(args.kinds) != 2:
        raise InputError("grids align needs two grid kinds, e.g. `gridmap grids align party comprehensive`")
    engine = _engine(settings)
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


def _cmd_grids_propose(args, settings: Settings) -> int:
    from gridmap.gridplan import community_named, propose_grids
    from gridmap.io.export import write_frames
    from gridmap.store.gridplans import apply_grid_plan
    from gridmap.store.layers import read_layer

    if args.kinds:
        raise InputError("grids propose takes no grid kinds; use --kind")
    if not args.community:
        raise InputError("grids propose needs --community NAME_OR_CODE")
    households = _households_range(args.households, settings)
    engine = _engine(settings)
    community = community_named(read_layer(engine, "communities"), args.community)
    cid = int(community["id"].iloc[0])
    grids = read_layer(engine, "grids")
    own = grids[grids["community_id"] == cid]
    kind = args.kind or (own["kind"].mode().iloc[0] if own["kind"].notna().any() else "comprehensive")
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


_COMMANDS = {
    "db": _cmd_db,
    "import": _cmd_import,
    "import-osm": _cmd_import_osm,
    "export": _cmd_export,
    "demo": _cmd_demo,
    "serve": _cmd_serve,
    "user": _cmd_user,
    "layers": _cmd_layers,
    "coverage": _cmd_coverage,
    "site": _cmd_site,
    "map": _cmd_map,
    "validate": _cmd_validate,
    "org": _cmd_org,
    "grids": _cmd_grids,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        return _COMMANDS[args.command](args, settings)
    except GridmapError as exc:  # InputError, NotFoundError, DatabaseError
        print(f"gridmap {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:  # settings that fail validation
        print(f"gridmap: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        while _OPENED:
            _OPENED.pop().dispose()


if __name__ == "__main__":
    sys.exit(main())
