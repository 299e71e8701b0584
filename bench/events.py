"""Grid events benchmark: filing throughput over HTTP with routing, and the figures of a
million events.

    python bench/events.py [--seconds 10] [--connections 8] [--workers 2] [--postgis] [--edits 200]
                           [--events 1000000]

1. Filing: the demo district in a SpatiaLite file (or, with ``--postgis``, a throwaway PostGIS
   database), the service as `gridmap serve --workers N` runs it, and wrk
   (``apt-get install wrk``) holding ``--connections`` connections that post Open311 requests
   (form bodies, a sign-in token) at random points inside the demo's grids: each request is
   placed by the /who lookup, validated, stored with its first step and audited. ``--warm`` (200)
   untimed filings first (each process reads its lookup once). Printed: requests per second, the
   median and p99 latency in milliseconds and the failed requests. Targets: ≥ 500/s, p99 <
   50 ms on 2 cores, the load generator on the same cores.
2. Editing: ``--edits`` (200) updates of households by a grid worker of the grid of most
   households, one at a time over HTTP on the same service before wrk starts, each read first
   for its tag and sent with ``If-Match`` (checked, locked against its tag, stored, audited
   and answered): the median and p99 of the updates in milliseconds; and the median of the
   worker's ``/my-area``, read as many times while nothing changes and after each update.
3. Figures: `--events` synthetic events over the demo's grids (filed over a year, with
   responses, closures and ratings), and `gridmap.events.event_figures` by grid, timed after
   one untimed run. Target: under 2 s for a million.

The machine's load is printed before and after each part.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    NO_AUTOGROUP_HELP,
    autogroup_off,
    cycling_script,
    demo_file,
    machine_load,
    need_wrk,
    postgis,
    serve,
    wrk,
)

#: wrk's request: a POST of an Open311 request at the point of ``line`` ("lon,lat")
FILING_REQUEST = """local lon, lat = line:match("([^,]+),([^,]+)")
  local body = "service_code=environment&description=bench&lat=" .. lat .. "&long=" .. lon
  return wrk.format("POST", "/open311/v2/requests.json",
    {["Authorization"] = "Bearer %s", ["Content-Type"] = "application/x-www-form-urlencoded"}, body)"""


def demo_database(folder: Path, url: str | None = None, copy_of: Path | None = None) -> str:
    """The demo district, a ``bench`` admin and a ``bench-worker`` of the grid of most
    households in ``url``, or in a new SpatiaLite file (a copy of the demo database
    ``copy_of`` when given, else built)."""
    from gridmap.accounts import add_user
    from gridmap.demo.build import build_demo
    from gridmap.settings import Settings
    from gridmap.store.engine import make_engine
    from gridmap.store.layers import read_layer

    if url is None and copy_of is not None:
        url = demo_file(folder, copy_of)
        engine = make_engine(url)
    else:
        url = url or f"sqlite:///{folder / 'bench.sqlite'}"
        engine = make_engine(url)
        build_demo(engine, Settings(database_url=url))
    add_user(engine, "bench", "admin", "bench-password")
    grids = read_layer(engine, "grids", columns=["code", "households"], geometry=False)
    busiest = grids.sort_values(["households", "code"], ascending=[False, True])["code"].iloc[0]
    add_user(engine, "bench-worker", "grid_worker", "bench-password", [busiest])
    engine.dispose()
    return url


def points_in_grids(url: str, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``n`` random points (EPSG:4326) inside the stored grids."""
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


