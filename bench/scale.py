"""Scale benchmark: coverage of a synthetic province in parts on a local Dask cluster, and the
service's tiles under 200 clients on one and two processes.

    python bench/scale.py [--tiles 32] [--compare-tiles 8] [--district-tiles 2] [--seconds 30]
    python bench/scale.py --no-service      # the coverage part only
    python bench/scale.py --no-province     # the service part only
    python bench/scale.py --tiles 1 --compare-tiles 1 --district-tiles 1 --seconds 1   # smallest

The province tiles the real demo network TILES × TILES times (32 × 32: about 2.2 million
street nodes and 1.1 million homes, 20 facilities of 12 categories a copy), written once to
GeoParquet under ``.bench/`` (sorted along a Hilbert curve, so that a part reads a few row
groups); each district is DISTRICT-TILES × DISTRICT-TILES copies. Each run is a process of
its own, started cold, reading the same files:

- at COMPARE-TILES × COMPARE-TILES (the size one process holds comfortably): one process,
  then the parts on a local cluster of 1 and of 2 workers; wall time, the peak memory of the
  process that gathers and of each worker, the speed-up from 1 to 2 workers, and the largest
  difference from one process in any home's walk and in any figure (target: none);
- at TILES × TILES: the parts on 1 and 2 workers, with the same measures (target: speed-up
  ≥ 1.8×, each worker's peak memory set by its part, as at the smaller size, not by the
  province);
- the machine's own ceiling for that speed-up: the same parts (CEILING_PARTS of them, spread
  over the province) walked without Dask by one process alone, then by two processes at once,
  each all of them: how much more two processes do in the same time than one, on these cores,
  for this work.

The service: the demo district on a throwaway PostGIS (as for the tests), ``gridmap serve
--workers N`` for N = 1 and 2 (``--processes``) with the tile folder shared, and wrk with 200
connections over the buildings tiles of zooms 12–17 (``--zooms``), each cut once into the
shared folder before the run and each process keeping tiles in memory too, as deployed:
requests/s, p50, p99 and failed requests (target: no failures and p99 under 50 ms with two
workers). After each, the floor: the same load on as many processes of
``bench/bare_tiles.py``, which runs the service's statement for each request and answers
fixed bytes, and nothing else: the most the service's code could reach on this machine. wrk opens its 200
connections at once; a 30 s run (the default) keeps the first request on each, about 1 % of
a 10 s run's, from setting the p99 alone. The machine's load is printed before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    INLINE,
    NO_AUTOGROUP_HELP,
    autogroup_off,
    demo_file,
    machine_load,
    others_now,
    run_part,
)
from bench.coverage import CATEGORIES, _demo_layers  # noqa: E402

FACILITIES_PER_COPY = 20
CEILING_PARTS = 16


def make_province(tiles: int, district_tiles: int, folder: Path) -> dict:
    """The demo copied tiles × tiles times with districts of district_tiles² copies, as
    GeoParquet in ``folder``."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from gridmap.scale.sources import write_parquet
    from gridmap.study_area import CoverageInputs

    layers = _demo_layers()
    metric = layers["roads"].estimate_utm_crs()
    base = {name: layers[name].to_crs(metric) for name in ("roads", "buildings", "facilities")}
    fac = base["facilities"]
    first = fac["categories"].str.split(",").map(lambda cs: next((c for c in cs if c in CATEGORIES), None))
    base["facilities"] = fac[first.notna()].assign(categories=first[first.notna()], level=pd.NA)
    bld = base["buildings"]
    bld["households"] = bld["households"].fillna(0).clip(lower=1)
    bld["residents"] = bld["residents"].fillna(0).clip(lower=2)
    minx, miny, maxx, maxy = base["roads"].total_bounds
    step_x, step_y = maxx - minx + 200.0, maxy - miny + 200.0
    rng = np.random.default_rng(1)
    out: dict[str, list] = {name: [] for name in base}
    for i in range(tiles):
        for j in range(tiles):
            shift = np.array([i * step_x, j * step_y])
            for name, frame in base.items():
                if name == "facilities":
                    frame = frame.iloc[np.sort(rng.choice(len(frame), FACILITIES_PER_COPY, replace=False))]
                moved = frame.copy()
                moved.geometry = shapely.transform(frame.geometry.values, lambda xy, s=shift: xy + s)
                out[name].append(moved)
    frames = {}
    for name, parts in out.items():
        frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=metric).to_crs(4326)
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        frames[name] = frame
    blocks = range(0, tiles, district_tiles)
    squares = [
        shapely.box(minx - 100 + i * step_x, miny - 100 + j * step_y,
                    minx - 100 + min(i + district_tiles, tiles) * step_x, miny - 100 + min(j + district_tiles, tiles) * step_y)
        for i in blocks for j in blocks
    ]  # fmt: skip
    districts = gpd.GeoDataFrame(
        {"code": [f"D{k:04d}" for k in range(len(squares))], "name": [f"区{k}" for k in range(len(squares))]},
        geometry=squares,
        crs=metric,
    ).to_crs(4326)
    districts.index = pd.RangeIndex(1, len(districts) + 1)
    inputs = CoverageInputs(**frames, districts=districts)
    write_parquet(inputs, folder)
    return {
        "buildings": len(frames["buildings"]),
        "facilities": len(frames["facilities"]),
        "districts": len(districts),
    }


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measured() -> tuple:
    """The checklist and the parameters every run of this benchmark measures with: a
    partitioned run's, walks beyond the longest counted not followed."""
    from gridmap.coverage import CoverageParams
    from gridmap.scale.coverage import run_params
    from gridmap.standards import load_checklist

    checklist = load_checklist()
    return checklist, run_params(CoverageParams(categories=CATEGORIES), checklist)


def run_single(folder: Path, out: Path) -> dict:
    """One process: every layer read whole, then coverage as ``gridmap coverage`` runs it."""
    from gridmap.coverage import compute_coverage
    from gridmap.scale.sources import PART_LAYERS, ParquetSource

    checklist, params = _measured()
    start = time.perf_counter()
    inputs = ParquetSource(folder).read(None, PART_LAYERS)
    result = compute_coverage(inputs, params, checklist=checklist)
    seconds = time.perf_counter() - start
    _keep(result, out)
    return {"seconds": seconds, "peak_mib": _peak_mib(), "homes": len(result.homes),
            "nodes": result.report["network_nodes"]}  # fmt: skip


def run_parts(folder: Path, workers: int, out: Path | None) -> dict:
    """The parts on a local cluster of ``workers`` processes, reading the files by box."""
    from gridmap.scale.cluster import dask_client
    from gridmap.scale.coverage import cut_for, partitioned_coverage
    from gridmap.scale.sources import ParquetSource

    checklist, params = _measured()
    source = ParquetSource(folder)
    arrived: list[float] = []  # wall and CPU seconds of this process when the last part came

    def came(_part) -> None:
        arrived[:] = [time.perf_counter(), time.process_time()]

    with dask_client(workers=workers) as client:
        client.run(lambda: None)  # the workers are up before the clock starts
        start, cpu = time.perf_counter(), time.process_time()
        cut = cut_for(source, params, checklist)
        result = partitioned_coverage(source, cut, params, checklist=checklist, client=client, on_part=came)
        seconds = time.perf_counter() - start
    parts = result.report["partitions"]["parts"]
    by_worker: dict[str, float] = {}
    for part in parts:
        by_worker[part["process"]] = max(by_worker.get(part["process"], 0.0), part["peak_mb"])
    if out is not None:
        _keep(result, out)
    return {
        "seconds": seconds, "peak_mib": _peak_mib(), "homes": len(result.homes), "parts": len(parts),
        "worker_peak_mib": sorted(by_worker.values()), "largest_part_homes": max(p["homes"] for p in parts),
        "part_seconds": sum(p["seconds"] for p in parts),
        "walk_seconds": arrived[0] - start, "gather_seconds": seconds - (arrived[0] - start),
        "gatherer_cpu_walking": arrived[1] - cpu,
    }  # fmt: skip


