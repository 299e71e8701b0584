"""Shared by the commands: exit codes, the argument parser's class, settings and engines."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gridmap.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from gridmap.households import HomeOrigins
    from gridmap.settings import Settings

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C: 128 + SIGINT, as shells count it


class Parser(argparse.ArgumentParser):
    """The parser of ``gridmap`` and of each command. An option that only some of a command's
    actions take (:meth:`only`) is refused with the others, rather than left unread."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: argument dest: (as written, the dest of the action chosen, the actions that take it)
        self.taken_by: dict[str, tuple[str, str, tuple[str, ...]]] = {}

    def only(self, actions: str, *arguments: argparse.Action, choice: str = "action") -> None:
        """Mark ``arguments`` as taken only by ``actions`` (comma-separated values of the
        positional ``choice``): their help begins with those actions, and one given with
        another action is an error."""
        names = tuple(a.strip() for a in actions.split(","))
        for argument in arguments:
            argument.help = f"{actions}: {argument.help}" if argument.help else actions
            written = argument.option_strings[0] if argument.option_strings else argument.metavar
            self.taken_by[argument.dest] = (str(written or argument.dest), choice, names)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        namespace, extras = super().parse_known_args(args, namespace)
        for dest, (written, choice, names) in self.taken_by.items():
            value, chosen = getattr(namespace, dest, None), getattr(namespace, choice, None)
            given = not (value is None or value is False or value == [] or value == self.get_default(dest))
            if given and chosen not in names:
                command = self.prog.removeprefix("gridmap ")
                takers = " or ".join(f"'{command} {n}'" for n in names)
                self.error(f"{written} goes with {takers}, not '{command} {chosen}'")
        return namespace, extras

    def error(self, message: str) -> None:  # argparse exits 2 as well; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"gridmap: error: {message}\n")


def bbox_arg(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not W,S,E,N in degrees (EPSG:4326)") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise argparse.ArgumentTypeError(
            f"'{text}': expected west < east within -180…180 and south < north within -90…90 (EPSG:4326 degrees)"
        )
    return west, south, east, north


def require_people(buildings: pd.DataFrame, what: str) -> None:
    """Refuse ``what`` (a coverage run, a siting proposal) over buildings that hold nobody:
    every share it printed would be of nothing."""
    import pandas as pd  # not at start-up: the parser imports this module

    people = sum(
        float(pd.to_numeric(buildings[c], errors="coerce").fillna(0).sum())
        for c in ("households", "residents")
        if c in buildings.columns
    )
    if len(buildings) == 0:
        raise InputError(
            f"there are no buildings (in the database, or in the --bbox or --district given), so {what} "
            "would count nobody; import buildings (`gridmap import buildings FILE`) or choose another "
            "area; nothing was computed or kept"
        )
    if people <= 0:
        raise InputError(
            f"the {len(buildings):,} buildings hold no households or residents, so {what} would "
            "count nobody; give them households: `gridmap households estimate` (from footprint × "
            "levels), `gridmap households ledger FILE --by compound|community` (a committee's "
            "counts) or a buildings file with a households column; nothing was computed or kept"
        )


def homes_counted(origins: HomeOrigins) -> str:
    """ "homes counted: 12,345 residents: 80 % estimated from footprint × levels, …" — how much
    of what a figure counts is an estimate, and how many compounds count no one, for every
    output that counts people."""
    first, *more = origins.said().split("\n")
    return f"homes counted: {first} (see `gridmap households`)" + "".join(f"\n  {line}" for line in more)


def counts_moved(
    kept: str, first: tuple[int, HomeOrigins | None], second: tuple[int, HomeOrigins | None]
) -> str | None:
    """ "the homes counted differ …" when two kept ``kept``s (``run``, ``scenario``: their
    numbers and counts of homes) counted different residents or households, or None (also
    when either was kept before its count was recorded)."""
    (a, was), (b, now) = first, second
    if was is None or now is None or (was.residents, was.households) == (now.residents, now.households):
        return None
    return (
        f"the homes counted differ, so part of any change is the count, not the services: {kept} {a} "
        f"{was.describe()}; {kept} {b} {now.describe()}"
    )


