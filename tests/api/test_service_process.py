"""The service's process: what its start-up made is left out of the cycle collector's full
passes while it serves (a full pass over those 200,000 objects held every thread for about
100 ms, the slowest request in a hundred under load) and given back when it stops."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from api.main import create_app
from gridmap.settings import Settings


def test_start_up_objects_stay_out_of_the_collectors_full_passes_while_serving(demo_db):
    gc.unfreeze()
    with TestClient(create_app(Settings(database_url=demo_db))) as client:
        assert gc.get_freeze_count() > 100_000  # the modules and the app, at least
        assert client.get("/conformance").status_code == 200
    assert gc.get_freeze_count() == 0
