"""Fixtures of the load and fault tests (helpers in :mod:`processes`): one database per
backend and two service processes over it, shared by the whole run (each test keeps to
features and account names of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import Service, add_accounts, start_services


@pytest.fixture(scope="session", params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def db_url(request, demo_copy) -> str:
    """The demo district with one account per role, on each backend."""
    url = demo_copy(request.param, "reliability")
    add_accounts(url)
    return url


@pytest.fixture(scope="session")
def shared_tiles(db_url, tmp_path_factory) -> Path:
    """The folder where the two processes keep the tiles they cut."""
    return tmp_path_factory.mktemp("shared-tiles")


@pytest.fixture(scope="session")
def services(db_url, shared_tiles) -> Iterator[list[Service]]:
    """Two processes of the service over the same database, sharing one folder of tiles.
    Every test signs in from one address, so that address's own limit (tested on its own) is
    set out of reach."""
    running = start_services(
        db_url, 2, GRIDMAP_SIGN_IN_MAX_FAILURES_PER_ADDRESS="100000", GRIDMAP_TILE_CACHE_DIR=str(shared_tiles)
    )
    yield running
    for service in running:
        service.stop()
