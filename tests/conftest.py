"""Shared fixtures: paths, small frames, and ``engine`` over SpatiaLite and PostGIS.

The PostGIS server is started once per run (tests/postgis.py). Where it cannot be, the
PostGIS tests are skipped, except under ``CI=true``, where that is an error.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fresh_db import copy_database, made_once
from sqlalchemy import Engine, delete

from gridmap.store.engine import make_engine
from gridmap.store.schema import init_db
from gridmap.store.tables import metadata

DEMO_SEED = 7

# a service started on PostGIS opens its pool of connections before it serves (each ready for
# PostGIS: about 20 ms of the database's time); the tests start the service many times and
# need few connections, so they leave it to the test of that start
os.environ.setdefault("GRIDMAP_OPEN_POOL_AT_START", "false")
# passwords hashed at N = 1,024 rather than the installation's 16,384 (about 40 ms a hash, the
# largest single cost of the run: the tests make accounts and sign in some six hundred times); a
# hash keeps its cost, and tests/test_accounts_cost.py checks the default and both costs
os.environ.setdefault("GRIDMAP_PASSWORD_HASH_COST", "10")

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "fixtures" / "osm" / "chengdu-central"

#: test folders whose files share session fixtures costly to start (two service processes per
#: backend): run on one worker, in one go, rather than started again for each file
SHARED_FOLDERS = ("reliability",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``, as ``./dev test`` runs it) a test file runs on
    one worker with its module fixtures, and a folder of ``SHARED_FOLDERS`` as a whole."""
    for item in items:
        path = Path(str(item.fspath)).relative_to(ROOT / "tests")
        group = path.parts[0] if path.parts[0] in SHARED_FOLDERS else str(path)
        item.add_marker(pytest.mark.xdist_group(group))
    # the longest groups first, so that no worker starts one when the other is nearly done
    # (`./dev test` has pytest-xdist keep this order: --no-loadscope-reorder)
    items.sort(key=lambda item: _rank(Path(str(item.fspath)).relative_to(ROOT / "tests")))


#: the longest groups, in the order they start: the shared folders, the browser tests, the API
LONGEST = (*SHARED_FOLDERS, "api/test_editor_web.py", "benchmarks", "api/test_web.py", "api/test_read.py", "api/test_answers.py",
           "api", "scale")  # fmt: skip


def _rank(path: Path) -> int:
    for rank, prefix in enumerate(LONGEST):
        if path.as_posix().startswith(prefix):
            return rank
    return len(LONGEST)


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """The demo district generated in memory (seed 7), shared by the whole session (generated
    once per run: each worker reads the first one's)."""
    from gridmap.demo.build import generate

    def make(path: Path) -> None:
        path.write_bytes(pickle.dumps(generate(seed=DEMO_SEED), protocol=pickle.HIGHEST_PROTOCOL))

    return pickle.loads(made_once(tmp_path_factory, "demo-data.pickle", make).read_bytes())


@pytest.fixture(scope="module")
def demo_db(demo_copy) -> str:
    """A SpatiaLite file holding the demo district, one per test module (commands write to
    it): a copy of the one written once per run."""
    return demo_copy("spatialite", "demo")


@pytest.fixture(scope="module", params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def demo_engine(request, demo_copy) -> Iterator[Engine]:
    """An engine on the demo district of each backend, one copy per test module (its tests
    write to it), named after the module."""
    engine = make_engine(demo_copy(request.param, request.module.__name__.rsplit(".", 1)[-1]))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _demo_file(tmp_path_factory, request) -> Path:
    """The demo district in a SpatiaLite file, written once per run, for copies."""
    from gridmap.demo.build import write_demo

    def make(path: Path) -> None:
        engine = make_engine(f"sqlite:///{path}")
        init_db(engine)
        write_demo(engine, request.getfixturevalue("demo_data"))
        engine.dispose()

    return made_once(tmp_path_factory, "demo.sqlite", make)


@pytest.fixture(scope="session")
def _demo_template(postgis_url, demo_data) -> str:
    """A PostGIS database holding the demo district, written once per run, for copies."""
    from gridmap.demo.build import write_demo

    url = copy_database(postgis_url, "demo_template", empty=True)
    engine = make_engine(url)
    init_db(engine)
    write_demo(engine, demo_data)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_copy(request, tmp_path_factory) -> Callable[[str, str], str]:
    """``demo_copy(backend, name)``: the URL of a new database (``spatialite`` or ``postgis``)
    holding the demo district as ``write_demo`` leaves it, copied from one written per run."""

    def make(backend: str, name: str) -> str:
        if backend == "spatialite":
            path = tmp_path_factory.mktemp(name) / f"{name}.sqlite"
            shutil.copyfile(request.getfixturevalue("_demo_file"), path)
            return f"sqlite:///{path}"
        return copy_database(request.getfixturevalue("_demo_template"), name)

    return make


@pytest.fixture
def hash_cost(monkeypatch) -> Iterator[Callable[[int | None], None]]:
    """``hash_cost(c)``: new password hashes of this process cost 2^c for the rest of the test
    (None: the installation's default), as ``GRIDMAP_PASSWORD_HASH_COST`` sets it."""
    from gridmap import accounts

    def set_to(value: int | None) -> None:
        if value is None:
            monkeypatch.delenv("GRIDMAP_PASSWORD_HASH_COST", raising=False)
        else:
            monkeypatch.setenv("GRIDMAP_PASSWORD_HASH_COST", str(value))
        accounts._scrypt_n.cache_clear()  # each process reads the setting once

    yield set_to
    monkeypatch.undo()
    accounts._scrypt_n.cache_clear()


@pytest.fixture(scope="session")
def postgis_url():
    from postgis import postgis_server, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostGIS is required in CI: {reason}")
        pytest.skip(reason)
    with postgis_server() as url:
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def _spatialite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def engine(request):
    """An engine on an initialised, empty database of each backend."""
    if request.param == "spatialite":
        url = request.getfixturevalue("_spatialite_url")
    else:
        url = request.getfixturevalue("postgis_url")
    eng = make_engine(url)
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":  # ids start from 1 again, as on a new SpatiaLite table
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))
    yield eng
    eng.dispose()
