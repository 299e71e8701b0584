"""The command line's arguments: every command, its options and their help (README's reference)."""

from __future__ import annotations

import argparse

from gridmap.choices import CANDIDATE_SOURCES, LEVELS, MEASURES, ORIGIN_MODES, SITING_MODELS
from gridmap.model import EVENT_STATES, LAYERS, NEED_STATES, UserRole
from gridmap_cli.common import Parser, bbox_arg


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gridmap", description="Community governance on the map.")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: $GRIDMAP_DATABASE_URL or sqlite:///gridmap.sqlite)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

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
    imp.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of a CSV or Shapefile: utf-8, gbk, gb18030, big5 "
        "(default: detected, and said so)",
    )
    imp.add_argument("--fix", action="store_true", help="repair invalid geometry with make_valid")
    imp.add_argument("--layer", dest="file_layer", metavar="NAME", help="layer of a multi-layer file")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="also remove stored features (of the file's sources) that the file no longer holds",
    )
    imp.add_argument(
        "--key",
        metavar="COLUMN,…",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        help="columns that match rows to stored features (default: id, else the code, else the "
        "layer's match: for most spatial layers name and place within 1 m)",
    )
    _merge_options(imp, "what --replace does to links to removed features")

    osm = sub.add_parser(
        "import-osm", help="load roads, buildings, compounds, facilities, entrances from OSM"
    )
    osm.add_argument("path", metavar="PATH", help=".osm, .osm.gz or .osm.pbf")
    osm.add_argument("--bbox", type=bbox_arg, metavar="W,S,E,N", help="area of interest (EPSG:4326)")
    osm.add_argument(
        "--network-buffer",
        type=float,
        default=500.0,
        metavar="M",
        help="walking network reaches this far beyond the bbox (m)",
    )
    osm.add_argument(
        "--source",
        default="osm",
        metavar="NAME",
        help="name of this import: a later one of the same name and area replaces it (default: osm)",
    )
    _merge_options(osm, "links to features the extract no longer holds")

    exp = sub.add_parser("export", help="export a layer to .gpkg, .geojson or .csv")
    exp.add_argument("layer", choices=LAYERS, metavar="LAYER")
    exp.add_argument("path", metavar="PATH")

    demo = sub.add_parser("demo", help="build the demo district (if needed) and serve it")
    demo.add_argument("action", nargs="?", choices=["build", "serve"], default="serve")
    _serve_options(demo)
    _serve_options(sub.add_parser("serve", help="serve the API and web map"))

    sub.add_parser("layers", help="list the layers and their feature counts")
    _coverage_parser(sub)
    _site_parser(sub)
    _map_parser(sub)
    org = sub.add_parser("org", help="party-building figures: branches, groups, leaders, 双报到, 1+10")
    org.add_argument("action", choices=["report"])
    org.add_argument(
        "--by", choices=["grid", "community", "street", "district"], default="community", help="also per unit"
    )
    org.add_argument("--on", metavar="DATE", help="figures as on this day (YYYY-MM-DD; default: today)")
    org.add_argument(
        "--base",
        choices=["all", "property", "households"],
        default="all",
        help="the compounds branch coverage counts: all, those with a property company, or of N+ households",
    )
    org.add_argument(
        "--min-households", type=int, metavar="N", help="--base households: at least N households"
    )
    org.add_argument(
        "--out",
        metavar="PATH",
        help="write figures, per-unit table and missing features to .xlsx, .csv or .gpkg",
    )
    _grids_parser(sub)
    homes = sub.add_parser(
        "households", help="households and residents of buildings: given, from ledgers, or estimated"
    )
    homes.add_argument("action", nargs="?", choices=["show", "ledger", "estimate"], default="show")
    homes.only(
        "ledger",
        homes.add_argument("path", nargs="?", metavar="FILE", help="a CSV or GIS file of counts"),
        homes.add_argument(
            "--by", choices=["building", "compound", "community"], help="what its counts are of"
        ),
        homes.add_argument("--encoding", metavar="NAME", help="the text encoding (default: detected)"),
        homes.add_argument("--field-map", metavar="A=B,…", help="rename file fields"),
    )
    homes.only(
        "ledger, estimate", homes.add_argument("--dry-run", action="store_true", help="report; write nothing")
    )
    homes.only("show", homes.add_argument("--out", metavar="PATH", help="write the table to .csv"))
    _events_parser(sub)
    vis = sub.add_parser("visits", help="households due for a visit (四必访), logging visits, the figures")
    vis.add_argument("action", nargs="?", choices=["due", "log", "report"], default="due")
    vis.only(
        "log", vis.add_argument("household", nargs="?", metavar="HOUSEHOLD_ID", help="the household visited")
    )
    vis.only(
        "due, report", vis.add_argument("--grid", action="append", metavar="CODE", help="only these grids")
    )
    vis.add_argument("--on", metavar="DAY", help="the day (YYYY-MM-DD; default today)")
    vis.only(
        "log",
        vis.add_argument("--by", metavar="NAME", help="who visited"),
        vis.add_argument(
            "--kind",
            choices=["routine", "must_visit", "festival", "follow_up"],
            default="must_visit",
            help="the kind of visit (default must_visit)",
        ),
        vis.add_argument("--note", help="what was found"),
    )
    _needs_parser(sub)
    pts = sub.add_parser("points", help="party members' points (积分): award, ledger, ranking, rules")
    pts.add_argument("action", choices=["rules", "award", "ledger", "rank"])
    pts.only(
        "award, ledger",
        pts.add_argument("member", nargs="?", type=int, metavar="MEMBER_ID", help="the member"),
    )
    pts.only(
        "award",
        pts.add_argument("--rule", help="a rule of `gridmap points rules`"),
        pts.add_argument("--times", type=int, default=1, help="how many times (default 1)"),
        pts.add_argument("--note", help="what it was for"),
    )
    pts.only(
        "award, ledger, rank",
        pts.add_argument(
            "--on", metavar="DAY", help="award: the day (default today); ledger, rank: up to this day"
        ),
    )
    pts.only(
        "rank",
        pts.add_argument(
            "--by", choices=["branch", "community", "street"], default="community", help="within"
        ),
        pts.add_argument("--top", type=int, default=3, help="members shown per unit"),
    )
    user = sub.add_parser("user", help="accounts of the web service")
    user.add_argument("action", choices=["add", "list", "password", "unlock"])
    user.only(
        "add, password, unlock", user.add_argument("name", nargs="?", metavar="NAME", help="the account")
    )
    user.only(
        "add",
        user.add_argument(
            "--role", choices=[r.value for r in UserRole], help=", ".join(r.value for r in UserRole)
        ),
        user.add_argument(
            "--grid", action="append", metavar="CODE", help="a grid leader's or worker's grid (repeatable)"
        ),
        user.add_argument(
            "--area", metavar="CODE", help="a street admin's street or a community admin's community"
        ),
        user.add_argument(
            "--member", type=int, metavar="ID", help="the member whose terms give the account its area"
        ),
        user.add_argument(
            "--person", metavar="NAME", help="… or the person (with --phone) whose terms give it"
        ),
        user.add_argument("--phone", help="the person's phone, as their terms give it"),
    )
    user.only(
        "add, password",
        user.add_argument(
            "--password", help="the password (default: GRIDMAP_PASSWORD, or asked for on a terminal)"
        ),
    )
    val = sub.add_parser("validate", help="check the grid map's integrity; exit 1 when errors are found")
    val.add_argument("--out", metavar="PATH", help="write the findings to .geojson, .gpkg or .csv")
    return parser


