"""The quick lane of tiles (api/tile_lane.py) answers exactly as the documented route: the same
status, headers and body (compressed where the client takes it) for every request, plain or
odd, for each role; it takes the plain requests and answers them itself, errors as the
service's handlers say them, and leaves every other to the documented route."""

from __future__ import annotations

import random

import pytest
from test_read import tile_of

from api.tile_lane import TileLane, plain_ask
from gridmap.tiles import MAX_ZOOM

LAYERS = ("buildings", "grids", "roads", "facilities", "events", "coverage", "gaps", "circles", "proposals",
          "nope", "buildings.json")  # fmt: skip
#: (path after the layer, query) that the lane takes
PLAIN = [
    ("{z}/{x}/{y}", ""),
    ("{z}/{x}/{y}.mvt", ""),
    ("{z}/{x}/{y}.pbf", ""),
    ("{z}/{x}/{y}", "category=elderly_care&level=15"),
    ("{z}/{x}/{y}", "category=elderly_care&level=05&run=latest"),
    ("{z}/{x}/{y}", "category=clinic&level=15&run=1"),
    ("{z}/{x}/{y}", "scenario=latest"),
    ("{z}/{x}/{y}", "scenario=999"),
    ("{z}/{x}/{y}", "category=&level=60"),
    ("{z}/0{x}/{y}", ""),
    ("{z}/{x}/99999999", ""),  # off the grid: 404
    (f"{MAX_ZOOM}/0/0", ""),
    ("0/0/0", ""),
]
#: ... and requests it leaves to the documented route
ODD = [
    ("{z}/{x}/{y}.png", ""),
    ("0{z}/{x}/{y}", ""),  # a zoom of three digits
    ("{z}/{x}/{y}%0A", ""),  # a line feed after the row
    ("{z}/{x}/+{y}", ""),
    ("+{z}/{x}/{y}", ""),
    ("{z}/-{x}/{y}", ""),
    ("{z}/{x}/{y}.", ""),
    ("{z}/{x}/{y}.mvt.mvt", ""),
    ("٣/{x}/{y}", ""),  # digits, but not ASCII ones
    ("{z}/{x}/١٢", ""),
    (f"{MAX_ZOOM + 1}/0/0", ""),
    ("100/0/0", ""),
    ("{z}/99999999999/{y}", ""),
    ("{z}/{x}/123456789", ""),
    ("{z}/{x}/{y}", "level=0"),
    ("{z}/{x}/{y}", "level=61"),
    ("{z}/{x}/{y}", "level="),
    ("{z}/{x}/{y}", "level=1e1"),
    ("{z}/{x}/{y}", "level=15&level=10"),
    ("{z}/{x}/{y}", "run=latest2"),
    ("{z}/{x}/{y}", "run="),
    ("{z}/{x}/{y}", "scenario=-1"),
    ("{z}/{x}/{y}", "category=" + "a" * 51),
    ("{z}/{x}/{y}", "category=elderly%5Fcare&level=15"),
    ("{z}/{x}/{y}", "category=elderly+care"),
    ("{z}/{x}/{y}", "other=1"),
    ("{z}/{x}/{y}", "category"),
    ("{z}/{x}/{y}", "&"),
    ("{z}/{x}/{y}", "=15"),
]


@pytest.fixture(scope="module")
def lane(client):
    """The app's lane, in front of the service's own middleware, which a test turns off."""
    client.get("/conformance")  # the middleware is put together for the first request
    assert client.app.user_middleware[0].cls is TileLane  # the outermost of the service's own
    found = client.app.middleware_stack
    while not isinstance(found, TileLane):
        found = found.app
    return found


def _both(client, lane, method: str, url: str, headers: dict) -> tuple:
    """(answer with the lane, answer without it, whether the lane took the request, whether
    it answered it itself rather than passing it on)."""
    taken, passed = [], []
    take, service = lane.take, lane.app

    def counted(scope):
        got = take(scope)
        taken.append(got is not None)
        return got

    async def went_on(scope, receive, send):
        passed.append(scope["path"])
        await service(scope, receive, send)

    lane.take, lane.app = counted, went_on
    try:
        with_lane = client.request(method, url, headers=headers)
    finally:
        del lane.take
        lane.app = service
    lane.take = lambda scope: None
    try:
        without = client.request(method, url, headers=headers)
    finally:
        del lane.take
    return with_lane, without, taken == [True], taken == [True] and not passed


