"""A request body over the service's ceiling (GRIDMAP_MAX_REQUEST_MB) is refused with 413
before a route reads it, whether it says its length or streams in chunks; one under it is
served as before. An 83 MB building of two million vertices used to be stored (201)."""

from __future__ import annotations

import json
import math

from fastapi.testclient import TestClient

from api.main import create_app
from gridmap.settings import Settings


def _building(vertices: int) -> dict:
    ring = [[104.06 + 0.001 * math.cos(2 * math.pi * i / vertices), 30.66 + 0.001 * math.sin(2 * math.pi * i / vertices)]
            for i in range(vertices)]  # fmt: skip
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"name": "大楼"}}  # fmt: skip


def test_a_body_over_the_ceiling_is_refused_before_it_is_read(service_db, auth):
    settings = Settings(database_url=service_db, max_request_mb=0.05)  # 51,200 bytes
    with TestClient(create_app(settings)) as small:
        big = json.dumps(_building(5000)).encode()
        headers = {**auth["admin"], "Content-Type": "application/geo+json"}
        r = small.post("/collections/buildings/items", content=big, headers=headers)
        assert r.status_code == 413, r.text
        assert r.json()["detail"] == (
            "the request's body is over the 0.05 MiB this service takes (GRIDMAP_MAX_REQUEST_MB)"
        )
        chunked = small.post(
            "/collections/buildings/items", content=iter([big[:30000], big[30000:]]), headers=headers
        )
        assert chunked.status_code == 413 and "over the 0.05 MiB" in chunked.text
        assert (
            small.get("/collections/buildings/items?name=大楼", headers=auth["admin"]).json()["numberMatched"]
            == 0
        )
        r = small.post("/collections/buildings/items", json=_building(40), headers=auth["admin"])
        assert r.status_code == 201, r.text
