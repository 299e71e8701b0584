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


@contextlib.contextmanager
def postgis_server() -> Iterator[str]:
    """Yield the SQLAlchemy URL of a PostGIS database that exists for the ``with`` block."""
    given = os.environ.get("GRIDMAP_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = _bin_dir()
    assert bin_dir is not None
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="gridmap-pg-"))
    data, sockets = workdir / "data", workdir / "run"
    sockets.mkdir()
    prefix: list[str] = []
    if as_root:
        pw = pwd.getpwnam("postgres")
        for path in (workdir, sockets):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, cwd=workdir)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "gridmap_test")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/gridmap_test"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)