def _token(base: str, name: str) -> str:
    body = json.dumps({"name": name, "password": "bench-password"}).encode()
    sign_in = urllib.request.Request(
        f"{base}/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    return json.loads(urllib.request.urlopen(sign_in).read())["access_token"]


def filing(
    url: str, base: str, folder: Path, *, seconds: int, connections: int, warm: int = 200
) -> dict[str, float]:
    """Open311 filings from wrk against the service at ``base`` (over ``url``) for ``seconds``."""
    token = _token(base, "bench")
    points = points_in_grids(url, 5000, np.random.default_rng(1))
    for lon, lat in points[:warm]:  # untimed: each process's lookup and connections
        form = urllib.parse.urlencode({"service_code": "environment", "lat": lat, "long": lon}).encode()
        request = urllib.request.Request(f"{base}/open311/v2/requests.json", data=form,
                                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert urllib.request.urlopen(request, timeout=60).status == 201
    listing = folder / "points.txt"
    listing.write_text("\n".join(f"{x:.7f},{y:.7f}" for x, y in points[warm:]) + "\n")
    script = cycling_script(listing, FILING_REQUEST % token)
    return wrk(base, script, connections=connections, seconds=seconds)


def editing(base: str, edits: int) -> dict[str, float]:
    """``edits`` updates of the households of the ``bench-worker``'s grid, one at a time: each
    read for its tag, then sent with it; the updates' median and p99 (ms), and the median of
    the worker's ``/my-area`` (ms) read as often while nothing changes and after each update."""
    from gridmap.timing import timed

    auth = {"Authorization": f"Bearer {_token(base, 'bench-worker')}"}

    def call(method: str, path: str, body: dict | None = None, headers: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                         headers={**auth, "Content-Type": "application/json", **(headers or {})})  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.headers, json.loads(answer.read())

    def seconds(*request) -> float:
        return timed(lambda: call(*request))[1]

    _, area = call("GET", "/my-area")
    homes = [h["id"] for h in area["households"]]
    quiet = [seconds("GET", "/my-area") for _ in range(edits)]
    took, after = [], []
    for i in range(edits):
        home = homes[i % len(homes)]
        headers, _ = call("GET", f"/collections/households/items/{home}")
        took.append(seconds("PATCH", f"/collections/households/items/{home}",
                          {"type": "Feature", "properties": {"residents": 1 + i % 4}}, {"If-Match": headers["ETag"]}))  # fmt: skip
        after.append(seconds("GET", "/my-area"))
    ms = np.array(took) * 1000
    return {
        "edits": edits,
        "homes": len(homes),
        "p50_ms": float(np.median(ms)),
        "p99_ms": float(np.percentile(ms, 99)),
        "area_quiet_ms": float(np.median(quiet) * 1000),
        "area_after_ms": float(np.median(after) * 1000),
    }


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
    parser.add_argument("--seconds", type=int, default=10, help="how long wrk files events")
    parser.add_argument("--connections", type=int, default=8, help="wrk's open connections")
    parser.add_argument("--workers", type=int, default=2, help="service processes")
    parser.add_argument(
        "--postgis", action="store_true", help="a throwaway PostGIS (default: a SpatiaLite file)"
    )
    parser.add_argument(
        "--demo-file", type=Path, help="a SpatiaLite demo database to copy instead of building one"
    )
    parser.add_argument("--warm", type=int, default=200, help="untimed filings before wrk starts")
    parser.add_argument("--edits", type=int, default=200, help="a grid worker's household updates, timed")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--no-autogroup", action="store_true", help=NO_AUTOGROUP_HELP)
    args = parser.parse_args()
    need_wrk()
    with (
        autogroup_off(args.no_autogroup),
        tempfile.TemporaryDirectory() as folder,
        postgis() if args.postgis else contextlib.nullcontext() as pg,
    ):
        url = demo_database(Path(folder), pg, args.demo_file)
        backend = "PostGIS" if url.startswith("postgresql") else "SpatiaLite"
        served = serve(url, args.workers, ready_path="/open311/discovery.json")
        try:
            print(f"editing over HTTP on {backend}, {args.workers} service processes ({machine_load()})")
            e = editing(served.url, args.edits)
            print(f"  {e['edits']} updates of the {e['homes']} households of a grid worker's grid, one at a time: "
                  f"median {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms")  # fmt: skip
            print(f"  the worker's /my-area: median {e['area_quiet_ms']:.1f} ms while nothing changes, "
                  f"{e['area_after_ms']:.1f} ms right after each update")  # fmt: skip
            print(f"  after: {machine_load()}")
            print(f"filing over HTTP on {backend}, {args.workers} service processes ({machine_load()})")
            r = filing(url, served.url, Path(folder), seconds=args.seconds, connections=args.connections,
                       warm=args.warm)  # fmt: skip
        finally:
            served.stop()
        print(f"  {r['requests']} Open311 requests from wrk, {args.connections} connections: {r['per_second']:.0f}/s, "
              f"median {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['errors']} failed "
              f"(targets: ≥ 500/s, p99 < 50 ms)")  # fmt: skip
        print(f"  after: {machine_load()}")
    print(f"figures ({machine_load()})")
    result = figures(args.events)
    print(
        f"  {result['events']:,} events by {result['units']} grids: {result['seconds']:.2f} s (target: < 2 s)"
    )
    print(f"  after: {machine_load()}")


if __name__ == "__main__":
    main()
