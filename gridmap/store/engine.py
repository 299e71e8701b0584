"""One engine factory for SpatiaLite (``sqlite:`` URLs) and PostGIS (``postgresql:`` URLs)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

# GDAL (in pyogrio's wheel) must load its own PROJ and SQLite before SpatiaLite pulls in the
# system's copies; the other order crashes the process on the next GeoPackage write.
import pyogrio  # noqa: F401  (imported for that side effect)
from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.sql.compiler import Compiled

from gridmap.errors import DatabaseBusyError, DatabaseError, InputError
from gridmap.settings import url_refused


def sqlite_module() -> ModuleType:
    """A DB-API sqlite3 module that can load extensions.

    Some Python builds (pyenv's default among them) compile ``sqlite3`` without
    ``enable_load_extension``; there ``pysqlite3`` (from ``pysqlite3-binary``) stands in.
    """
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import pysqlite3.dbapi2 as dbapi  # type: ignore[import-not-found]
    except ImportError:
        msg = (
            "this Python's sqlite3 cannot load extensions, so SpatiaLite is unavailable; "
            "install pysqlite3-binary (pip install pysqlite3-binary) or use a Python built "
            "with loadable sqlite extensions"
        )
        raise DatabaseError(msg) from None
    return dbapi


def _load_spatialite(dbapi_conn, connection_record) -> None:
    """SpatiaLite into a new connection (the library ``SPATIALITE_LIBRARY_PATH`` names), and
    its metadata tables into a new file, with the spatial reference systems of WGS 84 only."""
    try:
        dbapi_conn.enable_load_extension(True)
        try:
            dbapi_conn.load_extension(os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"))
        finally:
            dbapi_conn.enable_load_extension(False)
    except Exception as exc:  # the driver says which library was missing
        msg = (
            f"cannot load SpatiaLite ({exc}); on Debian install it with "
            "'apt-get install libsqlite3-mod-spatialite'"
        )
        raise DatabaseError(msg) from exc
    try:
        if dbapi_conn.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:  # a new file
            dbapi_conn.execute("SELECT InitSpatialMetaData(1, 'WGS84')")  # 1: in one transaction
    except Exception as exc:
        if is_busy(exc):
            raise DatabaseBusyError(BUSY) from exc
        raise
    # the driver's own transaction handling is off: BEGIN is ours (see _begin)
    dbapi_conn.isolation_level = None


def _sqlite_pragmas(dbapi_conn, busy_timeout_s: float) -> None:
    """A connection's settings: wait ``busy_timeout_s`` for another writer's lock; the file
    in write-ahead-log mode (kept in the file), where readers never wait for a writer and a
    commit costs one write to the log; that log flushed to disk at checkpoints (``synchronous
    NORMAL``): a killed process loses nothing committed, a power cut at most the last commits."""
    dbapi_conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    dbapi_conn.execute("PRAGMA journal_mode = WAL")
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")


def _begin(conn: Connection) -> None:
    """Start SQLite transactions ourselves: ``BEGIN IMMEDIATE`` for a connection opened by
    :func:`write_transaction`, which takes the write lock before the first read, so that a
    read-check-write runs alone; a plain deferred ``BEGIN`` otherwise."""
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITE_OPTION = "gridmap_write"
#: what a writer is told when another's write lock outlasts its wait
BUSY = "the database is busy with another write; retry shortly"
BUSY_OPTION = "gridmap_busy_timeout_s"
#: SQLite connections kept open for reuse: opening one loads SpatiaLite (milliseconds), so
#: a pool smaller than the service's busy threads would open and close them all the time
SQLITE_POOL_SIZE = 16
#: PostgreSQL connections of a process, kept open for reuse (opening one starts a server
#: process); PostgreSQL allows 100 by default, for every process of the service and more
POSTGRES_POOL_SIZE = 16
#: how long a SQLite connection waits for another's write lock before giving up (s)
SQLITE_BUSY_TIMEOUT_S = 30.0


#: what readies a new PostgreSQL connection for tiles: PostGIS loads PROJ on a server
#: process's first transformation between coordinate systems (about 15 ms)
READY_FOR_POSTGIS = "SELECT ST_Transform(ST_TileEnvelope(0, 0, 0), 4326)"


def open_pool(engine: Engine) -> int:
    """Open every connection of a PostgreSQL engine's pool at once, each ready for PostGIS,
    so that the first burst of requests neither starts the database's server processes
    (about 3 ms each) nor loads PROJ in them (about 15 ms each) while others wait; returns
    how many are open. Nothing on SQLite (0). Raises the driver's error (as SQLAlchemy's)
    when the database refuses a connection; those opened before it stay in the pool."""
    if engine.dialect.name != "postgresql":
        return 0
    held: list[Connection] = []
    try:
        for _ in range(engine.pool.size()):  # type: ignore[attr-defined]
            held.append(engine.connect())  # all held at once: each is a connection of its own
            held[-1].exec_driver_sql(READY_FOR_POSTGIS)
    finally:
        for connection in held:
            connection.close()  # back to the pool, open
    return len(held)


def is_busy(exc: BaseException) -> bool:
    """Whether a driver error says SQLite's file is locked by another writer."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from its start
    (waiting up to the engine's busy timeout for another writer); on PostGIS a plain one,
    whose writers lock the rows they touch (``SELECT … FOR UPDATE`` where they read first)."""
    if is_sqlite(engine):
        return _sqlite_write(engine)
    return engine.begin()


#: one lock per SQLite file for the writers of this process, and the open lock file through
#: which they queue with other processes' writers (see _sqlite_write)
_WRITERS: dict[str, tuple[threading.RLock, int | None]] = {}
_WRITERS_GUARD = threading.Lock()
# a forked child shares the parent's open lock files, and with them their locks: its own
os.register_at_fork(after_in_child=_WRITERS.clear)


def _writers(database: str | None) -> tuple[threading.RLock, int | None]:
    key = database or ""
    with _WRITERS_GUARD:
        if key not in _WRITERS:
            descriptor = None
            if key and key != ":memory:" and not key.startswith("file:"):
                try:
                    descriptor = os.open(f"{key}-writers", os.O_RDWR | os.O_CREAT, 0o644)
                except OSError:  # a folder we may not write in: SQLite's own wait alone
                    descriptor = None
            _WRITERS[key] = (threading.RLock(), descriptor)
        return _WRITERS[key]


@contextmanager
def _sqlite_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction on a SQLite file. Its writers queue first on a lock of this process
    and then on a lock file beside the database (``FILE-writers``), whose holder alone takes
    SQLite's write lock: SQLite's own wait polls with growing sleeps, so among many writers the
    wait of one could reach seconds while others went ahead. Either wait ends after
    the engine's busy timeout with DatabaseBusyError."""
    lock, descriptor = _writers(engine.url.database)
    wait_s = engine.get_execution_options().get(BUSY_OPTION, SQLITE_BUSY_TIMEOUT_S)
    deadline = time.monotonic() + wait_s
    if not lock.acquire(timeout=wait_s):
        raise DatabaseBusyError(BUSY)
    try:
        if descriptor is not None:
            _lock_file(descriptor, deadline)
        try:
            with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
                yield conn
        finally:
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        lock.release()


def _lock_file(descriptor: int, deadline: float) -> None:
    """Take the lock file's exclusive lock, trying every 0.1–1 ms until ``deadline``."""
    pause = 0.0001
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise DatabaseBusyError(BUSY) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.001)


