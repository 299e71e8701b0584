"""The service benchmarks run from their README commands on their smallest sizes, so that
none of them rots: each prints its figures, the load, and no failed request."""

from __future__ import annotations

import re
import shutil

import pytest
from bench_run import run_bench

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"),
]


def test_the_events_benchmark_files_over_http_and_prints_the_load(_demo_file):
    out = run_bench("events.py", "--seconds", "1", "--connections", "2", "--warm", "10", "--events", "2000",
                    "--workers", "1", "--edits", "5", "--demo-file", str(_demo_file))  # fmt: skip
    assert re.search(
        r"the worker's /my-area: median [\d.]+ ms while nothing changes, [\d.]+ ms right after", out
    )
    assert re.search(
        r"5 updates of the \d+ households of a grid worker's grid, one at a time: median [\d.]+ ms", out
    )
    assert re.search(
        r"Open311 requests from wrk, 2 connections: \d+/s, median [\d.]+ ms, p99 [\d.]+ ms, 0 failed", out
    )
    assert re.search(r"2,000 events by \d+ grids", out)
    assert out.count("load ") >= 6  # before and after each part


@pytest.mark.postgis
def test_the_tiles_benchmark_cold_and_warm(demo_copy):
    """Without its peer: tipg is installed from the network on first use, which a test may not."""
    url = demo_copy("postgis", "bench_tiles")
    out = run_bench("tiles.py", "--no-peer", "--database", url, "--seconds", "1", "--rounds", "1",
                    "--connections", "2", "--workers", "1", "--zooms", "13", "14", "--layers", "roads",
                    "--who-points", "20")  # fmt: skip
    assert "roads: one client, each tile 3 times, a pass of every tile on each server in turn (ms)" in out
    rows = re.findall(
        r"^ +2 gridmap (cold|warm) +\d+ +[\d.]+ +[\d.]+ +(\d+) .*  (round \d|all rounds)", out, flags=re.M
    )
    assert rows == [("cold", "0", "round 1"), ("warm", "0", "round 1"), ("cold", "0", "all rounds"),
                    ("warm", "0", "all rounds")]  # fmt: skip
    assert "/who under load, 2 connections" in out and out.count("load ") >= 2


def test_the_tiles_benchmarks_ratio_is_the_median_of_its_steady_rounds(monkeypatch):
    """The ratios against tipg (which a test cannot install): of two runs of one round each,
    a round left out where the machine was busier before one of them, the highest p99."""
    tiles = pytest.importorskip("bench.tiles")

    def run(rps: float, p99: float, before: float) -> tuple[dict, float]:
        return {"rps": rps, "p50": p99 / 2, "p99": p99, "errors": 1}, before

    mine = [run(300, 20, 0.02), run(200, 40, 0.03), run(900, 10, 0.50)]
    theirs = [run(100, 30, 0.02)] * 3
    said = tiles.paired_ratio(mine, theirs, "rps")
    assert said.startswith("2.50× (rounds: 3.00×, 2.00×, no ratio: 50% vs 2% of the cores busy")
    assert tiles.paired_ratio(mine[2:], theirs[2:], "rps").startswith("no ratio in any round")
    over = tiles.over_rounds([r for r, _ in mine])
    assert (over["rps"], over["p99"], over["errors"]) == (pytest.approx(1400 / 3), 40, 3)
    monkeypatch.setattr(tiles, "others_now", lambda: 0.0)
    order: list[str] = []
    tiles.in_rounds(["a", "b", "c"], 3, lambda name: {}, lambda name, k, r, before: order.append(name))
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


@pytest.mark.postgis
def test_the_scale_benchmarks_service_half_beside_its_floor(demo_copy):
    """The service in one process beside the bare application that runs its statement and
    nothing else (which has the tiles' token, or it would answer 401s)."""
    url = demo_copy("postgis", "bench_scale")
    out = run_bench("scale.py", "--no-province", "--database", url, "--seconds", "1", "--zooms", "13", "14",
                    "--processes", "1")  # fmt: skip
    for label in ("1 worker", "the floor, 1 process"):
        assert re.search(
            rf"^  {label}: [\d,]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms, 0 failed", out, flags=re.M
        ), out
    assert re.search(
        r"requests/s, the service / the floor: ([\d.]+×|no ratio: \d+% vs \d+% of the cores busy)", out
    )
    assert out.count("load ") >= 3


def test_the_map_pages_benchmark_writes_and_opens_a_map(_demo_file):
    pytest.importorskip("playwright")
    out = run_bench("map_pages.py", "--opens", "1", "--kinds", "grids", "--demo-file", str(_demo_file))
    assert re.search(r"^grids +[\d.]+ MB, opens in [\d.]+ s \(built in [\d.]+ s\)", out, flags=re.M)
    assert out.count("load ") >= 2
