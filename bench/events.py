"""Grid events benchmark: filing throughput over HTTP with routing, and the figures of a
million events.

    python bench/events.py [--requests 2000] [--concurrency 8] [--events 1000000]

1. Filing: the demo district in a SpatiaLite file, the service in uvicorn (one process, as
   `gridmap serve` runs it), and `--concurrency` client threads posting Open311 requests
   (form bodies, a sign-in token) at random points inside the demo's grids: each request is
   placed by the /who lookup, validated, stored with its first step and audited. Printed:
   requests per second, and the median and p99 latency in milliseconds. Targets: ≥ 500/s,
   p99 < 50 ms on 2 cores.
2. Figures: `--events` synthetic events over the demo's grids (filed over a year, with
   responses, closures and ratings), and `gridmap.events.event_figures` by grid, timed after
   one untimed run. Target: under 2 s for a million.

The machine's load is printed before each part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_database(folder: Path) -> str:
    from gridmap.accounts import add_user
    from gridmap.demo.build import build_demo
    from gridmap.settings import Settings
    from gridmap.store.engine import make_engine

    url = f"sqlite:///{folder / 'bench.sqlite'}"
    engine = make_engine(url)
    build_demo(engine, Settings(database_url=url))
    add_user(engine, "bench", "admin", "bench-password")
    engine.dispose()
    return url


def points_in_grids(url: str, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    import shapely

    from gridmap.store.engine import make_engine
    from gridmap.store.layers import read_layer

    engine = make_engine(url)
    grids = read_layer(engine, "grids")
    engine.dispose()
    shapes = grids.geometry.to_numpy()
    out: list[tuple[float, float]] = []
    while len(out) < n:
        g = shapes[rng.integers(len(shapes))]
        w, s, e, north = g.bounds
        x, y = rng.uniform(w, e), rng.uniform(s, north)
        if shapely.contains_xy(g, x, y):
            out.append((x, y))
    return out


def filing(url: str, requests: int, concurrency: int) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/open311/discovery.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        body = json.dumps({"name": "bench", "password": "bench-password"}).encode()
        sign_in = urllib.request.Request(
            f"{base}/auth/token", data=body, headers={"Content-Type": "application/json"}
        )
        token = json.loads(urllib.request.urlopen(sign_in).read())["access_token"]
        points = points_in_grids(url, requests + 50, np.random.default_rng(1))

        def post(lon: float, lat: float) -> float:
            form = urllib.parse.urlencode({"service_code": "environment", "lat": f"{lat:.7f}", "long": f"{lon:.7f}",
                                           "description": "bench"}).encode()  # fmt: skip
            request = urllib.request.Request(f"{base}/open311/v2/requests.json", data=form,
                                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
                assert answer.status == 201
            return time.perf_counter() - started

        for lon, lat in points[:50]:  # warm up: the lookup index and the connection pool
            post(lon, lat)
        work = points[50:]
        latencies: list[float] = []
        lock = threading.Lock()

        def worker(part: list[tuple[float, float]]) -> None:
            for lon, lat in part:
                took = post(lon, lat)
                with lock:
                    latencies.append(took)

        threads = [threading.Thread(target=worker, args=(work[i::concurrency],)) for i in range(concurrency)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "per_second": len(ms) / seconds, "median_ms": statistics.median(ms),
            "p99_ms": ms[int(0.99 * (len(ms) - 1))]}  # fmt: skip


def synthetic_events(n: int, grids: int, rng: np.random.Generator) -> pd.DataFrame:
    start = np.datetime64("2026-01-01T00:00")
    filed = start + (rng.uniform(0, 365 * 24 * 60, n)).astype("timedelta64[m]")
    hour = np.timedelta64(60, "m")
    accepted = filed + (rng.exponential(3, n) * 60).astype("timedelta64[m]")
    resolved = filed + (rng.uniform(1, 60, n) * 60).astype("timedelta64[m]")
    open_ = rng.random(n) < 0.02
    rating = np.where(rng.random(n) < 0.8, rng.integers(2, 6, n), -1).astype(float)
    rating[rating < 0] = np.nan
    return pd.DataFrame({
        "grid_id": rng.integers(1, grids + 1, n), "state": np.where(open_, "in_progress", "closed"),
        "filed_at": filed, "first_claim_due_at": filed + 24 * hour, "due_at": filed + 48 * hour,
        "accepted_at": accepted, "resolved_at": np.where(open_, np.datetime64("NaT"), resolved),
        "rating": np.where(open_, np.nan, rating), "escalations": (rng.random(n) < 0.05).astype(int),
        "category": "environment", "source": "patrol",
    })  # fmt: skip


def figures(n: int) -> dict[str, float]:
    from gridmap.events import event_figures

    events = synthetic_events(n, 400, np.random.default_rng(2))
    now = dt.datetime(2027, 1, 1)
    event_figures(events.iloc[:1000], by="grid_id", now=now)  # untimed: imports and first calls
    started = time.perf_counter()
    table = event_figures(events, by="grid_id", now=now)
    return {"events": n, "units": len(table) - 1, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = demo_database(Path(folder))
        print(f"filing over HTTP ({load()})")
        result = filing(url, args.requests, args.concurrency)
        print(f"  {result['requests']} Open311 requests, {args.concurrency} clients: {result['per_second']:.0f}/s, "
              f"median {result['median_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (targets: ≥ 500/s, p99 < 50 ms)")  # fmt: skip
    print(f"figures ({load()})")
    result = figures(args.events)
    print(
        f"  {result['events']:,} events by {result['units']} grids: {result['seconds']:.2f} s (target: < 2 s)"
    )


if __name__ == "__main__":
    main()
