"""Running a benchmark script as its README command does, on its smallest size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """``python bench/SCRIPT ARGS`` from the project's root, its parts run in its own process
    (``BENCH_INLINE``) and the load sampled for 0.2 s before each run rather than 1; its
    output, after it succeeded."""
    done = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BENCH_SAMPLE_S": "0.2", "BENCH_INLINE": "1", **(env or {})})  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout
