"""The service on several processes over one database: an edit through one process shows in
the next tile any other cuts, and a tile cut by one is read by the others from the folder
they share, never cut again."""

from __future__ import annotations

import math

import httpx2 as httpx
import mapbox_vector_tile
from processes import token

from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer

ZOOM = 16


def _tile_of(lon: float, lat: float) -> tuple[int, int]:
    n = 2**ZOOM
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _names(service_url: str, headers: dict[str, str], x: int, y: int) -> tuple[set[str], str]:
    r = httpx.get(f"{service_url}/tiles/buildings/{ZOOM}/{x}/{y}", headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    layers = mapbox_vector_tile.decode(r.content)
    return {
        f["properties"].get("name") for f in layers.get("buildings", {"features": []})["features"]
    }, r.headers["etag"]


def test_an_edit_through_one_process_shows_in_the_next_tile_of_the_other(services, db_url, shared_tiles):
    first, second = services
    admin = token(first.url, "admin")
    engine = make_engine(db_url)
    buildings = read_layer(engine, "buildings", columns=["name"])
    engine.dispose()
    fid = int(buildings.index[-7])
    point = buildings.geometry.loc[fid].representative_point()
    x, y = _tile_of(point.x, point.y)

    names, tag = _names(first.url, admin, x, y)  # cut by the first process
    files = {p: p.stat() for p in shared_tiles.glob("*/*.mvt")}
    bare = tag.strip('"')
    kept = shared_tiles / bare[:2] / f"{bare}.mvt"
    assert kept in files
    again, tag_again = _names(second.url, admin, x, y)  # read by the second, not cut again
    assert (again, tag_again) == (names, tag)
    after = kept.stat()
    assert (after.st_ino, after.st_mtime_ns) == (files[kept].st_ino, files[kept].st_mtime_ns)

    etag = httpx.get(f"{first.url}/collections/buildings/items/{fid}", headers=admin).headers["etag"]
    body = {"type": "Feature", "geometry": None, "properties": {"name": "改过的楼"}}
    r = httpx.patch(
        f"{first.url}/collections/buildings/items/{fid}", json=body, headers={**admin, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    edited, new_tag = _names(second.url, admin, x, y)  # the other process, at once
    assert "改过的楼" in edited and new_tag != tag
    assert _names(first.url, admin, x, y) == (edited, new_tag)
