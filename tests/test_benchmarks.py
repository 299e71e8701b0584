"""Each benchmark runs from the README's command on its smallest size, so none of them rots."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_the_events_benchmark_files_over_http_and_prints_the_load(_demo_file):
    out = _run("events.py", "--seconds", "1", "--connections", "2", "--warm", "10", "--events", "2000", "--workers", "1",
               "--demo-file", str(_demo_file))  # fmt: skip
    assert re.search(
        r"Open311 requests from wrk, 2 connections: \d+/s, median [\d.]+ ms, p99 [\d.]+ ms, 0 failed", out
    )
    assert re.search(r"2,000 events by \d+ grids", out)
    assert out.count("load ") >= 4  # before and after each part
