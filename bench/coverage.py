"""Coverage benchmark: gridmap against pandana, measured in the same run.

    python bench/coverage.py [--tiles 10] [--facilities 2000] [--sizes demo,large]

Two data sets: the demo district (read from a SpatiaLite file built with the demo
generator), and a large city made by tiling the real demo network TILES × TILES times
(10 × 10 gives about 219,000 street nodes, 110,000 buildings; FACILITIES facilities over 12
categories drawn from the tiled ones). Each part runs in its own process so that its peak
memory (max RSS) is its own.

Reported:
- gridmap, whole run: layers read (demo: from the database), network built, homes and
  facilities attached, nearest facility of 12 categories at all three levels, shares, compound
  checks, gap and circle polygons;
- like for like against pandana (its network built, then 12 nearest_pois queries; no
  precompute(), which nearest_pois does not use): the network build, the 12 categories'
  distances, and both together, each tool's time and their ratio, printed only when the
  rest of the machine was about as busy in both runs (within 10 % of the cores); and the
  largest distance difference between the two on the same graph, with facilities snapped to
  nodes as pandana does.

Each part leaves what exists once its inputs are in memory out of Python's full garbage
collections (``gc.freeze``), as ``gridmap coverage`` does once it has read its layers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import DEMO_SEED, OthersBusy, demo_file, machine_load, ratio_or_reason, run_part

CATEGORIES = (
    "food", "grocery", "culture", "sports", "primary_school", "hospital", "admin_service",
    "toilets", "post_bank", "party_service_centre", "community_service", "middle_school",
)  # fmt: skip
MAX_DIST_M = 3000.0


def _demo_layers() -> dict:
    """The demo district's layers (EPSG:4326): read from the database that ``BENCH_DB`` names
    when set (each process reads the file its run wrote once), else generated."""
    url = os.environ.get("BENCH_DB")
    if not url:
        from gridmap.demo.build import generate

        return generate(seed=DEMO_SEED).layers
    from gridmap.store.engine import make_engine
    from gridmap.store.layers import read_layer

    engine = make_engine(url)
    layers = {name: read_layer(engine, name) for name in ("roads", "buildings", "facilities", "compounds")}
    engine.dispose()
    return layers


def large_city(tiles: int, n_facilities: int, seed: int = 1, extra: tuple[str, ...] = ()):
    """The demo's roads, buildings and facilities (and the ``extra`` layers) repeated
    tiles × tiles times (EPSG:4326)."""
    import geopandas as gpd
    import shapely

    layers = _demo_layers()
    names = ("roads", "buildings", "facilities", *extra)
    metric = layers["roads"].estimate_utm_crs()
    projected = {name: layers[name].to_crs(metric) for name in names}
    minx, miny, maxx, maxy = projected["roads"].total_bounds
    step_x, step_y = maxx - minx + 200.0, maxy - miny + 200.0
    out = {name: [] for name in names}
    for i in range(tiles):
        for j in range(tiles):
            dx, dy = i * step_x, j * step_y
            for name, frame in projected.items():
                moved = frame.copy()
                moved.geometry = shapely.transform(
                    frame.geometry.values, lambda xy, dx=dx, dy=dy: xy + np.array([dx, dy])
                )
                out[name].append(moved)
    big = {
        k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=metric).to_crs(4326) for k, v in out.items()
    }
    bld = big["buildings"]
    bld["households"] = bld["households"].fillna(0).clip(lower=1)
    bld["residents"] = bld["residents"].fillna(0).clip(lower=2)
    fac = big["facilities"]
    first = fac["categories"].str.split(",").map(lambda cs: next((c for c in cs if c in CATEGORIES), None))
    fac = fac[first.notna()].assign(categories=first[first.notna()])
    rng = np.random.default_rng(seed)
    fac = fac.iloc[np.sort(rng.choice(len(fac), min(n_facilities, len(fac)), replace=False))]
    for name in ("roads", *extra):
        big[name].index = pd.RangeIndex(1, len(big[name]) + 1)
    bld.index = pd.RangeIndex(1, len(bld) + 1)
    fac = fac.set_axis(pd.RangeIndex(1, len(fac) + 1))
    return {**big, "buildings": bld, "facilities": fac}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def part_ours(source: str, tiles: int, n_facilities: int) -> dict:
    """gridmap's whole run and its distance stage."""
    from gridmap.coverage import CoverageInputs, CoverageParams, compute_coverage
    from gridmap.store.inputs import load_inputs

    params = CoverageParams(categories=CATEGORIES)
    start = time.perf_counter()
    if source == "demo":
        from gridmap.store.engine import make_engine

        inputs = load_inputs(make_engine(os.environ["BENCH_DB"]))
        loaded = time.perf_counter() - start
    else:
        inputs = CoverageInputs(**large_city(tiles, n_facilities))
        start = time.perf_counter()
        loaded = 0.0
    gc.freeze()  # out of the collector's full passes, as gridmap coverage does (and pandana's part)
    result = compute_coverage(inputs, params)
    total = time.perf_counter() - start
    t = result.report["timings_s"]
    return {
        "seconds": total,
        "load_s": loaded,
        "distance_stage_s": t["attach"] + t["distances"],
        "build_s": t["network_homes"],
        "timings": t,
        "passes": result.report["shortest_path_passes"],
        "nodes": result.report["network_nodes"],
        "homes": len(result.homes),
        "facilities": len(inputs.facilities),
        "gaps": len(result.gaps),
        "circles": len(result.circles),
        "peak_mib": _peak_mib(),
    }


