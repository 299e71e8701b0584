"""The ``gridmap`` command: parse, run the command, turn errors into exit codes."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from gridmap.errors import GridmapError
from gridmap_cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, OPENED, settings_of
from gridmap_cli.parser import build_parser

if TYPE_CHECKING:
    from gridmap.settings import Settings

#: each command's function, as module:name under gridmap_cli, imported only when it runs: the
#: parser alone starts at once (``gridmap --help``), and a command loads only what it needs
_COMMANDS = {
    "db": "data:cmd_db",
    "import": "data:cmd_import",
    "import-osm": "data:cmd_import_osm",
    "export": "data:cmd_export",
    "demo": "data:cmd_demo",
    "serve": "service:cmd_serve",
    "user": "users:cmd_user",
    "layers": "data:cmd_layers",
    "coverage": "coverage:cmd_coverage",
    "site": "siting:cmd_site",
    "map": "service:cmd_map",
    "validate": "grids:cmd_validate",
    "org": "grids:cmd_org",
    "grids": "grids:cmd_grids",
    "households": "households:cmd_households",
    "events": "events:cmd_events",
    "visits": "visits:cmd_visits",
    "needs": "needs:cmd_needs",
    "points": "needs:cmd_points",
}


def _command(name: str) -> Callable[..., int]:
    module, function = _COMMANDS[name].split(":")
    return getattr(importlib.import_module(f"gridmap_cli.{module}"), function)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    settings = None
    try:
        settings = settings_of(args)
        return _command(args.command)(args, settings)
    except GridmapError as exc:  # InputError, NotFoundError, DatabaseError
        print(f"gridmap {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:  # a value a library refused (a scheduler address without its port, …)
        print(f"gridmap: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        if exc.filename is None:
            raise
        # a file or folder the command was told to write (or read) that the system refuses
        print(f"gridmap {args.command}: cannot use '{exc.filename}': {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        failure = _database_failure(exc, settings)
        if failure is None:
            raise
        print(f"gridmap {args.command}: {failure}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        while OPENED:
            OPENED.pop().dispose()
        gc.unfreeze()  # what settle() left out, for a caller that goes on


def _database_failure(error: Exception, settings: Settings | None) -> GridmapError | None:
    """A database's failure (unreachable, not initialised, locked) said plainly, or None."""
    if settings is None or not type(error).__module__.startswith("sqlalchemy"):
        return None
    from gridmap.store.failures import explained

    return explained(error, settings.database_url)


def run() -> NoReturn:
    """The ``gridmap`` program: :func:`main`, then exit. What exists then is left out of the
    cycle collector first: the interpreter's last full passes over every object as it stops
    would otherwise cost about 0.3 s after an analysis command, for nothing. Stopped with
    Ctrl-C, it says so and exits 130, as shells count a stop by SIGINT (a write under way is
    one transaction, and goes back)."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("gridmap: stopped (Ctrl-C)", file=sys.stderr)
        code = EXIT_INTERRUPTED
    gc.freeze()
    sys.exit(code)