def walk_alone(folder: Path, parts: int, ready: Path, together: int) -> dict:
    """``parts`` of the run's parts, spread over it, walked one after another in this process
    as a worker of one thread walks them (``walk_part`` on one core), without Dask. The clock
    starts when ``together`` processes have set up (each leaves a file in ``ready``), so that
    those walking at once start at once."""
    from gridmap.geometry import CORE_BUDGET
    from gridmap.scale.coverage import PartJob, cut_for, walk_part
    from gridmap.scale.sources import ParquetSource

    checklist, params = _measured()
    source = ParquetSource(folder)
    cut = cut_for(source, params, checklist)
    lived_in = source.compounds_lived_in()
    chosen = np.unique(np.linspace(0, len(cut.parts) - 1, min(parts, len(cut.parts))).round().astype(int))
    ready.mkdir(exist_ok=True)
    (ready / str(os.getpid())).touch()
    while len(list(ready.iterdir())) < together:
        time.sleep(0.01)
    CORE_BUDGET.set(1)  # as on a worker of one thread
    start, cpu = time.perf_counter(), time.process_time()
    homes = 0
    for index in chosen.tolist():
        walks = walk_part(PartJob(source, cut, index, lived_in, params, checklist)).walks
        homes += 0 if walks is None else len(walks.homes)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "parts": len(chosen),
            "homes": homes}  # fmt: skip


def ceiling(folder: Path) -> None:
    """Print how much more two processes do than one alone in the same time on this machine,
    for the walking of the parts: about what two workers can gain over one here."""

    def walk(together: int, tmp: str) -> dict:
        args = ["--walk-alone", str(folder), "--ready", tmp, "--together", str(together)]
        return run_part(__file__, main, args)

    with tempfile.TemporaryDirectory() as tmp:
        alone = walk(1, tmp)
        # two at once; in the tests that keep the script from rotting, one after the other here
        together = 1 if INLINE else 2
        with ThreadPoolExecutor(together) as pool:
            pair = list(pool.map(lambda n: walk(together, f"{tmp}/{n // together}"), range(2)))
    slowest = max(p["seconds"] for p in pair)
    walls, cpus = (" and ".join(f"{p[what]:.1f}" for p in pair) for what in ("seconds", "cpu"))
    parts = f"{alone['parts']} part{'s' if alone['parts'] != 1 else ''}"
    print(
        f"  this machine's ceiling: {parts} ({alone['homes']:,} homes) walked by one process "
        f"alone in {alone['seconds']:.1f} s ({alone['cpu']:.1f} s CPU); by each of two processes at once in "
        f"{walls} s ({cpus} s CPU): two processes walk "
        f"{2 * alone['seconds'] / slowest:.2f}× as much as one alone in the same time, which borrows the cores "
        f"left idle ({machine_load()})"
    )


def _keep(result, out: Path) -> None:
    """A run's walks, summary and gaps (each as its figures and a digest of its outline, in
    the run's order), for the comparison."""
    arrays = {f"{c}|{lv}": d for (c, lv), d in result.distances.items()}
    arrays["__shares"] = result.summary["share_residents"].to_numpy(dtype=float)
    gaps = result.gaps
    arrays["__gaps"] = np.array(
        [f"{c}|{lv}|{n}|{r}|{hashlib.sha256(wkb).hexdigest()[:16]}" for c, lv, n, r, wkb in zip(
            gaps["category"], gaps["level"], gaps["homes"], gaps["residents"], shapely.to_wkb(gaps.geometry.values),
            strict=True)],
        dtype=str,
    )  # fmt: skip
    np.savez(out, **arrays)


def largest_difference(a: Path, b: Path) -> tuple[float, float, str]:
    """The largest difference in any home's walk (metres; inf where one walk reaches and the
    other not) and in any share of the summary, and how many gaps differ (in their figures,
    outline or place in the order)."""
    x, y = np.load(a), np.load(b)
    walk = 0.0
    p, q = x["__gaps"], y["__gaps"]
    gaps = (
        f"{len(p):,} gaps against {len(q):,}"
        if len(p) != len(q)
        else f"{int((p != q).sum()):,} of {len(p):,} gaps"
    )
    for key in x.files:
        if key in ("__shares", "__gaps"):
            continue
        p, q = x[key], y[key]
        if not np.array_equal(np.isfinite(p), np.isfinite(q)):
            return float("inf"), float("inf"), gaps
        both = np.isfinite(p)
        walk = max(walk, float(np.abs(p[both] - q[both]).max()) if both.any() else 0.0)
    shares = np.nan_to_num(x["__shares"], nan=-1) - np.nan_to_num(y["__shares"], nan=-1)
    return walk, float(np.abs(shares).max()), gaps


