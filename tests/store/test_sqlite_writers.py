"""SpatiaLite's writers: the file in write-ahead-log mode, and writers of several processes
queued on the lock file beside it, whose lock a killed process gives up."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import text

from gridmap.errors import DatabaseBusyError
from gridmap.store.engine import make_engine, write_transaction
from gridmap.store.layers import layer_version, record_audit
from gridmap.store.schema import init_db

#: a process that holds a write transaction (an audit record not yet committed) until killed
HOLDER = """
import sys, time
from gridmap.store.engine import make_engine, write_transaction
from gridmap.store.layers import record_audit
engine = make_engine(sys.argv[1])
with write_transaction(engine) as conn:
    record_audit(conn, user="holder", action="test", layer="events")
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'writers.sqlite'}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


def _holder(url: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    with process.stdout:
        assert process.stdout.readline().strip() == "held"
    return process


def _audits(engine, user: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM audit_log WHERE user_name = :u"), {"u": user}
        ).scalar_one()


def test_the_file_is_in_write_ahead_log_mode(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


def test_a_writer_of_another_process_waits_its_turn_then_is_told_busy(url):
    holder = _holder(url)
    engine = make_engine(url, busy_timeout_s=0.5)
    try:
        assert layer_version(engine, "events") == 0  # a reader does not wait
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError, match="retry"), write_transaction(engine) as conn:
            record_audit(conn, user="second", action="test", layer="events")
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
    assert _audits(engine, "second") == 0
    engine.dispose()


def test_a_killed_writer_gives_up_its_turn_and_keeps_nothing(url):
    holder = _holder(url)
    engine = make_engine(url, busy_timeout_s=20)
    done = threading.Event()

    def write() -> None:
        with write_transaction(engine) as conn:
            record_audit(conn, user="second", action="test", layer="events")
        done.set()

    waiting = threading.Thread(target=write)
    waiting.start()
    time.sleep(0.3)
    assert not done.is_set()  # queued behind the holder
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    waiting.join(10)
    assert done.is_set()
    assert _audits(engine, "holder") == 0 and _audits(engine, "second") == 1
    engine.dispose()


def test_writers_of_one_process_each_write_once(url):
    engine = make_engine(url)

    def write(i: int) -> None:
        for _ in range(20):
            with write_transaction(engine) as conn:
                record_audit(conn, user=f"w{i}", action="test", layer="events")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(_audits(engine, f"w{i}") for i in range(8)) == 160
    engine.dispose()
