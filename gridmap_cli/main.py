"""The ``gridmap`` command: parse, run the command, turn errors into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gridmap.errors import GridmapError
from gridmap_cli.common import EXIT_BAD_INPUT, OPENED, settings_of
from gridmap_cli.coverage import cmd_coverage
from gridmap_cli.data import cmd_db, cmd_demo, cmd_export, cmd_import, cmd_import_osm, cmd_layers
from gridmap_cli.events import cmd_events
from gridmap_cli.grids import cmd_grids, cmd_org, cmd_validate
from gridmap_cli.households import cmd_households
from gridmap_cli.needs import cmd_needs, cmd_points
from gridmap_cli.parser import build_parser
from gridmap_cli.service import cmd_map, cmd_serve
from gridmap_cli.siting import cmd_site
from gridmap_cli.users import cmd_user
from gridmap_cli.visits import cmd_visits

_COMMANDS = {
    "db": cmd_db,
    "import": cmd_import,
    "import-osm": cmd_import_osm,
    "export": cmd_export,
    "demo": cmd_demo,
    "serve": cmd_serve,
    "user": cmd_user,
    "layers": cmd_layers,
    "coverage": cmd_coverage,
    "site": cmd_site,
    "map": cmd_map,
    "validate": cmd_validate,
    "org": cmd_org,
    "grids": cmd_grids,
    "households": cmd_households,
    "events": cmd_events,
    "visits": cmd_visits,
    "needs": cmd_needs,
    "points": cmd_points,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = settings_of(args)
        return _COMMANDS[args.command](args, settings)
    except GridmapError as exc:  # InputError, NotFoundError, DatabaseError
        print(f"gridmap {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:  # settings that fail validation
        print(f"gridmap: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        while OPENED:
            OPENED.pop().dispose()