def _node_graph(source: str, tiles: int, n_facilities: int):
    """The walking network, facilities snapped to their nearest node, homes' nearest nodes."""
    from scipy.spatial import cKDTree

    from gridmap.coverage import CoverageInputs
    from gridmap.network.graph import build_network
    from gridmap.store.inputs import load_inputs

    if source == "demo":
        from gridmap.store.engine import make_engine

        inputs = load_inputs(make_engine(os.environ["BENCH_DB"]))
    else:
        inputs = CoverageInputs(**large_city(tiles, n_facilities))
    net = build_network(inputs.roads)
    tree = cKDTree(net.node_xy)
    fac = inputs.facilities.to_crs(net.crs)
    _, fac_node = tree.query(np.column_stack([fac.geometry.x, fac.geometry.y]))
    homes = inputs.buildings.to_crs(net.crs).geometry.representative_point()
    _, home_node = tree.query(np.column_stack([homes.x, homes.y]))
    cats = fac["categories"].str.split(",").str[0].to_numpy()
    return net, fac_node, cats, np.unique(home_node)


def part_pandana(source: str, tiles: int, n_facilities: int) -> dict:
    import pandana

    net, fac_node, cats, home_nodes = _node_graph(source, tiles, n_facilities)
    gc.freeze()  # as in our part
    adj = net.adjacency().tocoo()
    upper = adj.row < adj.col
    start = time.perf_counter()
    network = pandana.Network(
        pd.Series(net.node_xy[:, 0]),
        pd.Series(net.node_xy[:, 1]),
        pd.Series(adj.row[upper]),
        pd.Series(adj.col[upper]),
        pd.DataFrame({"length": adj.data[upper]}),
        twoway=True,
    )
    built = time.perf_counter() - start  # no precompute(): nearest_pois does not use it
    distances = {}
    for category in CATEGORIES:
        nodes = fac_node[cats == category]
        if len(nodes) == 0:
            continue
        network.set_pois(
            category, MAX_DIST_M, 1, pd.Series(net.node_xy[nodes, 0]), pd.Series(net.node_xy[nodes, 1])
        )
        near = network.nearest_pois(MAX_DIST_M, category, num_pois=1)
        distances[category] = near.iloc[:, 0].to_numpy()[home_nodes].tolist()
    total = time.perf_counter() - start
    return {"seconds": total, "build_s": built, "query_s": total - built, "peak_mib": _peak_mib(),
            "distances": distances}  # fmt: skip


