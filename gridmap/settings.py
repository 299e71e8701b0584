"""Settings read from ``GRIDMAP_*`` environment variables.

Nothing is read at import time: ``Settings()`` is built by the command line or the app
factory and passed down. Each setting is one row of :class:`Settings`: its type, default,
bounds and meaning; ``Settings(name=value)`` overrides the environment. A value that does
not fit its row is refused with the variable's name and what was expected.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import os
import re
import typing
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from gridmap.errors import SettingsError
from gridmap.model import WALK_HIGHWAYS

DEFAULT_DATABASE_FILE = "gridmap.sqlite"
ENV_PREFIX = "GRIDMAP_"

#: a database URL's password, read as SQLAlchemy reads it: after the user name's colon, up to
#: the first ``@``
_PASSWORD = re.compile(r"^([\w+]+://[^:/]*):[^@]*@")


def shown_url(url: str) -> str:
    """A database URL as it may be printed or logged: its password, if any, as ``***`` (in a
    URL that cannot be read, whatever lies between the last colon and the first ``@``)."""
    if readable_url(url) or "@" not in url:
        return _PASSWORD.sub(r"\1:***@", url)
    before, _, after = url.partition("@")
    return before.rpartition(":")[0] + ":***@" + after if ":" in before else url


def url_refused(url: str) -> str:
    """What is wrong with a database URL that cannot be read; for a path that names a file,
    the URL that opens it as SpatiaLite."""
    said = f"cannot parse database URL '{shown_url(url)}'; expected sqlite:///FILE or postgresql://…"
    if not readable_url(url) and Path(url).suffix.lower() in (".sqlite", ".sqlite3", ".db", ".spatialite"):
        said += f" (for that file: sqlite:///{url})"
    return said


def readable_url(url: str) -> bool:
    """Whether ``url`` has the shape of a database URL (``scheme://…``), as a first look."""
    return re.match(r"[\w+]+://", url) is not None


def setting(default: Any = MISSING, description: str = "", *, default_factory: Any = MISSING,
            ge: float | None = None, gt: float | None = None, le: float | None = None,
            secret: bool = False) -> Any:  # fmt: skip
    """One setting: its default (or ``default_factory``), what it means, and its bounds; a
    ``secret`` one is left out of the settings' printed form."""
    bounds = {"ge": ge, "gt": gt, "le": le}
    metadata = {"description": description, "bounds": {k: v for k, v in bounds.items() if v is not None}}
    return field(default=default, default_factory=default_factory, metadata=metadata, repr=not secret)


@dataclass(init=False)
class Settings:
    """Configuration of a gridmap installation: ``GRIDMAP_`` and the upper-case name of each
    field in the environment, numbers as numbers, lists as a JSON list or separated by commas,
    true/false (yes/no, on/off, 1/0) for switches; an empty value leaves an optional setting unset."""

    database_url: str = setting(
        f"sqlite:///{DEFAULT_DATABASE_FILE}",
        description="SQLAlchemy URL: sqlite:///file.sqlite (SpatiaLite) or postgresql://… (PostGIS)",
    )
    grid_households_min: int = setting(300, ge=1, description="Target households per grid, lower")
    grid_households_max: int = setting(500, ge=1, description="Target households per grid, upper")
    demo_seed: int = setting(20181201, description="Seed of the demo generator")
    district_margin_m: float = setting(
        5000.0,
        ge=0,
        description="Features farther than this outside the district extent are refused",
    )

    walk_speed_mps: float = setting(1.1, gt=0, description="Walking speed (m/s); 1.1 m/s is 1 km in 15 min")
    elderly_speed_mps: float = setting(0.8, gt=0, description="Walking speed of `--speed elderly` (m/s)")
    walk_highways: list[str] = setting(
        default_factory=lambda: list(WALK_HIGHWAYS),
        description="OSM highway types in the walking network (roads without a type are kept)",
    )
    max_snap_m: float = setting(
        300.0, gt=0, description="Homes and facilities farther from a street stay unattached (m)"
    )
    detour_factor: float = setting(
        1.3, ge=1.0, description="Straight-line distance multiplier when there is no street layer"
    )
    gap_cluster_m: float = setting(
        250.0, gt=0, description="Uncovered homes this close form one service gap (m)"
    )
    default_levels: int = setting(
        6, ge=1, le=200, description="Levels of a building whose data give neither levels, height nor type"
    )
    storey_height_m: float = setting(
        3.0, gt=0, description="Height of one storey, to read OSM height as levels (m)"
    )
    floor_area_per_household_m2: float = setting(
        90.0, gt=0, description="Gross floor area of one home, to estimate households (m²)"
    )
    usable_share: float = setting(
        0.8, gt=0, le=1, description="Share of a residential building's floor area that is homes"
    )
    residents_per_household: float = setting(
        2.6, gt=0, description="Residents of one home, to estimate residents"
    )
    siting_min_homes: int = setting(
        10, ge=0, description="Siting rules out candidates that reach fewer households than this (0: none)"
    )
    open311_api_keys: list[str] = setting(
        default_factory=list,
        description="API keys that may file events over Open311 without a sign-in",
        secret=True,
    )
    tianditu_key: str | None = setting(None, description="Key of the Tianditu basemap for maps", secret=True)
    org_catalogue: Path | None = setting(
        None,
        description="A district's additions to the organisation catalogue (kinds, posts, grid kinds; YAML), "
        "read where the catalogue is used (gridmap.orgcatalogue)",
    )
    sliver_m2: float = setting(
        1.0, ge=0, description="Overlaps, holes and parts smaller than this are not reported by validate (m²)"
    )
    sliver_width_m: float = setting(
        0.1, ge=0, description="Nor those thinner than this on average: seams along shared edges (m)"
    )

    tile_cache_tiles: int = setting(
        4096,
        ge=0,
        le=1_000_000,
        description="Encoded tiles the service keeps in memory (0: none anywhere, in memory or in "
        "a folder: every tile is cut anew)",
    )
    tile_cache_dir: Path | None = setting(
        None,
        description="A folder where all the service's processes keep encoded tiles, so that each "
        "tile of a layer version and scope is cut once (none: `gridmap serve --workers N` makes a "
        "temporary one; otherwise each process keeps its own)",
    )
    tile_cache_dir_mb: int = setting(
        1024, ge=1, description="How large that folder may grow before its oldest tiles go (MiB)"
    )
    tile_threads: int = setting(
        default_factory=lambda: min(16, 2 * (os.cpu_count() or 1)),
        ge=1,
        le=16,
        description="Threads of each service process that answer tiles, each with a database "
        "connection of the process's 16 while it works (default: twice the machine's cores, at "
        "most 16): more let a database of many cores cut more tiles at once, and cost a busy "
        "process time switching between them",
    )
    max_request_mb: float = setting(
        20.0,
        gt=0,
        le=1024,
        description="The largest request body the service takes (MiB); a larger one is refused with 413",
    )
    open_pool_at_start: bool = setting(
        True,
        description="Open all of a service process's PostgreSQL connections when it starts, each "
        "ready for PostGIS, rather than on the first requests that need them (no effect on SpatiaLite)",
    )
    sqlite_busy_timeout_s: float = setting(
        30.0,
        gt=0,
        description="How long the service waits for another writer's lock on a SpatiaLite file (s)",
    )
    password_hash_cost: int = setting(
        14,
        ge=10,
        le=20,
        description="The cost of each new password hash: scrypt's N as a power of two (14: N = 16,384, "
        "about 40 ms a hash; each step up doubles the time and memory); hashes made at another cost "
        "still verify",
    )
    sign_in_max_failures: int = setting(
        20, ge=1, description="Wrong passwords in a row that lock an account name for a while"
    )
    sign_in_lock_minutes: float = setting(
        15.0, gt=0, description="How long a locked account name waits (min)"
    )
    sign_in_max_failures_per_address: int = setting(
        100, ge=1, description="Wrong passwords from one address within that time before it waits too"
    )

    def __init__(self, **values: Any) -> None:
        names = {f.name for f in fields(self)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"Settings has no setting {', '.join(unknown)}")
        types = _types()
        problems: list[str] = []
        for f in fields(self):
            variable = ENV_PREFIX + f.name.upper()
            if f.name in values:
                value, told = values[f.name], f.name
            elif variable in os.environ:
                value, told = os.environ[variable], variable
            else:
                value, told = (f.default_factory() if f.default is MISSING else f.default), None  # type: ignore[operator]
            if told is not None:
                try:
                    value = _checked(_typed(value, types[f.name]), f)
                except ValueError as exc:
                    shown = told if not f.repr else f"{told}={value!r}"  # a secret is not repeated
                    problems.append(f"{shown}: expected {exc} ({f.metadata['description']})")
                    continue
            setattr(self, f.name, value)
        if problems:
            raise SettingsError(problems)
        if self.grid_households_min > self.grid_households_max:
            raise SettingsError([
                f"{ENV_PREFIX}GRID_HOUSEHOLDS_MIN ({self.grid_households_min}) is larger than "
                f"{ENV_PREFIX}GRID_HOUSEHOLDS_MAX ({self.grid_households_max})"
            ])  # fmt: skip

    def __repr__(self) -> str:
        """The settings, the database URL's password and secret settings left out."""
        shown = []
        for f in fields(self):
            if f.repr:
                value = getattr(self, f.name)
                shown.append(f"{f.name}={(shown_url(value) if f.name == 'database_url' else value)!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def database_path(self) -> Path | None:
        """The SpatiaLite file, when the database is one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and self.database_url != prefix:
            return Path(self.database_url[len(prefix) :])
        return None


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_LIST = 'a JSON list of texts, e.g. ["a", "b"], or texts separated by commas'
_NUMBER = {int: "a whole number", float: "a number"}


@functools.cache
def _types() -> dict[str, Any]:
    """Each setting's type."""
    return typing.get_type_hints(Settings)


def _typed(value: Any, kind: Any) -> Any:
    """``value`` as a setting of type ``kind`` wants it; text (from the environment) is read.
    ValueError names what was expected."""
    optional = type(None) in typing.get_args(kind)
    if optional:
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
        if value is None or value == "":
            return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError("true or false")
    if kind in (int, float):
        want = _NUMBER[kind]
        if isinstance(value, bool):
            raise ValueError(want)
        try:
            number = kind(value.strip()) if isinstance(value, str) else value
        except ValueError:
            raise ValueError(want) from None
        if not isinstance(number, int | float) or (kind is int and number != int(number)):
            raise ValueError(want)
        if not math.isfinite(number):
            raise ValueError(f"a finite {want.removeprefix('a ')}")
        return kind(number)
    if typing.get_origin(kind) is list:
        return _text_list(value)
    if kind is Path:
        return Path(value)
    if not isinstance(value, str):
        raise ValueError("text")
    return value


def _text_list(value: Any) -> list[str]:
    """A list of texts: as given, from a JSON list, or separated by commas."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(_LIST) from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(_LIST)
    return list(value)


_BOUNDS = {
    "ge": ("at least", operator.ge),
    "gt": ("greater than", operator.gt),
    "le": ("at most", operator.le),
}


def _checked(value: Any, f: Field[Any]) -> Any:
    """``value`` within the setting's bounds; ValueError names them."""
    bounds = f.metadata["bounds"]
    if value is None or all(_BOUNDS[k][1](value, limit) for k, limit in bounds.items()):
        return value
    kind = _NUMBER[type(value)]
    told = [
        f"{_BOUNDS[k][0]} {int(limit) if limit == int(limit) else limit:,}" for k, limit in bounds.items()
    ]
    raise ValueError(f"{kind} {' and '.join(told)}")