def _spawn(*args: str) -> dict:
    return run_part(__file__, main, list(args))


def province(tiles: int, district_tiles: int, store: Path) -> Path:
    folder = store / f"province-{tiles}x{tiles}-d{district_tiles}"
    if not (folder / "districts.parquet").exists():
        print(
            f"making the province ({tiles}×{tiles} copies of the demo) in {folder} …",
            flush=True,
        )
        made = _spawn("--make", str(folder), "--tiles", str(tiles), "--district-tiles", str(district_tiles))
        print(
            f"  {made['buildings']:,} buildings, {made['facilities']:,} facilities, {made['districts']} districts"
        )
    return folder


def coverage_part(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small = province(args.compare_tiles, args.district_tiles, args.store)
        one = Path(tmp) / "one.npz"
        print(
            f"\n== {args.compare_tiles}×{args.compare_tiles} copies: one process against the parts ({machine_load()})"
        )
        busy = others_now()
        single = _spawn("--single", str(small), "--out", str(one))
        print(f"one process: {single['seconds']:.1f} s, peak {single['peak_mib']:,.0f} MiB; "
              f"{single['nodes']:,} street nodes, {single['homes']:,} homes (others busy {busy:.0%})")  # fmt: skip
        runs = {}
        for workers in (1, 2):
            busy = others_now()
            out = Path(tmp) / f"parts-{workers}.npz"
            runs[workers] = _spawn("--parts", str(small), "--workers", str(workers), "--out", str(out))
            walk, share, gaps = largest_difference(one, out)
            _print_parts(workers, runs[workers], busy)
            print(
                f"    largest difference from one process: walks {walk:.2e} m, shares {share:.2e}; {gaps} differ"
            )
        print(f"  speed-up 1 → 2 workers: {runs[1]['seconds'] / runs[2]['seconds']:.2f}× (target ≥ 1.8×)")
        if args.tiles == args.compare_tiles:
            ceiling(small)
            return
        big = province(args.tiles, args.district_tiles, args.store)
        print(f"\n== {args.tiles}×{args.tiles} copies: the province in parts ({machine_load()})")
        for workers in (1, 2):
            busy = others_now()
            runs[workers] = _spawn("--parts", str(big), "--workers", str(workers))
            _print_parts(workers, runs[workers], busy)
        print(f"  speed-up 1 → 2 workers: {runs[1]['seconds'] / runs[2]['seconds']:.2f}× (target ≥ 1.8×)")
        ceiling(big)


def _print_parts(workers: int, run: dict, busy: float) -> None:
    print(f"  {workers} worker{'s' if workers > 1 else ''}: {run['seconds']:.1f} s for {run['homes']:,} homes in "
          f"{run['parts']} parts (largest {run['largest_part_homes']:,} homes; {run['part_seconds']:.1f} s of "
          f"walking in all); peak memory per worker {', '.join(f'{m:,.0f}' for m in run['worker_peak_mib'])} MiB, "
          f"gathering process {run['peak_mib']:,.0f} MiB (others busy {busy:.0%})")  # fmt: skip
    print(
        f"    until the last part came {run['walk_seconds']:.1f} s, in which the gathering process (with the "
        f"scheduler) took {run['gatherer_cpu_walking']:.1f} s of CPU; then gathering {run['gather_seconds']:.1f} s"
    )


def service_part(args) -> None:
    from bench.common import launch, postgis, serve, steady_ratio
    from bench.tiles import ZOOMS, load, prepare, tile_paths

    with (
        autogroup_off(args.no_autogroup),
        postgis(args.database) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        bounds, token = prepare(url, fill=not args.database)
        paths = [
            f"/tiles/buildings/{p}" for ps in tile_paths(bounds, args.zooms or ZOOMS).values() for p in ps
        ]
        headers = {"Authorization": f"Bearer {token}"}
        print(
            f"\n== the service: {len(paths)} buildings tiles, 200 connections, {args.seconds} s ({machine_load()})"
        )
        print("   beside it, the floor: the same load on bench/bare_tiles.py, which runs the service's "
              "statement for each request and answers bytes as many as a mean tile, and nothing else")  # fmt: skip
        for workers in args.processes:
            # the processes share a folder of tiles, and each keeps its own in memory
            os.environ["GRIDMAP_TILE_CACHE_DIR"] = str(Path(tmp) / f"tiles-{workers}")
            served = serve(url, workers=workers)
            try:
                load(served.url, paths, headers, min(3, args.seconds), 16)  # every tile cut once
                size = mean_size(served.url, paths, headers)
                busy = others_now()
                got = load(served.url, paths, headers, args.seconds, 200)
            finally:
                served.stop()
            show(f"{workers} worker{'s' if workers > 1 else ''}", got, busy)
            bare = launch(
                "the floor",
                [sys.executable, "-m", "uvicorn", "bench.bare_tiles:app", "--workers", str(workers),
                 "--loop", "asyncio", "--no-access-log"],
                {"GRIDMAP_DATABASE_URL": url, "BENCH_BARE_TILE_BYTES": str(size)},
            ).wait_ready("/")  # fmt: skip
            try:
                floor_busy = others_now()
                floor = load(bare.url, paths, headers, args.seconds, 200)
            finally:
                bare.stop()
            show(f"the floor, {workers} process{'es' if workers > 1 else ''}", floor, floor_busy)
            if floor["rps"]:
                ratio = steady_ratio(got["rps"], floor["rps"], busy, floor_busy)
                print(f"    requests/s, the service / the floor: {ratio}")
            if got["rps"]:  # wrk keeps every connection waiting: the mean wait is the queue's
                print(f"    with 200 requests always waiting, each waits {200_000 / got['rps']:.0f} ms on average "
                      f"(Little's law): a p99 under 50 ms needs over {200 / 0.05:,.0f} requests/s")  # fmt: skip


def mean_size(base: str, paths: list[str], headers: dict) -> int:
    """The mean size of the tiles at ``paths`` (bytes), each fetched once."""
    import httpx2 as httpx  # the test extras' HTTP client

    with httpx.Client(base_url=base, headers=headers) as client:
        return round(np.mean([len(client.get(path).content) for path in paths]))


def show(label: str, got: dict, busy: float) -> None:
    unanswered = f", {got['timeouts']} of them unanswered within wrk's 2 s" if got["timeouts"] else ""
    print(f"  {label}: {got['rps']:,.0f} req/s, p50 {got['p50']:.1f} ms, p99 {got['p99']:.1f} ms, "
          f"{got['errors']} failed{unanswered} (others busy {busy:.0%})")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiles", type=int, default=32)
    parser.add_argument("--compare-tiles", type=int, default=8)
    parser.add_argument("--district-tiles", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=30, help="of wrk against each service")
    parser.add_argument("--no-service", action="store_true")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2], help="of the service, one run each (default 1 2)"
    )
    parser.add_argument("--zooms", type=int, nargs="+", help="the zooms of the service's tiles (12–17)")
    parser.add_argument("--no-province", action="store_true")
    parser.add_argument("--no-autogroup", action="store_true", help="for the service: " + NO_AUTOGROUP_HELP)
    parser.add_argument(
        "--store", type=Path, default=ROOT / ".bench", help="where the provinces' files are kept"
    )
    parser.add_argument(
        "--database", help="a PostGIS database that holds the demo (default: a throwaway one)"
    )
    parser.add_argument("--demo-file", type=Path, help="a SpatiaLite demo database to copy the demo from")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--single", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--walk-alone", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ready", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--together", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.walk_alone:
        print("RESULT " + json.dumps(walk_alone(args.walk_alone, CEILING_PARTS, args.ready, args.together)))
        return
    if args.make:
        print("RESULT " + json.dumps(make_province(args.tiles, args.district_tiles, args.make)))
        return
    if args.single:
        print("RESULT " + json.dumps(run_single(args.single, args.out)))
        return
    if args.parts:
        print("RESULT " + json.dumps(run_parts(args.parts, args.workers, args.out)))
        return
    print(f"before: {machine_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.demo_file:  # a copy, read by the process that makes a province
            os.environ["BENCH_DB"] = demo_file(Path(tmp), args.demo_file)
        if not args.no_province:
            coverage_part(args)
        if not args.no_service:
            service_part(args)
    print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
