"""A request body over the service's ceiling (GRIDMAP_MAX_REQUEST_MB) is refused with 413
before a route reads it, whether it says its length or streams in chunks; one under it is
served as before. An 83 MB building of two million vertices used to be stored (201)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api import errors
from api.body_limit import BodyLimit
from api.main import create_app
from gridmap.settings import Settings


def _service(limit_mb: float) -> TestClient:
    """A route that reads its whole body, behind the service's ceiling and error answers."""
    app = FastAPI()
    errors.install(app)
    app.add_middleware(BodyLimit, limit_mb=limit_mb)

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    return TestClient(app)


def test_a_body_over_the_ceiling_is_refused_before_it_is_read():
    said = "the request's body is over the 0.05 MiB this service takes (GRIDMAP_MAX_REQUEST_MB)"
    with _service(0.05) as client:  # 52,428 bytes
        big = b"x" * 60_000
        r = client.post("/echo", content=big)
        assert r.status_code == 413 and r.json() == {"status": 413, "title": "too large", "detail": said}
        chunked = client.post("/echo", content=iter([big[:30_000], big[30_000:]]))  # no length given
        assert chunked.status_code == 413 and chunked.json()["detail"] == said
        assert client.post("/echo", content=b"x" * 50_000).json() == {"bytes": 50_000}


def test_the_service_takes_its_ceiling_from_the_settings():
    app = create_app(Settings(database_url="sqlite:///unused.sqlite", max_request_mb=3))
    ceilings = [m.kwargs["limit_mb"] for m in app.user_middleware if m.cls is BodyLimit]
    assert ceilings == [3]