def doubtful_homes(plan) -> str | None:
    """What to say of the buildings an import plan (:class:`gridmap.io.merge.MergePlan`) adds
    or updates whose homes are estimated from a footprint larger than homes have, or None."""
    import pandas as pd

    from gridmap.households import LARGEST_HOME_FOOTPRINT_M2, doubtful_estimates

    if plan.layer != "buildings":
        return None
    rows = [plan.add, plan.updated_rows()] if plan.update else [plan.add]
    doubtful = doubtful_estimates(pd.concat(rows, ignore_index=True))
    if not len(doubtful):
        return None
    named = [
        f"{r.get('name') if isinstance(r.get('name'), str) and r.get('name') else 'unnamed'}"
        + (f" (OSM {r['osm_id']})" if pd.notna(r.get("osm_id")) else "")
        + f": {r['footprint_m2']:,.0f} m², {int(r['households']):,} households"
        for _, r in doubtful.head(3).iterrows()
    ]
    more = f" and {len(doubtful) - 3:,} more" if len(doubtful) > 3 else ""
    return (
        f"{len(doubtful):,} of these buildings {'has' if len(doubtful) == 1 else 'have'} a footprint over "
        f"{LARGEST_HOME_FOOTPRINT_M2:,.0f} m², more than "
        f"homes have, and their homes were estimated from it: {'; '.join(named)}{more} — an estate, a mall or "
        "a block drawn as one outline? `gridmap validate` names them; give their households with "
        "`gridmap households ledger`"
    )


def chosen_area(engine, bbox: tuple[float, float, float, float] | None, district: str | None):
    """The part of the database a run covers (EPSG:4326): ``--bbox``, or a stored district by
    code or name (``--district``); None for all of it."""
    import shapely

    if bbox and district:
        raise InputError("give --bbox or --district, not both")
    if bbox:
        return shapely.box(*bbox)
    if not district:
        return None
    from gridmap.store.layers import read_layer

    districts = read_layer(engine, "districts", columns=["code", "name"])
    found = districts[(districts["code"] == district) | (districts["name"] == district)]
    if found.empty:
        known = ", ".join(f"{c} {n}" for c, n in zip(districts["code"], districts["name"], strict=True))
        raise InputError(f"no district '{district}'; the database has: {known or 'none'}")
    return shapely.union_all(found.geometry.to_numpy())


#: the widest square tile a run may be cut into (km): a province is a few hundred across
MAX_TILE_KM = 1000.0


def in_parts(args: argparse.Namespace, also: tuple[str, ...] = ()) -> bool:
    """Whether the command runs in parts on a Dask cluster (``--workers`` or ``--cluster``).
    InputError for a ``--tile-km`` that is not positive, and for the options of a run in parts
    (``--tile-km`` and the options ``also`` names) given without either."""
    if args.tile_km is not None and not 0 < args.tile_km <= MAX_TILE_KM:  # NaN and inf too
        raise InputError(
            f"--tile-km {args.tile_km:g}: expected more than 0 and at most {MAX_TILE_KM:g} kilometres"
        )
    if args.workers is not None:
        from gridmap.scale.cluster import check_local_workers  # before any part is cut

        check_local_workers(args.workers)
    if args.workers is not None or args.cluster is not None:
        return True
    options = ["--tile-km", *also]
    if any(getattr(args, o.removeprefix("--").replace("-", "_")) is not None for o in options):
        verb = "cut" if len(options) > 1 else "cuts"
        raise InputError(
            f"{' and '.join(options)} {verb} a run into parts: give --workers N or --cluster ADDRESS"
        )
    return False


@contextmanager
def loading() -> Iterator[None]:
    """Around an analysis command's imports: the cycle collector paused while its libraries
    (pandas, SciPy, SQLAlchemy, geopandas…) load, which is about a tenth of their 0.7 s on the
    demo and finds no garbage; what they made is then settled (:func:`settle`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        settle()
        if enabled:
            gc.enable()


def settle() -> None:
    """Leave every object that exists now (what an analysis command has imported, the layers
    it has read) out of the cycle collector's full passes until the command ends
    (:func:`gridmap_cli.main.main` gives them back). Each full pass over them costs about
    100 ms on the demo, a few tenths of a second on a large city."""
    gc.freeze()


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings, with ``--db`` over the environment's; a database URL that cannot be read
    is refused here, before a command loads what it needs."""
    from gridmap.settings import Settings, readable_url, url_refused  # not at start-up: --help needs none

    settings = Settings(database_url=args.db) if args.db else Settings()
    if not readable_url(settings.database_url):
        raise InputError(url_refused(settings.database_url))
    return settings


OPENED: list = []  # engines a command opened, closed when it ends


def open_engine(settings: Settings):
    from gridmap.store.engine import make_engine

    engine = make_engine(settings.database_url)
    OPENED.append(engine)
    return engine