def _same(a, b, url: str) -> None:
    assert (a.status_code, a.content) == (b.status_code, b.content), url
    assert sorted(a.headers.items()) == sorted(b.headers.items()), url


def test_every_plain_and_odd_request_is_answered_as_the_documented_route_does(
    client, auth, lane, leader_grid
):
    z, x, y = (int(v) for v in tile_of(leader_grid.geometry.representative_point(), 14).split("/"))
    callers = {
        **{name: auth[name] for name in ("public", "planner", "leader", "admin")},
        "bad token": {"Authorization": "Bearer not-a-token"},
        "other scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "empty bearer": {"Authorization": "Bearer "},
    }
    for layer in LAYERS:  # each layer as each caller
        url = f"/tiles/{layer}/{z}/{x}/{y}"
        for name, headers in callers.items():
            a, b, taken, answered = _both(client, lane, "GET", url, headers)
            _same(a, b, f"{name}: {url}")
            assert taken and answered, f"{name}: {url}"
    for layer in ("grids", "coverage"):  # each address and query, as a few callers
        for kind, cases in (("plain", PLAIN), ("odd", ODD)):
            for tail, query in cases:
                url = f"/tiles/{layer}/{tail.format(z=z, x=x, y=y)}" + (f"?{query}" if query else "")
                for name in ("public", "leader", "bad token"):
                    a, b, taken, _ = _both(client, lane, "GET", url, callers[name])
                    _same(a, b, f"{name}: {url}")
                    assert taken == (kind == "plain"), f"{name}: {url}"
    # the client's copy current: 304 by either route, and a stale tag gets the tile
    url = f"/tiles/grids/{z}/{x}/{y}"
    tag = client.get(url, headers=auth["leader"]).headers["etag"]
    for match in (tag, f'W/{tag}, "other"', '"stale"'):
        a, b, _, answered = _both(client, lane, "GET", url, {**auth["leader"], "If-None-Match": match})
        _same(a, b, match)
        assert answered and a.status_code == (200 if match == '"stale"' else 304)
    # a header given twice, and a method other than GET: the documented route's
    for method, headers in (("GET", [*auth["leader"].items(), *auth["planner"].items()]), ("HEAD", auth["leader"]),
                            ("POST", auth["leader"]), ("DELETE", auth["admin"])):  # fmt: skip
        a, b, taken, _ = _both(client, lane, method, url, headers)
        _same(a, b, f"{method} {url}")
        assert not taken


def test_random_addresses_and_queries_are_answered_alike(client, auth, lane):
    rng = random.Random(7)
    pieces = [
        "0",
        "1",
        "9",
        "13",
        "14",
        "24",
        "25",
        "00",
        "+",
        "-",
        ".",
        "mvt",
        "pbf",
        "e",
        "٣",
        " ",
        "%20",
        "x",
    ]
    names = ["category", "level", "run", "scenario", "other", ""]
    values = ["", "15", "0", "61", "latest", "1", "elderly_care", "%5F", "a b", "-1", "05"]
    for _ in range(100):
        address = "/".join("".join(rng.choices(pieces, k=rng.randint(1, 3))) for _ in range(3))
        query = "&".join(f"{rng.choice(names)}={rng.choice(values)}" for _ in range(rng.randint(0, 3)))
        url = f"/tiles/{rng.choice(LAYERS[:7])}/{address}" + (f"?{query}" if query else "")
        a, b, *_ = _both(client, lane, "GET", url, auth[rng.choice(["public", "planner", "leader"])])
        _same(a, b, url)


def test_what_the_lane_reads_from_a_plain_request():
    ask = plain_ask(
        {"layer": "coverage", "z": "04", "x": "13", "y": "7.mvt"}, b"category=clinic&level=05&run=3"
    )
    assert (ask.layer, ask.z, ask.x, ask.y, ask.category, ask.level, ask.run, ask.scenario) == (
        "coverage", 4, 13, 7, "clinic", 5, "3", "latest"
    )  # fmt: skip
    assert plain_ask({"layer": "roads", "z": "1", "x": "2", "y": "3"}, b"").level is None
    assert plain_ask({"layer": "roads", "z": "1", "x": "2", "y": "3"}, b"level=5&level=5") is None
