"""Command-line benchmark: how long a user waits at the terminal, end to end.

    python bench/commands.py [--runs 10] [--warm 1] [--commands help coverage site] [--demo-file PATH]

On the demo district in a SpatiaLite file of its own (built with the benchmarks' seed, or a
copy of the demo database ``--demo-file``), each command is run as a user runs it: the
project's ``gridmap`` program in a process of its own, its output to a pipe, the run saved
where the command saves one. Targets:

- ``gridmap --help``: under 0.3 s;
- ``gridmap coverage`` (every category and level, saved): under 1.5 s;
- ``gridmap site --category elderly_care --count 3`` (saved): under 1.5 s.

Each command runs WARM times untimed first (the files it reads are then in the page cache
and the bytecode of its modules written, as after any earlier command), then RUNS times,
the commands in turn, so that a change in the machine's speed falls on all of them alike.
Printed for each: the median, fastest and slowest wall time, the CPU time it took (user and
system, its own threads included) and in how many runs it met its target; before and after,
the machine's load, the share of the cores other processes kept busy, the time a fixed
Python loop takes and the time a new Python process takes to import pandas (this machine's
speed moves by a tenth or more within an hour, and at starting processes by a third where
the loop's hardly moves).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import SAMPLE_S, demo_file, machine_load, others_now  # noqa: E402


@dataclass(frozen=True)
class Command:
    """A command line as a user types it after ``gridmap --db URL``, and its target."""

    key: str
    name: str
    args: tuple[str, ...]
    aim_s: float
    with_db: bool = True


COMMANDS = (
    Command("help", "gridmap --help", ("--help",), 0.3, with_db=False),
    Command("coverage", "gridmap coverage (saved)", ("coverage",), 1.5),
    Command("site", "gridmap site --category elderly_care --count 3 (saved)",
            ("site", "--category", "elderly_care", "--count", "3"), 1.5),
)  # fmt: skip


def program() -> list[str]:
    """The ``gridmap`` program of the environment this script runs in."""
    installed = Path(sys.executable).with_name("gridmap")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "gridmap_cli"]


#: the environment a user's command runs in: Python writes the bytecode of what it imports
#: (the first, untimed run writes what an edit left out of date, as a user's first run would)
USERS_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed_run(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user and system) of one process running ``argv``; exits naming
    the command when it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=USERS_ENV
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {process.returncode}:\n{error[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def loop_seconds() -> float:
    """Seconds a plain Python loop of two million additions takes: the machine's speed now."""
    start, total = time.perf_counter(), 0
    for i in range(2_000_000):
        total += i
    return time.perf_counter() - start


def start_seconds(runs: int = 3 if SAMPLE_S >= 1 else 1) -> float:
    """Median seconds a new Python process takes to start and import pandas: the machine's
    speed at the work that is most of a command's wait, reading and running many modules
    (which moves by a third where a plain loop's time stays). Timed once where the load is
    sampled briefly (``BENCH_SAMPLE_S`` under 1 s, as in the tests)."""
    return statistics.median(timed_run([sys.executable, "-c", "import pandas"])[0] for _ in range(runs))


def state(when: str) -> None:
    print(f"{when}: {machine_load()}; other processes {others_now():.0%} of the cores; "
          f"a Python loop of two million additions {loop_seconds():.2f} s; "
          f"a new Python process importing pandas {start_seconds():.2f} s", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warm", type=int, default=1, help="untimed runs of each command first")
    parser.add_argument(
        "--commands", nargs="+", choices=[c.key for c in COMMANDS], default=[c.key for c in COMMANDS]
    )
    parser.add_argument(
        "--demo-file", type=Path, help="a SpatiaLite demo database to copy instead of building one"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: expected at least 1")
    commands = [c for c in COMMANDS if c.key in args.commands]
    with tempfile.TemporaryDirectory() as tmp:
        url = demo_file(Path(tmp), args.demo_file)
        base = program()
        lines = {c.name: [*base, *(("--db", url) if c.with_db else ()), *c.args] for c in commands}
        for _ in range(args.warm):  # untimed: the files each reads are in the page cache after it
            for command in commands:
                timed_run(lines[command.name])
        state("before")
        times: dict[str, list[tuple[float, float]]] = {c.name: [] for c in commands}
        for _ in range(args.runs):
            for command in commands:
                times[command.name].append(timed_run(lines[command.name]))
        state("after")
    print(f"\n{'command':<58} {'median s':>8} {'fastest':>8} {'slowest':>8} {'CPU s':>6}  target")
    for command in commands:
        walls = [w for w, _ in times[command.name]]
        cpu = statistics.median(c for _, c in times[command.name])
        met = sum(w < command.aim_s for w in walls)
        print(f"{command.name:<58} {statistics.median(walls):8.2f} {min(walls):8.2f} {max(walls):8.2f} {cpu:6.2f}"
              f"  under {command.aim_s:g} s in {met} of {len(walls)} runs")  # fmt: skip


if __name__ == "__main__":
    main()