def _events_parser(sub) -> None:
    ev = sub.add_parser("events", help="grid events (吹哨报到): file, move, escalate, list, report")
    ev.add_argument("action", choices=["file", "move", "escalate", "list", "report", "categories", "import"])
    ev.only(
        "move, import",
        ev.add_argument(
            "target", nargs="?", metavar="ID|FILE", help="the event (move) or a hotline export (import)"
        ),
    )
    ev.only("move", ev.add_argument("state", nargs="?", metavar="STATE", help="the state it goes to"))
    ev.only(
        "file",
        ev.add_argument("--lon", type=float, help="longitude (EPSG:4326)"),
        ev.add_argument("--lat", type=float, help="latitude (EPSG:4326)"),
        ev.add_argument("--category", help="a category id of `gridmap events categories`"),
        ev.add_argument("--description", help="what is wrong"),
        ev.add_argument(
            "--source",
            default="patrol",
            choices=["resident", "patrol", "hotline", "inspection"],
            help="how it came in (default patrol)",
        ),
        ev.add_argument("--reporter", help="who reports it (seen by staff only)"),
        ev.add_argument("--phone", help="the reporter's phone (seen by staff only)"),
    )
    ev.only(
        "move",
        ev.add_argument(
            "--as", dest="as_", default="staff", choices=["staff", "reporter"], help="who moves it"
        ),
        ev.add_argument("--note", help="why (returned, duplicate, not ours, reopened … need one)"),
        ev.add_argument("--rating", type=int, help="the resident's rating, 1–5, when it is closed"),
        ev.add_argument("--assignee", help="who takes it on"),
    )
    ev.only(
        "list",
        ev.add_argument(
            "--state-is",
            dest="state_filter",
            choices=EVENT_STATES,
            metavar="STATE",
            help=f"only events in this state: {', '.join(EVENT_STATES)}",
        ),
    )
    ev.only(
        "report",
        ev.add_argument("--by", choices=["grid", "community", "street"], default="grid", help="per unit"),
        ev.add_argument("--from", dest="start", metavar="DATE", help="filed from (YYYY-MM-DD)"),
        ev.add_argument("--to", dest="end", metavar="DATE", help="filed before (YYYY-MM-DD)"),
        ev.add_argument(
            "--out", metavar="PATH", help="write .xlsx (sheets by unit, category, source) or .csv"
        ),
    )
    ev.only(
        "import",
        ev.add_argument(
            "--source-crs", metavar="CRS", help="the export's coordinates (EPSG:4326, gcj02, bd09)"
        ),
        ev.add_argument(
            "--category-map", metavar="FILE", help="a CSV of the hotline's text and our category"
        ),
        ev.add_argument("--encoding", metavar="NAME", help="the export's text encoding (default: detected)"),
        ev.add_argument("--dry-run", action="store_true", help="check and place every row; write nothing"),
    )
    ev.only(
        "file, move, escalate, report",
        ev.add_argument("--now", metavar="TIME", help="the clock, as YYYY-MM-DDTHH:MM UTC (default: now)"),
    )


