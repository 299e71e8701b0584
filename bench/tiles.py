"""Vector tiles and ``/who`` under load: gridmap's service against tipg, both serving the
demo district from the same PostGIS database in the same run.

    python bench/tiles.py [--seconds 4] [--rounds 3] [--connections 1 16 64] [--workers 2] [--zooms 12 … 17] [--layers buildings roads] [--no-peer] [--who-points 500] [--database URL] [--no-autogroup]

Needs PostgreSQL with PostGIS (a throwaway server is started, as for the tests, unless
GRIDMAP_TEST_POSTGRES_URL names one), ``wrk`` (Debian package) and tipg, which is installed
into ``.bench/tipg-venv`` on first use (it is a peer, not a dependency of gridmap).

Three servers, each in ``--workers`` processes: gridmap with its tile cache off (every
request cut anew: cold), gridmap with its cache (warm), and tipg (which keeps none). For the
``buildings`` and ``roads`` layers at zooms 12–17 over the district, printed per server:
every tile fetched once in turn by one client (cold p50, p99), then wrk over the tiles at
each ``--connections`` count: requests per second, p50, p99 and failed requests. The wrk runs
go in rounds, each round one run of every server in turn, so that a change in the machine's
speed (on a shared machine, by a fifth or more within minutes) falls on all of them alike:
printed are each run, then each server over all its rounds (the highest p99 of its rounds),
and each ratio as the median of the rounds' own, of two runs next to each other in time. Our tiles
are fetched as a planner (the token is checked on every request); tipg needs no sign-in.
Both servers log each request, as uvicorn does by default (to nowhere: their output is
dropped).
Before each run the share of the cores the rest of the machine keeps busy is sampled for a
second; a round's ratio counts only where its two runs started alike (within 10 %).
A throwaway database is vacuumed and analysed once filled. The load line says whether the
kernel's autogroup is on: where it is, each PostgreSQL backend (a session of its own) weighs
as much as a whole server, and the tails measure the scheduler; ``--no-autogroup`` turns it
off for the run (as root), as on a server whose services run in control groups.
Then ``/who`` latency at random points, one at a time and under load. Targets: cold, 2× tipg's
throughput at 16 connections with p99 under 50 ms; one client's cold p99 below tipg's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import httpx2 as httpx  # the test extras' HTTP client
import morecantile
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    NO_AUTOGROUP_HELP,
    Served,
    alike,
    autogroup_off,
    cycling_script,
    launch,
    machine_load,
    need_wrk,
    others_now,
    postgis,
    steady_ratio,
    wrk,
)

TIPG_VENV = ROOT / ".bench" / "tipg-venv"
LAYERS = ("buildings", "roads")
ZOOMS = (12, 13, 14, 15, 16, 17)
TMS = morecantile.tms.get("WebMercatorQuad")


def tipg_python() -> Path:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        print("installing tipg into .bench/tipg-venv …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
    return python


def prepare(url: str, fill: bool = True) -> tuple[tuple[float, float, float, float], str]:
    """The demo district written into the database, then vacuumed and analysed (unless
    ``fill`` is false: it holds it already), and a planner's token; returns (bounds, token)."""
    from gridmap.accounts import add_user, list_users, sign_in
    from gridmap.demo.build import generate, write_demo
    from gridmap.settings import Settings
    from gridmap.store.engine import make_engine
    from gridmap.store.layers import read_layer
    from gridmap.store.schema import init_db

    engine = make_engine(url)
    if fill:
        init_db(engine)
        write_demo(engine, generate(seed=Settings().demo_seed))
        # settled, as a database in service is: otherwise PostgreSQL's autovacuum visits every
        # table just written in the first minute, while the servers are measured
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    if "bench" not in {user.name for user in list_users(engine)}:  # a database given may have it
        add_user(engine, "bench", "planner", "bench-password")
    token, _ = sign_in(engine, "bench", "bench-password")
    bounds = tuple(float(v) for v in read_layer(engine, "communities").total_bounds)
    engine.dispose()
    return bounds, token


def tile_paths(
    bounds: tuple[float, float, float, float], zooms: Sequence[int] = ZOOMS
) -> dict[str, list[str]]:
    """z/x/y of every tile over ``bounds`` (lon/lat) at ``zooms`` (12–17)."""
    return {str(z): [f"{z}/{t.x}/{t.y}" for t in TMS.tiles(*bounds, zooms=[z])] for z in zooms}


