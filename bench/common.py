"""What the benchmarks share: the machine's load, the demo district in a file, each part in
a process of its own, a free port, the service in its own processes, and load from wrk (a C
program, so that the clients take little of the cores the service runs on)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


def machine_load() -> str:
    """The load averages, the core count and whether the scheduler groups processes by
    session, as each benchmark prints them before and after."""
    one, five, _ = os.getloadavg()
    grouped = autogroup()
    told = "" if grouped is None else f", scheduler autogroup {'on' if grouped else 'off'}"
    return f"load {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores{told}"


#: Linux's autogroup: the scheduler shares the cores between sessions first, then among each
#: session's threads. It is on by default where no service manager puts processes in control
#: groups. PostgreSQL starts each backend in a session of its own, so on a machine that runs
#: the database beside the servers and the load, each busy backend weighs as much as a whole
#: server with all its processes, and the servers stall in turns of hundreds of milliseconds.
AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")
NO_AUTOGROUP_HELP = (
    "turn the kernel's autogroup off for the run and back on after (as root): the scheduler then shares "
    "the cores between threads, not sessions, as on a server whose services run in control groups"
)


def autogroup() -> bool | None:
    """Whether the kernel's autogroup is on (None where the kernel has none)."""
    try:
        return AUTOGROUP.read_text().strip() == "1"
    except OSError:
        return None


@contextlib.contextmanager
def autogroup_off(wanted: bool) -> Iterator[None]:
    """The block with the kernel's autogroup off when ``wanted`` (and on), as it was after;
    exits naming the setting when it cannot be written (it needs root)."""
    if not wanted or not autogroup():
        yield
        return
    try:
        AUTOGROUP.write_text("0")
    except OSError as error:
        sys.exit(f"--no-autogroup: {AUTOGROUP} cannot be written ({error.strerror}); run as root, "
                 "or turn it off yourself: sysctl kernel.sched_autogroup_enabled=0")  # fmt: skip
    try:
        yield
    finally:
        AUTOGROUP.write_text("1")


#: ``BENCH_INLINE=1``: a benchmark's parts run in its own process, not each in one of its own
#: (for the tests that keep the scripts from rotting: no interpreter started per part). Peak
#: memory is then the whole process's, not the part's.
INLINE = os.environ.get("BENCH_INLINE") == "1"
_TOLD: list[bool] = []


def run_part(script: str, main: Callable[[list[str]], None], argv: list[str], *,
             env: dict[str, str] | None = None, timeout: float | None = None) -> dict:  # fmt: skip
    """One part of a benchmark, run by the script's own command line ``argv``: in a process
    of its own, so that its peak memory is its own (or in this one, with ``INLINE``). Returns
    what it printed on its ``RESULT`` line ({"timeout": …} when it ran out of time); exits
    naming the part when it failed."""
    if INLINE:
        if not _TOLD:
            print(
                "(BENCH_INLINE: each part runs in this process; its peak memory is the process's)", flush=True
            )
            _TOLD.append(True)
        out, before = io.StringIO(), dict(os.environ)
        os.environ.update(env or {})
        try:
            with contextlib.redirect_stdout(out):
                main(argv)
        finally:
            os.environ.clear()
            os.environ.update(before)
        text = out.getvalue()
    else:
        try:
            done = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True, env=env,
                                  timeout=timeout, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"timeout": timeout}
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-4000:]}")
        text = done.stdout
    line = next(x for x in reversed(text.splitlines()) if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


#: the demo district the benchmarks measure (the service's own demo seed aside)
DEMO_SEED = 20181201


def demo_file(folder: Path, copy_of: Path | None = None) -> str:
    """The demo district in a new SpatiaLite file in ``folder``: a copy of the demo database
    ``copy_of`` when given (the tests pass the one they built), else built (seed
    ``DEMO_SEED``). Returns its URL."""
    path = folder / "demo.sqlite"
    if copy_of is not None:
        with sqlite3.connect(copy_of) as source, sqlite3.connect(path) as target:
            source.backup(target)
        return f"sqlite:///{path}"
    from gridmap.demo.build import generate, write_demo
    from gridmap.store.engine import make_engine

    engine = make_engine(f"sqlite:///{path}")
    write_demo(engine, generate(seed=DEMO_SEED))
    engine.dispose()
    return f"sqlite:///{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")


@dataclass
class Served:
    """A server started by :func:`launch`: its address, its process, and the file it logs to."""

    name: str
    url: str
    process: subprocess.Popen
    log: IO[str]

    def wait_ready(self, ready_path: str, seconds: float = 30) -> Served:
        """Return once ``ready_path`` is answered with a status under 500; exit, with the end
        of the server's log, when it exits first or has not answered within ``seconds``."""
        for _ in range(round(seconds * 10)):
            try:
                urllib.request.urlopen(self.url + ready_path, timeout=1).read()
                return self
            except urllib.error.HTTPError as answer:  # a refusal is an answer too
                if answer.code < 500:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None:
                self.log.seek(0)
                sys.exit(f"{self.name} exited with {self.process.returncode}:\n{self.log.read()[-3000:]}")
            time.sleep(0.1)
        self.process.kill()
        sys.exit(f"{self.name} did not start within {seconds:g} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()


def launch(name: str, command: list[str], env: dict[str, str]) -> Served:
    """Start ``COMMAND --port PORT`` (a free port; ``env`` added to the environment) from the
    project's folder, without waiting for it (:meth:`Served.wait_ready`). What it logs goes to
    a temporary file, shown when it fails to start."""
    port = free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed by Served.stop)
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    return Served(name, f"http://127.0.0.1:{port}", process, log)


