"""Vector tiles and ``/who`` under load: gridmap's service against tipg, both serving the
demo district from the same PostGIS database in the same run.

    python bench/tiles.py [--seconds 10] [--connections 4 16]

Needs PostgreSQL with PostGIS (a throwaway server is started, as for the tests, unless
GRIDMAP_TEST_POSTGRES_URL names one), ``wrk`` (Debian package) and tipg, which is installed
into ``.bench/tipg-venv`` on first use (it is a peer, not a dependency of gridmap).

For the ``buildings`` and ``roads`` layers at zooms 12–17 over the district, prints per
server: the latency of each tile fetched once in turn (cold: p50, p99), and under
concurrent load with wrk (4, then 16 connections over 2 threads): requests per second and p50,
p99. Our tiles are fetched as a planner (a signed-in role: the token is checked on every
request); tipg needs no sign-in. Then ``/who`` latency at random points of the district,
one at a time and under load. Targets: at least tipg's throughput; tile p99 under 50 ms;
``/who`` p50 under 5 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx  # the test extras' HTTP client
import morecantile
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TIPG_VENV = ROOT / ".bench" / "tipg-venv"
LAYERS = ("buildings", "roads")
ZOOMS = range(12, 18)
TMS = morecantile.tms.get("WebMercatorQuad")


def tipg_python() -> Path:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        print("installing tipg into .bench/tipg-venv …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> tuple[tuple[float, float, float, float], str]:
    """The demo district in the database and a planner's token; returns (bounds, token)."""
    from gridmap.accounts import add_user, sign_in
    from gridmap.demo.build import generate, write_demo
    from gridmap.settings import Settings
    from gridmap.store.engine import make_engine
    from gridmap.store.layers import read_layer
    from gridmap.store.schema import init_db

    engine = make_engine(url)
    init_db(engine)
    write_demo(engine, generate(seed=Settings().demo_seed))
    add_user(engine, "bench", "planner", "bench-password")
    token, _ = sign_in(engine, "bench", "bench-password")
    bounds = tuple(float(v) for v in read_layer(engine, "communities").total_bounds)
    engine.dispose()
    return bounds, token


def wait_up(url: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def tile_paths(bounds: tuple[float, float, float, float]) -> dict[str, list[str]]:
    """z/x/y of every tile over ``bounds`` (lon/lat) at zooms 12–17."""
    return {str(z): [f"{z}/{t.x}/{t.y}" for t in TMS.tiles(*bounds, zooms=[z])] for z in ZOOMS}


def cold(client: httpx.Client, urls: list[str], headers: dict) -> np.ndarray:
    """Milliseconds of each url fetched once, in turn."""
    out = []
    for url in urls:
        start = time.perf_counter()
        r = client.get(url, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code in (200, 204), (url, r.status_code, r.text[:200])
    return np.array(out)


WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def load(base: str, paths: list[str], headers: dict, seconds: int, connections: int) -> dict:
    """wrk over ``paths`` in turn: requests/s and latency p50, p99 (ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(tmp) / "paths.lua"
        script.write_text(WRK_SCRIPT % listing)
        args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        out = subprocess.run([*args, base], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[4, 16], help="wrk connections, one run each"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    from bench.common import postgis

    python = tipg_python()

    with postgis() as url:
        bounds, token = prepare(url)
        ours_port, tipg_port = free_port(), free_port()
        env = dict(os.environ, GRIDMAP_DATABASE_URL=url)
        ours = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gridmap"), "serve", "--port", str(ours_port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        tipg_env = dict(
            os.environ, DATABASE_URL=plain, TIPG_DB_SCHEMAS='["public"]', TIPG_MAX_FEATURES_PER_QUERY="10000"
        )
        peer = subprocess.Popen(
            [str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(tipg_port), "--log-level", "warning"],
            env=tipg_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            ours_base, tipg_base = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{tipg_port}"
            wait_up(f"{ours_base}/conformance", ours)
            wait_up(f"{tipg_base}/collections", peer)
            run(ours_base, tipg_base, bounds, token, args)
        finally:
            for proc in (ours, peer):
                proc.terminate()
                proc.wait(10)


def run(ours_base: str, tipg_base: str, bounds, token: str, args) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    by_zoom = tile_paths(bounds)
    all_tiles = [p for paths in by_zoom.values() for p in paths]
    print(
        f"{len(all_tiles)} tiles per layer over zooms 12–17 ({', '.join(f'z{z}: {len(p)}' for z, p in by_zoom.items())})"
    )
    rows = []
    with httpx.Client(timeout=60) as client:
        for layer in LAYERS:
            ours_paths = [f"/tiles/{layer}/{p}" for p in all_tiles]
            tipg_paths = [f"/collections/public.{layer}/tiles/WebMercatorQuad/{p}" for p in all_tiles]
            c_ours = cold(client, [ours_base + p for p in ours_paths], auth)
            c_tipg = cold(client, [tipg_base + p for p in tipg_paths], {})
            for n in args.connections:
                l_ours = load(ours_base, ours_paths, auth, args.seconds, n)
                l_tipg = load(tipg_base, tipg_paths, {}, args.seconds, n)
                rows.append((f"{layer}, {n}", c_ours, c_tipg, l_ours, l_tipg))
    print(
        f"\n{'layer, conn.':14} {'server':8} {'cold p50':>9} {'cold p99':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
    )
    for layer, c_ours, c_tipg, l_ours, l_tipg in rows:
        for name, c, load_ in (("gridmap", c_ours, l_ours), ("tipg", c_tipg, l_tipg)):
            print(f"{layer:14} {name:8} {np.percentile(c, 50):9.1f} {np.percentile(c, 99):9.1f} "
                  f"{load_['rps']:8.0f} {load_['p50']:7.1f} {load_['p99']:7.1f} {load_['errors']:6d}")  # fmt: skip
        print(f"{layer:14} ratio    throughput {l_ours['rps'] / l_tipg['rps']:.1f}× tipg's; p99 under load "
              f"{l_ours['p99'] / l_tipg['p99']:.2f}× tipg's; cold p99 {np.percentile(c_ours, 99) / np.percentile(c_tipg, 99):.2f}× tipg's")  # fmt: skip
    rng = np.random.default_rng(1)
    points = [(rng.uniform(bounds[0], bounds[2]), rng.uniform(bounds[1], bounds[3])) for _ in range(500)]
    who_paths = [f"/who?lon={x:.6f}&lat={y:.6f}" for x, y in points]
    with httpx.Client(timeout=60) as client:
        cold(client, [ours_base + who_paths[0]], auth)  # builds the lookup index
        single = cold(client, [ours_base + p for p in who_paths], auth)
    print(
        f"\n/who one at a time: p50 {np.percentile(single, 50):.2f} ms, p99 {np.percentile(single, 99):.2f} ms"
    )
    for n in args.connections:
        loaded = load(ours_base, who_paths, auth, args.seconds, n)
        print(f"/who under load, {n} connections: {loaded['rps']:.0f} req/s, p50 {loaded['p50']:.1f} ms, "
              f"p99 {loaded['p99']:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
