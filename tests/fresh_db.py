"""Databases for tests: an initialised, emptied one at a URL (SpatiaLite or PostGIS), copies
of a PostgreSQL database on its own server, a SpatiaLite copy of the filled demo, and files
made once per run for every worker."""

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete
from sqlalchemy.engine import make_url

from gridmap.store.engine import make_engine
from gridmap.store.schema import init_db
from gridmap.store.tables import metadata


def emptied(url: str) -> Engine:
    """An engine on the database at ``url``, its schema current and every table empty."""
    engine = make_engine(url)
    init_db(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    return engine


def copy_database(template_url: str, name: str, *, empty: bool = False) -> str:
    """A new PostgreSQL database on ``template_url``'s server: a copy of that database
    (CREATE DATABASE … TEMPLATE), or with ``empty`` a new empty one."""
    template = make_url(template_url)
    admin = create_engine(template.set(database="postgres"), isolation_level="AUTOCOMMIT")
    source = "" if empty else f' TEMPLATE "{template.database}"'
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{source}')
    admin.dispose()
    return template.set(database=name).render_as_string(hide_password=False)


def spatialite_service(request, tmp_path_factory) -> str:
    """A SpatiaLite copy of the filled demo, for modules whose page or client is the same over
    either store (the browser tests: the API tests run on both)."""
    path = tmp_path_factory.mktemp("service") / "service.sqlite"
    shutil.copyfile(request.getfixturevalue("_service_file"), path)
    return f"sqlite:///{path}"


def made_once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """The file ``name``, made by ``make(path)`` once per run: under pytest-xdist the first
    worker to ask makes it (the others wait on a lock) in the folder the run's workers share;
    made under a temporary name, so that no worker finds it half written."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        path = tmp_path_factory.mktemp(name) / name
        make(path)
        return path
    shared = tmp_path_factory.getbasetemp().parent  # this run's, one per worker below it
    path = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            making = shared / f"{name}.making"
            make(making)
            making.rename(path)
    return path