def part_check(source: str, tiles: int, n_facilities: int) -> dict:
    """Our multi-source pass on the node-snapped facilities, for the distance comparison."""
    from scipy.sparse.csgraph import dijkstra

    net, fac_node, cats, home_nodes = _node_graph(source, tiles, n_facilities)
    matrix = net.adjacency()
    distances = {}
    for category in CATEGORIES:
        nodes = np.unique(fac_node[cats == category])
        if len(nodes) == 0:
            continue
        d = dijkstra(matrix, indices=nodes, min_only=True, limit=MAX_DIST_M)
        distances[category] = np.minimum(d[home_nodes], MAX_DIST_M).tolist()
    return {"distances": distances}


PARTS = {"ours": part_ours, "pandana": part_pandana, "check": part_check}


def _spawn(part: str, source: str, args, env) -> dict:
    argv = [
        "--part",
        part,
        "--source",
        source,
        "--tiles",
        str(args.tiles),
        "--facilities",
        str(args.facilities),
    ]
    return run_part(__file__, main, argv, env=env)


def _largest_difference(a: dict, b: dict) -> float:
    worst = 0.0
    for category in a:
        x, y = np.asarray(a[category]), np.asarray(b[category])
        both = (x < MAX_DIST_M - 1) & (y < MAX_DIST_M - 1)
        if both.any():
            worst = max(worst, float(np.abs(x[both] - y[both]).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiles", type=int, default=10)
    parser.add_argument("--facilities", type=int, default=2000)
    parser.add_argument("--part", choices=sorted(PARTS))
    parser.add_argument("--source", choices=["demo", "large"], default="demo")
    parser.add_argument("--sizes", default="demo,large", help="the data sets measured, of: demo, large")
    parser.add_argument(
        "--demo-file", type=Path, help="a SpatiaLite demo database to copy instead of building one"
    )
    args = parser.parse_args(argv)
    if args.part:
        print("\nRESULT " + json.dumps(PARTS[args.part](args.source, args.tiles, args.facilities)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BENCH_DB=demo_file(Path(tmp), args.demo_file))
        for source in args.sizes.split(","):
            with OthersBusy() as during_ours:
                ours = _spawn("ours", source, args, env)
            with OthersBusy() as during_peer:
                peer = _spawn("pandana", source, args, env)
            check = _spawn("check", source, args, env)
            diff = _largest_difference(check["distances"], peer["distances"])
            name = "demo district" if source == "demo" else f"large city ({args.tiles}×{args.tiles} tiles)"
            print(f"\n== {name}: {ours['nodes']:,} street nodes, {ours['homes']:,} homes, "
                  f"{ours['facilities']:,} facilities ({machine_load()})")  # fmt: skip
            print(f"other processes took {during_ours.share:.0%} of the cores during gridmap's run, "
                  f"{during_peer.share:.0%} during pandana's")  # fmt: skip
            print(f"gridmap whole run: {ours['seconds']:.2f} s{'' if source == 'demo' else ' (target under 5 s)'} "
                  f"(of which reading the database {ours['load_s']:.2f} s), peak {ours['peak_mib']:.0f} MiB; "
                  f"{ours['passes']} shortest-path passes, {ours['gaps']:,} gaps, {ours['circles']:,} circles")  # fmt: skip
            print(f"  stages: {ours['timings']}")
            ours_both = ours["build_s"] + ours["distance_stage_s"]
            rows = (("network build (gridmap: with the homes)", ours["build_s"], peer["build_s"]),
                    ("12 categories' distances (gridmap: attaching included)", ours["distance_stage_s"], peer["query_s"]),
                    ("build + distances", ours_both, peer["build_s"] + peer["query_s"]))  # fmt: skip
            for label, mine, theirs in rows:
                ratio = ratio_or_reason(mine, theirs, during_ours, during_peer)
                print(f"  {label}: gridmap {mine:.3f} s, pandana {theirs:.3f} s; pandana / gridmap: {ratio}")
            print(
                f"peak memory: gridmap whole run {ours['peak_mib']:.0f} MiB, pandana {peer['peak_mib']:.0f} MiB"
            )
            print(
                f"largest distance difference to pandana (same graph, node-snapped): {diff:.3f} m (target ≤ 0.5 m)"
            )
        print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