def _needs_parser(sub) -> None:
    needs = sub.add_parser(
        "needs", help="residents' needs (微心愿, 民情清单, 项目): file, claim, done, confirm"
    )
    steps = ["claim", "done", "confirm", "release", "cancel"]
    needs.add_argument("action", choices=["list", "file", *steps, "categories"])
    needs.only(
        ", ".join(steps),
        needs.add_argument("need", nargs="?", metavar="NEED_ID", help="the need a step moves"),
    )
    needs.only(
        "file",
        needs.add_argument(
            "--kind", choices=["wish", "list_item", "project"], default="wish", help="微心愿 …"
        ),
        needs.add_argument("--category", help="a category of `gridmap needs categories`"),
        needs.add_argument("--title", help="what is needed, in a line"),
        needs.add_argument("--description", help="more of it"),
        needs.add_argument("--household", type=int, metavar="ID", help="at this household"),
        needs.add_argument("--compound", type=int, metavar="ID", help="at this compound"),
        needs.add_argument("--lon", type=float, help="at this point (EPSG:4326)"),
        needs.add_argument("--lat", type=float, help="at this point (EPSG:4326)"),
        needs.add_argument("--resident", help="who asks (seen by staff only)"),
        needs.add_argument("--phone", help="their phone (seen by staff only)"),
    )
    needs.only(
        "file, list",
        needs.add_argument("--grid", metavar="CODE", help="file: in this grid; list: only this grid's"),
    )
    needs.only(
        "claim",
        needs.add_argument("--member", type=int, metavar="ID", help="the member who claims it"),
        needs.add_argument("--unit", type=int, metavar="ID", help="the co-building unit that claims it"),
        needs.add_argument("--offer", type=int, metavar="ID", help="through this offer"),
    )
    needs.only(
        "confirm",
        needs.add_argument("--by", choices=["resident", "community"], help="who confirms it is done"),
    )
    needs.only(
        "list",
        needs.add_argument(
            "--state-is",
            dest="state_filter",
            choices=NEED_STATES,
            metavar="STATE",
            help=f"only needs in this state: {', '.join(NEED_STATES)}",
        ),
    )
    needs.only(
        f"file, {', '.join(steps)}",
        needs.add_argument("--on", metavar="DAY", help="the day of the step (YYYY-MM-DD; default today)"),
    )