def cold(client: httpx.Client, urls: list[str], headers: dict) -> np.ndarray:
    """Milliseconds of each url fetched once, in turn."""
    out = []
    for url in urls:
        start = time.perf_counter()
        r = client.get(url, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code in (200, 204), (url, r.status_code, r.text[:200])
    return np.array(out)


def load(base: str, paths: list[str], headers: dict, seconds: int, connections: int) -> dict:
    """wrk over ``paths`` in turn: requests/s, latency p50 and p99 (ms), failed requests, and
    of those the ones wrk gave up on after 2 s."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = cycling_script(listing, 'return wrk.format("GET", line)')
        got = wrk(base, script, connections=connections, seconds=seconds, headers=headers)
    return {
        "rps": got["per_second"],
        "p50": got["p50_ms"],
        "p99": got["p99_ms"],
        "errors": int(got["errors"]),
        "timeouts": int(got["timeouts"]),
    }


#: the servers measured, in the order of the first round
SERVERS = ("gridmap cold", "gridmap warm", "tipg")

Run = tuple[dict, float]  # what load() gave, and the share of the cores others kept busy before


def in_rounds(
    names: Sequence[str],
    rounds: int,
    measure: Callable[[str], dict],
    tell: Callable[[str, int, dict, float], None],
) -> dict[str, list[Run]]:
    """Each of ``names`` measured once a round, in turn, each round beginning with the next
    name (so that none is always measured first or last as the machine's speed moves);
    ``tell`` hears each run as it ends. Returns each name's runs in round order."""
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for k in range(rounds):
        for name in [*names[k % len(names) :], *names[: k % len(names)]]:
            before = others_now()
            runs[name].append((measure(name), before))
            tell(name, k, runs[name][-1][0], before)
    return runs


def over_rounds(results: Sequence[dict]) -> dict:
    """Several rounds' runs of one server as one: requests/s over all of them (the rounds are
    equally long), the median of their p50s, the highest of their p99s (no more than one
    request in a hundred of all the rounds took longer) and every failed request."""
    return {
        "rps": float(np.mean([r["rps"] for r in results])),
        "p50": float(np.median([r["p50"] for r in results])),
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def paired_ratio(mine: Sequence[Run], theirs: Sequence[Run], key: str) -> str:
    """The median over the rounds of ``mine[key] / theirs[key]``, each ratio of the two runs of
    one round, with each round's; a round where the rest of the machine was busier before one
    run than before the other is left out, and said so (:func:`steady_ratio`)."""
    pairs = list(zip(mine, theirs, strict=True))
    said = [steady_ratio(m[key], t[key], before_m, before_t) for (m, before_m), (t, before_t) in pairs]
    kept = [m[key] / t[key] for (m, before_m), (t, before_t) in pairs if alike(before_m, before_t)]
    if not kept:
        return f"no ratio in any round ({'; '.join(said)})"
    return f"{float(np.median(kept)):.2f}× (rounds: {', '.join(said)})"


def _load_at(bases, paths, headers, seconds: int, connections: int, name: str) -> dict:
    return load(bases[name], paths[name], headers[name], seconds, connections)


def _say_run(connections: int, name: str, k: int, r: dict, before: float) -> None:
    print(f"  {connections:5d} {name:13} {r['rps']:7.0f} {r['p50']:7.1f} {r['p99']:7.1f} {r['errors']:6d} "
          f"{before:11.0%}  round {k + 1}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="seconds of each wrk run")
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="rounds of wrk runs at each connection count, each round one run of every server",
    )  # fmt: skip
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[1, 16, 64], help="wrk connections, one run each"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes of each server")
    parser.add_argument("--who-points", type=int, default=500, help="random points asked of /who")
    parser.add_argument(
        "--passes", type=int, default=3,
        help="passes of one client over every tile: a p99 of one pass is its few slowest tiles, each timed once",
    )  # fmt: skip
    parser.add_argument(
        "--database", help="a PostGIS database that holds the demo (default: a throwaway one)"
    )
    parser.add_argument("--zooms", type=int, nargs="+", default=list(ZOOMS), help="the zooms fetched")
    parser.add_argument(
        "--layers", nargs="+", default=list(LAYERS), choices=LAYERS, help="the layers fetched"
    )
    parser.add_argument(
        "--no-peer", action="store_true", help="gridmap alone: tipg neither installed nor run"
    )
    parser.add_argument("--no-autogroup", action="store_true", help=NO_AUTOGROUP_HELP)
    args = parser.parse_args()
    for name in ("seconds", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)}: expected a whole number of 1 or more")
    need_wrk()
    python = None if args.no_peer else tipg_python()

    with autogroup_off(args.no_autogroup), postgis(args.database) as url:
        bounds, token = prepare(url, fill=not args.database)
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        tipg_env = dict(
            os.environ, DATABASE_URL=plain, TIPG_DB_SCHEMAS='["public"]', TIPG_MAX_FEATURES_PER_QUERY="10000"
        )
        commands = {
            "gridmap cold": ([str(ROOT / ".venv" / "bin" / "gridmap"), "serve", "--workers", str(args.workers)],
                             {"GRIDMAP_DATABASE_URL": url, "GRIDMAP_TILE_CACHE_TILES": "0"}, "/conformance"),
            "gridmap warm": ([str(ROOT / ".venv" / "bin" / "gridmap"), "serve", "--workers", str(args.workers)],
                             {"GRIDMAP_DATABASE_URL": url}, "/conformance"),
        }  # fmt: skip
        if python is not None:
            commands["tipg"] = ([str(python), "-m", "uvicorn", "tipg.main:app", "--workers",
                                 str(args.workers)], tipg_env, "/collections")  # fmt: skip
        servers: dict[str, Served] = {}
        try:
            for name, (command, env, _) in commands.items():  # started together, then waited for
                servers[name] = launch(name, command, env)
            for name, (_, _, ready) in commands.items():
                servers[name].wait_ready(ready, seconds=60)
            run({name: served.url for name, served in servers.items()}, bounds, token, args)
        finally:  # all told to stop, then waited for: each takes a moment to close
            for served in servers.values():
                served.process.terminate()
            for served in servers.values():
                served.stop()


def run(bases: dict[str, str], bounds, token: str, args) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    by_zoom = tile_paths(bounds, args.zooms)
    all_tiles = [p for paths in by_zoom.values() for p in paths]
    print(f"{len(all_tiles)} tiles per layer over zooms {', '.join(by_zoom)} "
          f"({', '.join(f'z{z}: {len(p)}' for z, p in by_zoom.items())}); {args.workers} processes per server; "
          f"{machine_load()}")  # fmt: skip
    for layer in args.layers:
        paths = {
            name: [f"/tiles/{layer}/{p}" for p in all_tiles] for name in ("gridmap cold", "gridmap warm")
        }
        paths["tipg"] = [f"/collections/public.{layer}/tiles/WebMercatorQuad/{p}" for p in all_tiles]
        headers = {"gridmap cold": auth, "gridmap warm": auth, "tipg": {}}
        times = (
            "once"
            if args.passes == 1
            else f"{args.passes} times, a pass of every tile on each server in turn"
        )
        print(f"\n{layer}: one client, each tile {times} (ms)")
        single: dict[str, np.ndarray] = {}
        with httpx.Client(timeout=60) as client:
            for _ in range(args.passes):  # no cache on either side: each pass is as cold as the first
                for name in ("gridmap cold", "tipg"):
                    if name in bases:
                        took = cold(client, [bases[name] + p for p in paths[name]], headers[name])
                        single[name] = np.concatenate([single.get(name, np.zeros(0)), took])
            for name in ("gridmap cold", "tipg"):
                if name not in bases:
                    print(f"  {name:13} not run (--no-peer)")
                    continue
                print(
                    f"  {name:13} p50 {np.percentile(single[name], 50):6.1f}  p99 {np.percentile(single[name], 99):6.1f}"
                )
        if "tipg" in single:
            share = np.percentile(single["gridmap cold"], 99) / np.percentile(single["tipg"], 99)
            print(f"  cold p99, gridmap / tipg: {share:.2f}×")
        print(f"{layer}: under load with wrk, {args.rounds} rounds of {args.seconds} s a server, the servers "
              f"in turn (each round begins with the next)")  # fmt: skip
        print(
            f"  {'conn.':>5} {'server':13} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} {'others busy':>11}"
        )
        for n in args.connections:
            runs = in_rounds(
                [name for name in SERVERS if name in bases],
                args.rounds,
                partial(_load_at, bases, paths, headers, args.seconds, n),
                partial(_say_run, n),
            )
            for name, got in runs.items():
                r = over_rounds([result for result, _ in got])
                print(f"  {n:5d} {name:13} {r['rps']:7.0f} {r['p50']:7.1f} {r['p99']:7.1f} {r['errors']:6d} "
                      f"{'':11}  all rounds (p99: the highest)")  # fmt: skip
            if "tipg" not in runs:
                continue
            uncached, cached, tipg = runs["gridmap cold"], runs["gridmap warm"], runs["tipg"]
            print(f"        throughput vs tipg: cold {paired_ratio(uncached, tipg, 'rps')}, "
                  f"warm (our cache on, tipg has none) {paired_ratio(cached, tipg, 'rps')}; "
                  f"p99 vs tipg: cold {paired_ratio(uncached, tipg, 'p99')}")  # fmt: skip
    rng = np.random.default_rng(1)
    points = [
        (rng.uniform(bounds[0], bounds[2]), rng.uniform(bounds[1], bounds[3])) for _ in range(args.who_points)
    ]
    who_paths = [f"/who?lon={x:.6f}&lat={y:.6f}" for x, y in points]
    base = bases["gridmap warm"]
    with httpx.Client(timeout=60) as client:
        cold(client, [base + who_paths[0]], auth)  # builds the lookup index
        one = cold(client, [base + p for p in who_paths], auth)
    print(f"\n/who one at a time: p50 {np.percentile(one, 50):.2f} ms, p99 {np.percentile(one, 99):.2f} ms")
    for n in args.connections:
        loaded = load(base, who_paths, auth, args.seconds, n)
        print(f"/who under load, {n} connections: {loaded['rps']:.0f} req/s, p50 {loaded['p50']:.1f} ms, "
              f"p99 {loaded['p99']:.1f} ms, {loaded['errors']} failed")  # fmt: skip
    print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
