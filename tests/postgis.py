"""A throwaway PostGIS server for the test run.

``GRIDMAP_TEST_POSTGRES_URL`` names an existing server to use instead. Otherwise the Debian
PostgreSQL binaries start a cluster in a temporary folder on a free loopback port; as root the
cluster runs as the ``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _bin_dir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _has_postgis(bin_dir: Path) -> bool:
    share = subprocess.run(
        [str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return bool(share) and Path(share, "extension", "postgis.control").exists()


def unavailable_reason() -> str | None:
    """Why no throwaway PostGIS can be started here, or None when it can."""
    if os.environ.get("GRIDMAP_TEST_POSTGRES_URL"):
        return None
    bin_dir = _bin_dir()
    if bin_dir is None:
        return "PostgreSQL is not installed (Debian: apt-get install postgresql-15-postgis-3)"
    if not _has_postgis(bin_dir):
        return "PostGIS is not installed (Debian: apt-get install postgresql-15-postgis-3)"
    return None


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder on a free loopback port, which a
    test may stop and start again (a database restart under load)."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="gridmap-pg-"))
        self.data, sockets = self.workdir / "data", self.workdir / "run"
        sockets.mkdir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for path in (self.workdir, sockets):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        self.options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets} -c fsync=off -c full_page_writes=off"
        )
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "gridmap_test")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gridmap_test"

    def run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.prefix, str(self.bin_dir / program), *args],
            check=check,
            capture_output=True,
            cwd=self.workdir,
        )

    def start(self) -> None:
        log = str(self.workdir / "log")
        self.run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def postgis_server() -> Iterator[str]:
    """Yield the SQLAlchemy URL of a PostGIS database that exists for the ``with`` block."""
    given = os.environ.get("GRIDMAP_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    cluster = Cluster()
    try:
        yield cluster.url
    finally:
        cluster.remove()
