"""The service and the planners' maps: serve, map (and the demo's maps)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

from gridmap.errors import InputError
from gridmap.settings import Settings, shown_url
from gridmap_cli.common import EXIT_OK, open_engine
from gridmap_cli.coverage import coverage_params, walking_speed


def cmd_map(args, settings: Settings) -> int:
    from maps.cli import build_map, write_map  # maps builds on gridmap; reached only here

    coverage = coverage_params(settings, speed_mps=walking_speed(args.speed, settings))
    m = build_map(
        args.kind,
        open_engine(settings),
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


def demo_maps(engine, settings: Settings, folder: str = "out/maps") -> None:
    """The demo's maps, offline, into ``folder``; left out, with a note, where the browser
    assets from npm are not installed (a plain ``pip install``)."""
    from gridmap.store.layers import read_layer
    from maps.cli import build_map, write_map  # maps builds on gridmap; reached only here
    from maps.compose import LEAFLET_DIR

    if not (LEAFLET_DIR / "leaflet.js").exists():
        print(
            f"maps left out: offline maps need Leaflet from npm ({LEAFLET_DIR} is missing; "
            "'npm ci' in the project folder installs it, as ./dev does)",
            file=sys.stderr,
        )
        return

    grid = str(read_layer(engine, "grids")["code"].iloc[0])
    wanted = {
        "grids": {}, "coverage": {"category": "elderly_care"}, "gaps": {}, "siting": {"category": "elderly_care"},
        "area": {"grid": grid},
    }  # fmt: skip
    written = []
    for kind, options in wanted.items():
        m = build_map(kind, engine, coverage=coverage_params(settings), **options)
        written.append(str(write_map(m, f"{folder}/{kind}.html", offline=True)))
    print("maps (open offline in a browser): " + ", ".join(written))


#: Python's own event loop, not uvloop: a busy process on uvloop took new connections from the
#: kernel's queue at some 40 a second, so that of 200 clients connecting at once (a shift
#: starting) the last waited 2–4 s for their first answer, while asyncio's loop takes every
#: waiting connection at once (worst answer 0.2–0.4 s; throughput alike within the machine's
#: noise, bench/scale.py)
EVENT_LOOP = "asyncio"


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Serve ``settings.database_url`` at ``host:port`` in ``workers`` processes (each reads
    its settings from the environment, given the database chosen here)."""
    import uvicorn

    from api.main import create_app, served_engine  # the service builds on gridmap; reached only here
    from gridmap.scale.cluster import check_local_workers

    check_local_workers(workers)
    check_address(host, port)
    served_engine(settings).dispose()  # a database that cannot be served is said here, not in a traceback
    print(
        f"serving {shown_url(settings.database_url)} at http://{host}:{port}/ (API documentation: /docs)"
        + (f" in {workers} processes" if workers > 1 else "")
    )
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, loop=EVENT_LOOP)
        return EXIT_OK
    os.environ["GRIDMAP_DATABASE_URL"] = settings.database_url
    with contextlib.ExitStack() as stack:
        if settings.tile_cache_tiles > 0:  # the processes share the tiles they cut (none: none kept)
            folder = settings.tile_cache_dir or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="gridmap-tiles-")  # for as long as they run
            )
            os.environ["GRIDMAP_TILE_CACHE_DIR"] = str(folder)
            print(f"the processes keep the tiles they cut in {folder}")
        uvicorn.run(
            "api.main:create_app", factory=True, host=host, port=port, workers=workers, loop=EVENT_LOOP
        )
    return EXIT_OK


def check_address(host: str, port: int) -> None:
    """InputError, said in one line before the server starts, for a port out of range, a host
    that does not resolve, or an address that cannot be listened on (one in use, say)."""
    import errno
    import socket

    if not 1 <= port <= 65535:
        raise InputError(f"--port {port}: expected 1 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"--host {host}: cannot be resolved ({getattr(exc, 'strerror', exc)})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as exc:
            busy = (
                "; another server listens there: stop it or choose another --port"
                if exc.errno == errno.EADDRINUSE
                else ""
            )
            raise InputError(f"cannot serve at {host}:{port}: {exc.strerror}{busy}") from None


def cmd_serve(args, settings: Settings) -> int:
    return serve(settings, args.host, args.port, args.workers)
