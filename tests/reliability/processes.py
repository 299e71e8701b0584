"""The service as it runs in production, for load and fault tests: the demo district on
SpatiaLite and on PostGIS, an account per role, and the service in processes of its own
(``uvicorn --factory api.main:create_app``), several over one database.

``GRIDMAP_RELIABILITY=full`` runs every test at its full size (README: the reliability
command); the default is the smallest size that still shows each fault.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx2 as httpx
from fresh_db import emptied

from gridmap.accounts import add_user
from gridmap.demo.build import write_demo
from gridmap.store.engine import make_engine

FULL = os.environ.get("GRIDMAP_RELIABILITY") == "full"

HTTP = httpx.Client(
    limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
    cookies=httpx.Cookies(CookieJar(DefaultCookiePolicy(allowed_domains=[]))),
)
"""The tests' one HTTP client, as a real client keeps its connections: making a client for
each request loads the CA certificates again, some 25 ms of CPU every time. Without a limit
of connections (a burst of threads each has one of its own at once), and keeping no cookie,
so that a request says who sends it by its headers alone."""
PASSWORDS = {"admin": "admin-pass", "planner": "planner-pass", "resident": "resident-pass"}
ROLES = {"admin": "admin", "planner": "planner", "resident": "public"}


def size(small: int, full: int) -> int:
    """The count a test uses: ``small`` by default, ``full`` with GRIDMAP_RELIABILITY=full."""
    return full if FULL else small


def fill(url: str, demo_data) -> None:
    """The demo district and one account per role, on an emptied database."""
    engine = emptied(url)
    write_demo(engine, demo_data)
    engine.dispose()
    add_accounts(url)


def add_accounts(url: str) -> None:
    """One account per role, to the database at ``url``."""
    engine = make_engine(url)
    for name, role in ROLES.items():
        add_user(engine, name, role, PASSWORDS[name])
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """One process of the service."""

    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        """The end of what the process wrote to stderr (tracebacks of errors it logged)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """End the process and remove its log."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.unlink(missing_ok=True)

    def failed(self, why: str) -> RuntimeError:
        """The error for a process that did not start, with the end of its log (then removed)."""
        if self.process.poll() is None:
            self.process.kill()
        error = RuntimeError(f"{why}; the end of its log:\n{self.log_tail()}")
        self.log.unlink(missing_ok=True)
        return error


def start_service(db_url: str, **env: str) -> Service:
    return wait_started(launch_service(db_url, **env))


def start_services(db_url: str, count: int, **env: str) -> list[Service]:
    """``count`` processes of the service over ``db_url``, started side by side."""
    return [wait_started(s) for s in [launch_service(db_url, **env) for _ in range(count)]]


def launch_service(db_url: str, **env: str) -> Service:
    """A process of the service over ``db_url``, launched (not yet answering)."""
    port = _free_port()
    log = Path(tempfile.mkstemp(prefix="gridmap-service-", suffix=".log")[1])
    sink = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--loop", "asyncio"],
        env={**os.environ, "GRIDMAP_DATABASE_URL": db_url, **env},
        stderr=sink,
    )  # fmt: skip
    sink.close()  # the child holds its own copy
    return Service(f"http://127.0.0.1:{port}", process, log)


def wait_started(service: Service) -> Service:
    """``service`` once it answers; RuntimeError when it exits or is silent for 60 s."""
    process = service.process
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise service.failed(f"the service at {service.url} exited with {process.returncode}")
        try:
            if HTTP.get(f"{service.url}/conformance", timeout=2).status_code == 200:
                return service
        except httpx.TransportError:
            time.sleep(0.2)
    raise service.failed("the service did not start within 60 s")


def token(url: str, name: str) -> dict[str, str]:
    r = HTTP.post(f"{url}/auth/token", json={"name": name, "password": PASSWORDS[name]}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def probed_during(burst, count: int, probe, *, probes: int = 5, settle_s: float = 0.2) -> list[float]:
    """Run ``burst(i)`` on ``count`` threads at once and, while they run, time ``probes``
    calls of ``probe()`` (each asserts its own answer); the probes' waits in seconds."""
    threads = [threading.Thread(target=burst, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    time.sleep(settle_s)
    waits = []
    for _ in range(probes):
        started = time.perf_counter()
        probe()
        waits.append(time.perf_counter() - started)
    for t in threads:
        t.join(120)
    return waits