def _grids_parser(sub) -> None:
    grids = sub.add_parser(
        "grids", help="work grids: draw a community's grids, or how two networks align (多网合一)"
    )
    grids.add_argument("action", choices=["propose", "align"])
    grids.only(
        "align",
        grids.add_argument(
            "kinds", nargs="*", metavar="KIND", help="two grid kinds, e.g. party comprehensive"
        ),
        grids.add_argument(
            "--tolerance",
            type=float,
            default=5.0,
            metavar="M",
            help="borders this close coincide (m, default 5)",
        ),
    )
    grids.only(
        "propose",
        grids.add_argument("--community", metavar="NAME_OR_CODE", help="the community to draw"),
        grids.add_argument(
            "--households", metavar="MIN-MAX", help="households per grid (default from the settings, 300-500)"
        ),
        grids.add_argument(
            "--kind", help="grid kind (default: the community's grids' kind, else comprehensive)"
        ),
        grids.add_argument("--level", type=int, default=1, help="grid level (default 1)"),
        grids.add_argument("--fresh", action="store_true", help="redraw every grid, not only unsound ones"),
        grids.add_argument("--seed", type=int, default=0, help="random seed of the zoning search"),
        grids.add_argument("--apply", action="store_true", help="replace the grids with the drawing"),
        grids.add_argument(
            "--end-terms", action="store_true", help="with --apply: end terms in office on retired grids"
        ),
    )
    grids.add_argument(
        "--out", metavar="PATH", help="write the drawing and lineage, or the alignment (.gpkg, .csv)"
    )


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="service processes, each on a core of its own (default 1)")  # fmt: skip


def _coverage_parser(sub) -> None:

    cov = sub.add_parser(
        "coverage",
        help="15-minute service circle: walking coverage, gaps and circles (or list / compare runs)",
        description="Compute coverage (default), list stored runs ('runs'), or compare two runs "
        "('compare BEFORE AFTER').",
    )
    cov.add_argument("action", nargs="?", choices=["run", "runs", "compare"], default="run")
    cov.only("compare", cov.add_argument("run_ids", nargs="*", type=int, metavar="RUN", help="two run ids"))
    run = [
        cov.add_argument(
            "--level",
            type=int,
            nargs="+",
            action="extend",
            choices=LEVELS,
            help="life-circle levels (minutes)",
        ),
        cov.add_argument(
            "--category",
            nargs="+",
            action="extend",
            metavar="C",
            help="service category ids (default: all the checklist names)",
        ),
        *_area_options(cov),
        cov.add_argument(
            "--speed",
            metavar="MPS",
            help="walking speed in m/s, or 'elderly' (default: GRIDMAP_WALK_SPEED_MPS)",
        ),
        cov.add_argument(
            "--origin",
            choices=ORIGIN_MODES,
            default="building",
            help="start from buildings, or from compound gates",
        ),
        cov.add_argument(
            "--measure",
            choices=MEASURES,
            default="time",
            help="covered within the level's minutes, or the standard's radius",
        ),
        cov.add_argument("--by", choices=["street", "community", "grid"], help="also print shares per unit"),
        cov.add_argument("--label", help="a note stored with the run"),
        cov.add_argument("--no-save", action="store_true", help="do not keep the run in the database"),
        cov.add_argument("--no-circles", action="store_true", help="skip the service-circle polygons"),
    ]
    cov.only("run", *run, *_parts_options(cov, "walk", cache=True))
    cov.only(
        "run, compare",
        cov.add_argument("--out", metavar="PATH", help="write results to .gpkg (layers) or .csv (files)"),
    )


def _area_options(command) -> list[argparse.Action]:
    """The options that keep a run to part of the database: a box, or a stored district."""
    return [
        command.add_argument(
            "--bbox", type=bbox_arg, metavar="W,S,E,N", help="only the homes in this box (EPSG:4326)"
        ),
        command.add_argument(
            "--district", metavar="CODE_OR_NAME", help="only the homes of this stored district"
        ),
    ]


def _parts_options(command, verb: str, *, cache: bool = False) -> list[argparse.Action]:
    """The options of a run cut into parts on a Dask cluster."""
    parts = command.add_argument_group(
        "in parts", f"cut the run by district (or square tiles) and {verb} the parts on a Dask cluster"
    )
    on = parts.add_mutually_exclusive_group()
    made = [
        on.add_argument("--workers", type=int, metavar="N", help="start N worker processes on this machine"),
        on.add_argument(
            "--cluster", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786"
        ),
        parts.add_argument(
            "--tile-km",
            type=float,
            metavar="KM",
            help="cut into square tiles of KM kilometres, not by district",
        ),
    ]
    if cache:
        made.append(
            parts.add_argument(
                "--parts-cache",
                metavar="DIR",
                help="keep each part's walks here; the next run walks only changed parts",
            )
        )
    return made


