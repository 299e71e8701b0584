"""The analysis benchmarks run from their README commands on their smallest sizes, so that
none of them rots: each prints its like-for-like figures, the load, and no failure."""

from __future__ import annotations

import re

import pytest
from bench_run import run_bench

pytestmark = pytest.mark.slow


def test_the_coverage_benchmark_against_pandana(_demo_file):
    out = run_bench("coverage.py", "--sizes", "large", "--tiles", "1", "--facilities", "100",
                    "--demo-file", str(_demo_file))  # fmt: skip
    assert "== large city (1×1 tiles)" in out and "after: load " in out
    for label in ("network build", "12 categories' distances", "build + distances"):
        assert re.search(
            rf"  {re.escape(label)}.*: gridmap [\d.]+ s, pandana [\d.]+ s; pandana / gridmap: ", out
        )
    worst = float(re.search(r"largest distance difference to pandana .*: ([\d.]+) m", out).group(1))
    assert worst <= 0.5


def test_the_siting_benchmark_against_spopt(_demo_file):
    pytest.importorskip("spopt")
    out = run_bench(
        "siting.py", "--sizes", "demo", "--count", "2", "--repeat", "1", "--demo-file", str(_demo_file)
    )
    assert re.search(r"MCLP k sites: gridmap [\d.]+ s \(highs, optimal.*\| spopt [\d.]+ s", out)
    assert re.search(r"objective ratio 1\.0000", out)
    assert "before: load " in out and "after: load " in out


def test_the_scale_benchmark_in_parts_on_one_and_two_workers(_demo_file, tmp_path):
    out = run_bench("scale.py", "--tiles", "1", "--compare-tiles", "1", "--district-tiles", "1", "--no-service",
                    "--store", str(tmp_path), "--demo-file", str(_demo_file))  # fmt: skip
    assert len(re.findall(r"largest difference from one process: walks 0\.00e\+00 m, shares 0\.00e\+00; "
                          r"0 of [1-9][\d,]* gaps differ", out)) == 2  # fmt: skip
    assert re.search(r"speed-up 1 → 2 workers: [\d.]+×", out) and out.count("load ") >= 2
    assert re.search(r"two processes walk [\d.]+× as much as one alone in the same time", out)


def test_the_commands_benchmark_times_what_a_user_waits_for(_demo_file):
    """The start-up and a saved siting proposal (whose options could go stale); a coverage run,
    the third command, has none and is run by the command-line tests."""
    out = run_bench("commands.py", "--runs", "1", "--warm", "0", "--commands", "help", "site",
                    "--demo-file", str(_demo_file))  # fmt: skip
    for name, aim in (
        ("gridmap --help", 0.3),
        ("gridmap site --category elderly_care --count 3 (saved)", 1.5),
    ):
        assert re.search(rf"^{re.escape(name)} +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+  under {aim:g} s in [01] of 1 runs$",
                         out, flags=re.M), out  # fmt: skip
    assert "gridmap coverage" not in out
    assert re.search(
        r"^before: load .*a Python loop of two million additions [\d.]+ s; "
        r"a new Python process importing pandas [\d.]+ s$",
        out,
        flags=re.M,
    )
    assert re.search(r"^after: load ", out, flags=re.M)
