"""Vector tiles built inside PostGIS (``ST_AsMVTGeom`` and ``ST_AsMVT``), as tipg and Martin
build theirs: the features of a stored layer touching a tile (with its buffer), clipped,
moved onto the tile grid and encoded by the database, with the caller's scope (the feature
ids they may read) in the query. The same tile as :func:`gridmap.tiles.encode_tile` cuts
from a layer held in memory: one layer named after the stored one, the feature id as the
property ``id`` beside the layer's display columns, geometry on the same 4096-unit grid
with the same 64-unit buffer (within a unit of it: each rounds on its own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache

from sqlalchemy import Engine, TextClause, text

from gridmap.store.engine import fetch
from gridmap.store.tables import GEOMETRY_COLUMN, LAYER_TABLES
from gridmap.tiles import BUFFER, EXTENT

_TILE_SQL = """
WITH tile AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS envelope,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS reach
), features AS (
    SELECT ST_AsMVTGeom(ST_Transform(t.{geom}, 3857), tile.envelope, :extent, :buffer, true) AS mvt_geom,
           t.id AS id{columns}
    FROM {table} AS t, tile
    WHERE t.{geom} && tile.reach{scope}
)
SELECT ST_AsMVT(features.*, :layer, :extent, 'mvt_geom') FROM features WHERE mvt_geom IS NOT NULL
"""


def postgis_tile(
    engine: Engine,
    layer: str,
    columns: Sequence[str],
    z: int,
    x: int,
    y: int,
    keep: Iterable[int] | None = None,
) -> bytes:
    """Tile ``z/x/y`` (WebMercatorQuad) of the stored ``layer`` with its ``columns``, encoded
    by PostGIS; with ``keep``, only the features whose id it holds. Empty bytes for a tile
    with no feature. One statement, straight to the driver (:func:`~gridmap.store.engine.fetch`)."""
    params: dict[str, object] = {"z": z, "x": x, "y": y, "margin": BUFFER / EXTENT, "extent": EXTENT,
                                 "buffer": BUFFER, "layer": layer}  # fmt: skip
    if keep is not None:
        params["keep"] = sorted(int(i) for i in keep)
    rows = fetch(engine, _tile_statement(engine.dialect.identifier_preparer.quote, layer, tuple(columns),
                                         keep is not None), params)  # fmt: skip
    return bytes(rows[0][0] or b"")


@cache
def _tile_statement(
    quote: Callable[[str], str], layer: str, columns: tuple[str, ...], scoped: bool
) -> TextClause:
    """The statement of a layer's tiles with these columns, made once (each tile runs it)."""
    table = LAYER_TABLES[layer]
    present = [c for c in columns if c in table.c]
    return text(
        _TILE_SQL.format(
            geom=quote(GEOMETRY_COLUMN), table=quote(table.name),
            columns="".join(f", t.{quote(c)}" for c in present),
            scope=" AND t.id = ANY(:keep)" if scoped else "",
        )
    )  # fmt: skip