def make_engine(url: str, *, echo: bool = False, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """Create an engine for a SpatiaLite file or a PostGIS database.

    ``sqlite:///path.sqlite`` opens (and creates) a SpatiaLite file, whose connections wait
    up to ``busy_timeout_s`` seconds for another writer's lock; ``postgresql://…`` uses
    psycopg 3 unless the URL names another driver.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(url_refused(url)) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                why = (
                    "a file of that name is in the way" if isinstance(exc, FileExistsError) else exc.strerror
                )
                raise InputError(
                    f"cannot make the folder {folder} of the database file {parsed.database}: {why}"
                ) from None
        engine = create_engine(
            parsed, module=sqlite_module(), echo=echo, connect_args={"timeout": busy_timeout_s},
            pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE,
            execution_options={BUSY_OPTION: busy_timeout_s},
        )  # fmt: skip
        event.listen(engine, "connect", _load_spatialite)
        # after loading SpatiaLite, which sets a busy timeout of its own (5 s) on the connection
        event.listen(engine, "connect", lambda dbapi_conn, _: _sqlite_pragmas(dbapi_conn, busy_timeout_s))
        event.listen(engine, "begin", _begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # connections kept open, and no more: past a pool, each request would open one (a new
        # server process) and close it again, and processes of the service beside each other
        # would run out of the server's connections; a thread beyond it waits for one
        return create_engine(parsed, echo=echo, pool_size=POSTGRES_POOL_SIZE, max_overflow=0)
    raise InputError(
        f"unsupported database URL scheme '{parsed.drivername}'; expected sqlite:///FILE "
        "(SpatiaLite) or postgresql://… (PostGIS)"
    )


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` is a SpatiaLite database."""
    return engine.dialect.name == "sqlite"


def reading(engine: Engine) -> Connection:
    """A connection for reads that need no transaction of their own (use it in ``with``): on
    PostgreSQL in autocommit, so that each statement is the only round trip (no ``BEGIN``
    before it and no ``ROLLBACK`` when it is handed back), each seeing what is committed
    when it runs; on SQLite a plain connection."""
    conn = engine.connect()
    return conn if is_sqlite(engine) else conn.execution_options(isolation_level="AUTOCOMMIT")


def fetch(
    engine: Engine, statement: Executable, params: Mapping[str, object] | None = None, *, plain: bool = False
) -> Sequence:
    """The rows of one read ``statement`` (its bound parameters in ``params``), each with its
    columns by name, seeing what is committed when it runs (as :func:`reading`).

    On PostgreSQL the statement goes to the driver as compiled once, in autocommit on a
    connection of the pool: SQLAlchemy's execution of a statement costs about 0.1 ms of the
    interpreter, and with many threads far more, which the reads every tile makes cannot
    afford. A driver's error comes out as SQLAlchemy's (``OperationalError`` …), the
    connection dropped from the pool when it is lost, as SQLAlchemy's own execution does.
    Elsewhere it runs as any statement (SQLite's values need SQLAlchemy's conversions). On
    PostgreSQL the values go to psycopg as they are and come back as psycopg reads them:
    for statements of numbers, text, times and lists, whose types need no conversion of
    SQLAlchemy's. With ``plain`` (a statement of whole numbers and text alone), SQLite's
    driver is given the statement as compiled once too, and the rows are plain tuples."""
    if is_sqlite(engine):
        if plain:
            return _sqlite_fetch(engine, statement, params)
        with reading(engine) as conn:
            return conn.execute(statement, dict(params or {})).all()
    from psycopg.rows import namedtuple_row, tuple_row

    compiled = _compiled(engine, statement)
    values = compiled.construct_params(dict(params or {}))
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        error = engine.dialect.loaded_dbapi.Error
        try:
            driver.autocommit = True
            with driver.cursor(row_factory=tuple_row if plain else namedtuple_row) as cursor:
                cursor.execute(compiled.string, values)
                return cursor.fetchall()
        except error as exc:
            lost = engine.dialect.is_disconnect(exc, driver, None)
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(compiled.string, values, exc, error, connection_invalidated=lost,
                                      dialect=engine.dialect) from exc  # fmt: skip
        finally:
            with suppress(error):  # a lost connection is not handed back
                driver.autocommit = False


#: each statement compiled, by the statement's id and the database; the statement is kept
#: beside it, so that its id stays its own
_COMPILED: dict[tuple[int, str], tuple[Executable, Compiled]] = {}


def _sqlite_fetch(engine: Engine, statement: Executable, params: Mapping[str, object] | None) -> Sequence:
    compiled = _compiled(engine, statement)
    values = compiled.construct_params(dict(params or {})) or {}
    positional = [values[name] for name in getattr(compiled, "positiontup", None) or ()]  # SQLite's "?"
    error = engine.dialect.loaded_dbapi.Error
    with reading(engine) as conn:
        driver: Any = conn.connection.driver_connection
        try:
            return driver.execute(compiled.string, positional).fetchall()
        except error as exc:
            raise DBAPIError.instance(
                compiled.string, positional, exc, error, dialect=engine.dialect
            ) from exc


def _compiled(engine: Engine, statement: Executable) -> Compiled:
    """``statement`` compiled for ``engine``'s database, once (the statements given are
    module-level constants, or kept by their maker)."""
    key = (id(statement), engine.dialect.name)
    if key not in _COMPILED:
        _COMPILED[key] = (statement, statement.compile(dialect=engine.dialect))  # type: ignore[attr-defined]
    return _COMPILED[key][1]