def serve(database_url: str, workers: int = 1, ready_path: str = "/conformance") -> Served:
    """Start ``gridmap serve --workers`` over ``database_url``; return once it answers."""
    command = [sys.executable, "-m", "gridmap_cli", "--db", database_url, "serve", "--workers", str(workers)]
    return launch("the service", command, {}).wait_ready(ready_path)


def cycling_script(listing: Path, request: str) -> str:
    """A wrk Lua script whose requests take the lines of the file ``listing`` in turn:
    ``request`` is Lua that returns the request (``wrk.format(…)``) for ``line``."""
    return (
        "local lines = {}\n"
        f'for line in io.lines("{listing}") do lines[#lines + 1] = line end\n'
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #lines + 1\n"
        "  local line = lines[i]\n"
        f"  {request}\n"
        "end\n"
    )


def wrk(
    url: str,
    script: str,
    *,
    connections: int,
    seconds: int,
    threads: int = 2,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """wrk against ``url`` with the Lua ``script`` (and ``headers`` on every request):
    requests/s, p50 and p99 latency (ms), the requests made, the answers that were not
    2xx/3xx or failed, and of those the requests wrk gave up on after its 2 s."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "load.lua"
        path.write_text(script)
        args = [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(path),
            url,
        ]
        for name, value in (headers or {}).items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout

    def pct(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    made = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    wrong = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    unanswered = re.search(r"timeout (\d+)", out)
    return {
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": pct("50"), "p99_ms": pct("99"), "requests": made,
        "errors": (int(wrong.group(1)) if wrong else 0) + failed,
        "timeouts": int(unanswered.group(1)) if unanswered else 0,  # no answer within wrk's 2 s
    }  # fmt: skip


def tests_helper(name: str) -> ModuleType:
    """The tests' helper module ``tests/NAME.py``, loaded by its path: putting ``tests/`` on
    ``sys.path`` would let its folders (``tests/gridmap``, …) shadow the packages."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "tests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def postgis(given: str | None = None) -> contextlib.AbstractContextManager[str]:
    """The PostGIS database ``given`` (its URL), else a throwaway one for the ``with`` block
    (the tests' own server)."""
    if given:
        return contextlib.nullcontext(given)
    module = tests_helper("postgis")
    reason = module.unavailable_reason()
    if reason and not os.environ.get("GRIDMAP_TEST_POSTGRES_URL"):
        sys.exit(f"PostGIS is needed: {reason}")
    return module.postgis_server()


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class OthersBusy:
    """How busy the rest of the machine was while a benchmark's child process ran: the
    machine's busy CPU time less the child's own, as a share of all cores (0–1). The load
    average cannot tell this: it counts the benchmark's own work too."""

    share: float = 0.0

    def __enter__(self) -> OthersBusy:
        self._wall, self._busy = time.monotonic(), _busy_seconds()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._children = usage.ru_utime + usage.ru_stime
        return self

    def __exit__(self, *exc: object) -> None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = usage.ru_utime + usage.ru_stime - self._children
        wall = max(time.monotonic() - self._wall, 1e-6)
        others = max(_busy_seconds() - self._busy - ours, 0.0)
        self.share = min(others / (wall * (os.cpu_count() or 1)), 1.0)


#: how much busier the rest of the machine may be in one tool's run than in the other's for
#: their ratio to be printed (a share of all cores)
STEADY_SHARE = 0.10


def alike(busy: float, other_busy: float) -> bool:
    """Whether two runs had the rest of the machine about as busy (shares of all cores, within
    ``STEADY_SHARE``): only then is their ratio printed."""
    return abs(busy - other_busy) <= STEADY_SHARE


def ratio_or_reason(mine: float, theirs: float, a: OthersBusy, b: OthersBusy) -> str:
    """``theirs / mine`` as "N.N×", or why it is withheld (the machine was not as busy)."""
    if not alike(a.share, b.share):
        return f"no ratio: other processes took {a.share:.0%} of the cores in one run, {b.share:.0%} in the other"
    return f"{theirs / mine:.1f}×"


#: seconds the machine's load is sampled for before each run (``BENCH_SAMPLE_S``; the tests
#: that keep the benchmarks from rotting sample briefly)
SAMPLE_S = float(os.environ.get("BENCH_SAMPLE_S", "1"))


def others_now(seconds: float = SAMPLE_S) -> float:
    """The share of all cores busy over ``seconds`` while the benchmark waits: what the rest
    of the machine is doing just before a run (0–1)."""
    wall, busy = time.monotonic(), _busy_seconds()
    time.sleep(seconds)
    return min((_busy_seconds() - busy) / ((time.monotonic() - wall) * (os.cpu_count() or 1)), 1.0)


def steady_ratio(mine: float, theirs: float, before_mine: float, before_theirs: float) -> str:
    """``mine / theirs`` as "N.N×", or why it is withheld: the rest of the machine was busier
    before one run than before the other by more than ``STEADY_SHARE`` of the cores."""
    if not alike(before_mine, before_theirs):
        return f"no ratio: {before_mine:.0%} vs {before_theirs:.0%} of the cores busy before the runs"
    return f"{mine / theirs:.2f}×"