def _site_parser(sub) -> None:

    site = sub.add_parser(
        "site",
        help="siting proposals for new stations (or list / compare scenarios)",
        description="Propose new sites (default), list stored scenarios ('scenarios'), or compare two "
        "('compare A B'). Without --category, proposes for every category with residents outside the circle.",
    )
    site.add_argument("action", nargs="?", choices=["propose", "scenarios", "compare"], default="propose")
    site.only(
        "compare", site.add_argument("scenario_ids", nargs="*", type=int, metavar="SCENARIO", help="two ids")
    )
    propose = [
        site.add_argument(
            "--category",
            nargs="+",
            action="extend",
            metavar="C",
            help="service categories one new station serves (default: each category with a gap, in turn)",
        ),
        site.add_argument(
            "--count", type=int, metavar="K", help="new sites for mclp and pmedian (default 3)"
        ),
        site.add_argument(
            "--model", choices=SITING_MODELS, default="mclp", help="maximal covering, set covering, p-median"
        ),
        site.add_argument(
            "--minutes", type=float, metavar="M", help="the circle in walking minutes (default 15)"
        ),
        site.add_argument(
            "--level", type=int, nargs="+", action="extend", choices=LEVELS, help="life-circle levels"
        ),
        site.add_argument(
            "--share", type=float, default=1.0, help="with --model lscp: share of residents to cover (0–1]"
        ),
        site.add_argument("--capacity", type=float, metavar="N", help="residents one station can serve"),
        site.add_argument(
            "--weight",
            choices=["residents", "households"],
            default="residents",
            help="what a site's gain counts",
        ),
        site.add_argument(
            "--candidates",
            metavar="PATH",
            help="a file of candidate sites, points or polygons (.gpkg, .geojson, .csv)",
        ),
        site.add_argument(
            "--sources",
            default=",".join(CANDIDATE_SOURCES),
            metavar="S,…",
            help=f"candidate sources (default {','.join(CANDIDATE_SOURCES)})",
        ),
        site.add_argument(
            "--grid",
            nargs="+",
            action="extend",
            metavar="CODE",
            help="junction candidates only in these grids",
        ),
        site.add_argument(
            "--min-spacing", type=float, default=0.0, metavar="M", help="metres between stations"
        ),
        site.add_argument(
            "--exclude", metavar="PATH", help="a file of areas where no station may go, polygons (water, …)"
        ),
        site.add_argument(
            "--weak-candidates",
            action="store_true",
            help="keep candidates that reach fewer households than GRIDMAP_SITING_MIN_HOMES (ruled out by default)",
        ),
        site.add_argument(
            "--time-limit", type=float, default=60.0, metavar="S", help="solver time limit (s)"
        ),
        *_area_options(site),
        site.add_argument("--speed", metavar="MPS", help="walking speed in m/s, or 'elderly'"),
        site.add_argument("--label", help="a note stored with the scenario"),
        site.add_argument("--no-save", action="store_true", help="do not keep the scenario in the database"),
    ]
    site.only("propose", *propose, *_parts_options(site, "propose sites for"))
    site.only(
        "propose, compare",
        site.add_argument(
            "--out", metavar="PATH", help="write sites and coverage to .gpkg (layers) or .csv (files)"
        ),
    )


def _map_parser(sub) -> None:
    mp = sub.add_parser("map", help="write a map: grids, coverage, gaps, siting or a grid's area (HTML)")
    mp.add_argument("kind", choices=["grids", "coverage", "gaps", "siting", "area"])
    mp.add_argument("--out", required=True, metavar="FILE.html")
    mp.add_argument("--offline", action="store_true", help="inline Leaflet: the map opens with no internet")
    mp.only(
        "coverage, gaps, siting",
        mp.add_argument("--category", metavar="C", help="the service category"),
        mp.add_argument("--level", type=int, choices=LEVELS, default=15, help="life-circle level (minutes)"),
        mp.add_argument("--speed", metavar="MPS", help="walking speed in m/s, or 'elderly'"),
        choice="kind",
    )
    mp.only("area", mp.add_argument("--grid", metavar="CODE", help="the grid's code"), choice="kind")
    mp.only(
        "siting",
        mp.add_argument("--scenario", type=int, metavar="ID", help="a kept scenario (else a new proposal)"),
        mp.add_argument("--count", type=int, default=3, metavar="K", help="new sites to propose"),
        choice="kind",
    )
    mp.add_argument("--basemap", choices=["none", "osm", "tianditu"], default="none")
    mp.add_argument("--tianditu-key", metavar="KEY", help="key of the Tianditu basemap")


def _merge_options(parser: argparse.ArgumentParser, orphans: str) -> None:
    """--orphans and --dry-run of the commands that merge into stored layers."""
    parser.add_argument(
        "--orphans", choices=["refuse", "unlink"], default="refuse",
        help=f"{orphans}: refuse (default), or empty them",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
