"""Siting benchmark: gridmap's MCLP and LSCP against spopt on the same matrix, same run.

    python bench/siting.py [--tiles 7] [--count 10] [--share 0.95] [--sizes demo,large] [--repeat 5] [--demo-file F]

Two data sets: the demo district, and a large city made by tiling the real demo district
TILES × TILES times (7 × 7: about 58,000 homes and, from public buildings and junctions in
or within 30 m of compounds, about 8,500 candidate sites). The category sited is childcare, which has no
stations yet, so every home is demand and both tools solve the same problem.

Each part runs in its own process (its peak memory is its own) and first solves a small
instance untimed, so that neither tool's times include imports and first-call set-up; on the
demo district each then runs ``--repeat`` times (default 5) and the median time is kept:

- ``ours``: ``propose_sites`` end to end — network built from the layers, candidates gathered
  and ruled, walking distances, the model, the explanation — for MCLP with ``k`` sites, and
  for LSCP over the homes some candidate can reach; also LSCP to ``share`` of all residents.
  It saves its demand × candidate distances for the peer.
- ``spopt``: the same matrix as a dense cost matrix (inf where out of reach), then
  ``MCLP.from_cost_matrix(...).solve()`` and ``LSCP.from_cost_matrix(...).solve()``, each in
  a process of its own, with PuLP's bundled CBC, spopt's default. Its end-to-end time counts our matrix build, since
  spopt takes the matrix as given; spopt has no share form of LSCP.

Printed: time, objective and optimality gap of each, and the speed ratio. Target: objective at
least spopt's and at least 10× faster end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
CATEGORY = "childcare"
EDGE_M = 30.0  # junctions within 30 m of a compound are candidates: 98.9% of residents within reach


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _inputs(source: str, tiles: int):
    from coverage import large_city

    from gridmap.coverage import CoverageInputs

    if source == "demo":
        from gridmap.store.engine import make_engine
        from gridmap.store.inputs import load_inputs

        return load_inputs(make_engine(os.environ["BENCH_DB"]))
    return CoverageInputs(**large_city(tiles, 2000, extra=("compounds",)))


def _coverable(problem) -> np.ndarray:
    reach = np.zeros(problem.n_rows, dtype=bool)
    reach[problem.row[problem.cover_pairs()]] = True
    return reach & (problem.weight > 0)


def _rows(problem, keep: np.ndarray):
    """The instance restricted to rows ``keep`` (renumbered)."""
    from gridmap.siting.problem import SitingProblem

    new = np.cumsum(keep) - 1
    pair = keep[problem.row]
    return SitingProblem(
        problem.weight[keep], new[problem.row[pair]], problem.col[pair], problem.dist[pair],
        problem.current[keep], problem.threshold[keep], problem.n_candidates,
    )  # fmt: skip


def part_ours(source: str, tiles: int, count: int, share: float, matrix_path: str, repeat: int) -> dict:
    from gridmap.siting import models
    from gridmap.siting.candidates import CandidateRules
    from gridmap.siting.proposal import SitingParams, propose_sites

    inputs = _inputs(source, tiles)
    rules = CandidateRules(compound_edge_m=EDGE_M)
    params = SitingParams(categories=(CATEGORY,), count=count, time_limit_s=600, rules=rules)
    propose_sites(_inputs("demo", 1), params)  # warm-up, untimed: imports and first calls
    runs, matrix_runs = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        mclp = propose_sites(inputs, params)
        runs.append(time.perf_counter() - start)
        t = mclp.report["timings_s"]
        matrix_runs.append(t["inputs"] + t["candidates"] + t["distances"])
    mclp_s, matrix_s = float(np.median(runs)), float(np.median(matrix_runs))
    problem = mclp.problem
    keep = _coverable(problem)
    sub = _rows(problem, keep)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        cover = models.lscp(sub, time_limit_s=600)
        runs.append(time.perf_counter() - start)
    lscp_model_s = float(np.median(runs))
    start = time.perf_counter()
    share_out = {}
    try:
        shared = propose_sites(inputs, replace(params, model="lscp", count=None, share=share))
        share_out = {"sites": len(shared.sites), "status": shared.solution.status, "gap": shared.solution.gap}
    except Exception as exc:  # an infeasible share is a result too
        share_out = {"error": str(exc).splitlines()[-1]}
    share_out["seconds"] = time.perf_counter() - start
    np.savez(matrix_path, row=sub.row, col=sub.col, dist=sub.dist, weight=sub.weight, threshold=sub.threshold[0],
             n_candidates=sub.n_candidates)  # fmt: skip
    sol = mclp.solution
    return {
        "homes": int(problem.n_rows),
        "demand": int(keep.sum()),
        "candidates": int(problem.n_candidates),
        "pairs": len(problem.dist),
        "nodes_s": t,
        "matrix_s": matrix_s,
        "mclp": {
            "seconds": mclp_s,
            "model_s": t["model"],
            "objective": sol.objective,
            "gap": sol.gap,
            "status": sol.status,
            "solver": sol.solver,
        },
        "lscp": {
            "seconds": matrix_s + lscp_model_s,
            "model_s": lscp_model_s,
            "objective": cover.objective,
            "gap": cover.gap,
            "status": cover.status,
            "solver": cover.solver,
        },
        "share": share_out,
        "peak_mib": _peak_mib(),
    }


def part_spopt(count: int, matrix_path: str, model_name: str, repeat: int) -> dict:
    """spopt's MCLP or LSCP on the saved matrix, each in its own process so that one that
    runs long does not hold back the other's result."""
    import pulp
    from spopt.locate import LSCP, MCLP

    warnings.simplefilter("ignore")
    tiny = np.array([[100.0, np.inf], [np.inf, 100.0], [100.0, 100.0]])  # warm-up, untimed
    for warm in (
        MCLP.from_cost_matrix(tiny, np.ones(3), 500.0, p_facilities=1),
        LSCP.from_cost_matrix(tiny, 500.0),
    ):
        warm.solve(pulp.PULP_CBC_CMD(msg=False))
    data = np.load(matrix_path)
    n, m = len(data["weight"]), int(data["n_candidates"])
    radius = float(data["threshold"])
    runs, builds = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        cost = np.full((n, m), np.inf)
        cost[data["row"], data["col"]] = data["dist"]
        if model_name == "mclp":
            model = MCLP.from_cost_matrix(cost, data["weight"], radius, p_facilities=count)
        else:
            model = LSCP.from_cost_matrix(cost, radius)
        builds.append(time.perf_counter() - start)
        model.solve(pulp.PULP_CBC_CMD(msg=False))
        runs.append(time.perf_counter() - start)
    return {
        "seconds": float(np.median(runs)),
        "build_s": float(np.median(builds)),
        "objective": pulp.value(model.problem.objective),
        "status": pulp.LpStatus[model.problem.status],
        "peak_mib": _peak_mib(),
    }


def _spawn(args: list[str], timeout: float | None) -> dict:
    from common import run_part

    return run_part(__file__, main, args, timeout=timeout)


def _report(name: str, ours: dict, peer: dict, share: float) -> None:
    print(f"\n== {name}: {ours['homes']:,} homes ({ours['demand']:,} within reach of a candidate), "
          f"{ours['candidates']:,} candidates, {ours['pairs']:,} home–candidate pairs within the circle")  # fmt: skip
    print(f"gridmap matrix build (network, candidates, walking distances): {ours['matrix_s']:.2f} s; "
          f"peak {ours['peak_mib']:.0f} MiB")  # fmt: skip
    for model in ("mclp", "lscp"):
        o = ours[model]
        label = "MCLP k sites" if model == "mclp" else "LSCP, everyone within reach"
        if "timeout" in peer[model]:
            print(f"{label}: gridmap {o['seconds']:.2f} s ({o['solver']}, {o['status']}, objective {o['objective']:,.0f}, "
                  f"gap {100 * o['gap']:.3f}%); spopt did not finish within {peer[model]['timeout']:.0f} s | at least "
                  f"{(peer[model]['timeout'] + ours['matrix_s']) / o['seconds']:.0f}× faster (target ≥ 10×)")  # fmt: skip
            continue
        p = peer[model]
        spopt_s = p["seconds"] + ours["matrix_s"]
        print(f"{label}: gridmap {o['seconds']:.2f} s ({o['solver']}, {o['status']}, objective {o['objective']:,.0f}, "
              f"gap {100 * o['gap']:.3f}%) | spopt {spopt_s:.2f} s (model build {p['build_s']:.2f} s, CBC "
              f"{p['status']}, objective {p['objective']:,.0f}) | {spopt_s / o['seconds']:.1f}× faster "
              f"(target ≥ 10×), objective ratio {o['objective'] / p['objective']:.4f}")  # fmt: skip
    s = ours["share"]
    if "error" in s:
        print(f"LSCP to {share:.0%} of all residents: {s['error']} ({s['seconds']:.2f} s)")
    else:
        print(f"LSCP to {share:.0%} of all residents: {s['sites']} sites, {s['status']}, gap {100 * s['gap']:.3f}%, "
              f"{s['seconds']:.2f} s end to end (spopt has no share form)")  # fmt: skip
    spopt_peak = max((p.get("peak_mib", 0.0) for p in peer.values()), default=0.0)
    if spopt_peak:
        print(f"peak memory: gridmap {ours['peak_mib']:.0f} MiB, spopt {spopt_peak:.0f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiles", type=int, default=7)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.95)
    parser.add_argument("--sizes", default="demo,large")
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="runs of each tool on the demo district (median kept); one on the large city",
    )
    parser.add_argument("--peer-timeout", type=float, default=7200.0, help="seconds before spopt is given up")
    parser.add_argument("--part", choices=["ours", "spopt"])
    parser.add_argument("--source", choices=["demo", "large"], default="demo")
    parser.add_argument("--matrix")
    parser.add_argument("--model", choices=["mclp", "lscp"], default="mclp")
    parser.add_argument(
        "--demo-file", type=Path, help="a SpatiaLite demo database to copy instead of building one"
    )
    args = parser.parse_args(argv)
    if args.part == "ours":
        result = part_ours(args.source, args.tiles, args.count, args.share, args.matrix, args.repeat)
        print("\nRESULT " + json.dumps(result))
        return
    if args.part == "spopt":
        print("\nRESULT " + json.dumps(part_spopt(args.count, args.matrix, args.model, args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        from common import demo_file, machine_load

        os.environ["BENCH_DB"] = demo_file(Path(tmp), args.demo_file)  # read by each part's process
        print(f"before: {machine_load()}", flush=True)
        for source in args.sizes.split(","):
            matrix = str(Path(tmp) / f"{source}.npz")
            common = [
                "--source",
                source,
                "--tiles",
                str(args.tiles),
                "--count",
                str(args.count),
                "--matrix",
                matrix,
                "--repeat",
                str(args.repeat if source == "demo" else 1),
            ]
            ours = _spawn(["--part", "ours", "--share", str(args.share), *common], None)
            print(
                f"[{source}] gridmap done: MCLP {ours['mclp']['seconds']:.2f} s, LSCP {ours['lscp']['seconds']:.2f} s; "
                "spopt running",
                flush=True,
            )
            peer = {}
            for model in ("mclp", "lscp"):
                peer[model] = _spawn(["--part", "spopt", "--model", model, *common], args.peer_timeout)
                print(f"[{source}] spopt {model.upper()} done", flush=True)
            name = "demo district" if source == "demo" else f"large city ({args.tiles}×{args.tiles} tiles)"
            _report(name, ours, peer, args.share)
        print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
