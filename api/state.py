"""What the service keeps between requests: the engine, layers held in memory until their
version changes, grid leaders' areas, the point-lookup index, encoded tiles and jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api.jobs import Jobs
from api.lru import LRU
from api.pool import BoundedPool
from api.tile_cache import TileCache
from gridmap.accounts import SignInPolicy, User
from gridmap.responsibility import LAYERS as WHO_LAYERS
from gridmap.responsibility import Responsibility
from gridmap.scope import (
    AREA_ADMINS,
    AREA_COLUMNS,
    AREA_INPUTS,
    COMMUNITY_AREA_INPUTS,
    GRID_STAFF,
    Area,
    community_area,
    grid_leader_area,
    visible_frame,
    visible_ids,
)
from gridmap.settings import Settings
from gridmap.store.engine import reading
from gridmap.store.layers import layer_versions_now, read_columns, read_layer
from gridmap.tiles import TileSource

#: the most features of a layer a caller's request reads by id; past it, it takes them from the
#: whole layer held in memory
READ_BY_ID_MAX = 2000
#: requests that read a layer's rows by id at one version of it before the layer is read whole
#: and held again: one whole read of the demo's households costs about as much as five by id,
#: and a layer that has stayed as it is for as many requests is likely to stay so a while
READS_BY_ID_PER_VERSION = 8


class LayerStore:
    """Layers read from the database once per version.

    The version counters (one small table) are read again on every call, so a write by any
    process (another worker of the service, an import on the command line) shows in the
    next request anywhere. Every committed write moves its layer's counter
    (:func:`gridmap.store.layers.bump_version`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._frames: dict[str, tuple[int, pd.DataFrame]] = {}
        self._by_id: dict[str, tuple[int, int]] = {}  # layer → (version, requests that read by id at it)
        self._derived = LRU(256)

    def versions(self) -> dict[str, int]:
        """Every layer's version counter, as committed now."""
        return layer_versions_now(self.engine)

    def frame(
        self, layer: str, versions: dict[str, int] | None = None, columns: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        """The whole layer, indexed by feature id (geometry in EPSG:4326); with ``columns``,
        those alone without geometry, read and kept apart from the whole layer."""
        version = (versions or self.versions()).get(layer, 0)
        key = layer if columns is None else (layer, columns)
        held = self._frames.get(key)
        if held is not None and held[0] == version:
            return held[1]
        with self._lock:
            held = self._frames.get(key)
            if held is None or held[0] != version:
                read = (
                    read_layer(self.engine, layer)
                    if columns is None
                    else read_columns(self.engine, layer, columns)
                )
                held = (version, read)
                self._frames[key] = held
        return held[1]

    def derived(
        self,
        key: tuple,
        layers: tuple[str, ...],
        build: Callable[[dict[str, pd.DataFrame]], Any],
        versions: dict[str, int] | None = None,
        columns: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Any:
        """``build(frames)`` cached until one of ``layers`` changes version (``versions``:
        counters a request has read already; read now when not given); of the layers named
        in ``columns``, the frames hold those columns alone."""
        versions = versions or self.versions()
        full = (*key, tuple(versions.get(n, 0) for n in layers))
        return self._derived.get_or(
            full,
            lambda: build({n: self.frame(n, versions, (columns or {}).get(n)) for n in layers}),
        )

    def area(self, user: User, versions: dict[str, int] | None = None) -> Area | None:
        """Where the user works: grid staff their grids, street and community admins their
        communities (None for roles that work everywhere)."""
        if user.role in GRID_STAFF:
            return self.derived(
                ("area", user.grid_ids),
                AREA_INPUTS,
                lambda f: grid_leader_area(f, user.grid_ids),
                versions,
                AREA_COLUMNS,
            )
        if user.role in AREA_ADMINS:
            key = ("area of communities", user.community_ids, user.street_id)
            return self.derived(
                key,
                COMMUNITY_AREA_INPUTS,
                lambda f: community_area(f, user.community_ids, user.street_id),
                versions,
                AREA_COLUMNS,
            )
        return None

    def held(self, layer: str, versions: dict[str, int]) -> pd.DataFrame | None:
        """The whole layer if it is held as ``versions`` have it, else None."""
        held = self._frames.get(layer)
        return held[1] if held is not None and held[0] == versions.get(layer, 0) else None

    def rows(self, layer: str, ids: frozenset[int] | None, versions: dict[str, int]) -> pd.DataFrame:
        """The features ``ids`` of ``layer`` (every one: None), by id: taken from the whole
        layer when it is held at ``versions``. Else, when they are few (``READ_BY_ID_MAX``),
        they are read by id, so that an edit anywhere in the layer does not make the next
        request of every grid read the layer whole; but once ``READS_BY_ID_PER_VERSION``
        requests have read it by id at one version, and when they are many, the layer is read
        whole again and held."""
        whole = self.held(layer, versions)
        if whole is None:
            version = versions.get(layer, 0)
            seen, reads = self._by_id.get(layer, (None, 0))
            reads = reads + 1 if seen == version else 1
            self._by_id[layer] = (version, reads)
            if ids is not None and len(ids) <= READ_BY_ID_MAX and reads <= READS_BY_ID_PER_VERSION:
                with reading(self.engine) as conn:
                    return read_layer(conn, layer, ids=sorted(ids))
            whole = self.frame(layer, versions)
        return whole if ids is None else whole[whole.index.isin(ids)]

    def visible(
        self,
        layer: str,
        user: User,
        versions: dict[str, int] | None = None,
        within: frozenset[int] | None = None,
    ) -> pd.DataFrame:
        """The rows of ``layer`` the user may read, masked for their role (a grid worker's
        own: :meth:`rows`); with ``within``, of those ids alone."""
        versions = versions or self.versions()
        area = self.area(user, versions)
        ids = visible_ids(layer, user.role, area)
        if within is not None:
            ids = within if ids is None else ids & within
        return visible_frame(layer, self.rows(layer, ids, versions), user.role, area)

    def responsibility(self, versions: dict[str, int] | None = None) -> Responsibility:
        """Who answers for each place, at ``versions`` (read now when not given)."""
        return self.derived(("who",), WHO_LAYERS, Responsibility, versions)

    def tile_source(
        self, layer: str, columns: tuple[str, ...], versions: dict[str, int] | None = None
    ) -> TileSource:
        return self.derived(
            ("tiles", layer, columns),
            (layer,),
            lambda f: TileSource.from_frame(layer, f[layer], columns),
            versions,
        )


class AppState:
    """Everything the routes share."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.layers = LayerStore(engine)
        self.tiles = TileCache(  # no tiles kept: none in a folder either
            settings.tile_cache_tiles,
            settings.tile_cache_dir if settings.tile_cache_tiles else None,
            settings.tile_cache_dir_mb,
        )
        self.kept = LRU(32)  # coverage runs and siting scenarios, which never change
        self.jobs = Jobs(engine=engine)  # kept in the database: every process answers for every job
        self.sign_ins = BoundedPool("sign-in", workers=2, limit=16, what="sign-ins")
        self.heavy = BoundedPool("heavy", workers=1, limit=4, what="map downloads and grid drawings")
        # tiles on threads of their own; a queue longer than any browsers' bursts is answered 429
        self.tile_threads = BoundedPool(
            "tiles", workers=settings.tile_threads, limit=4096, what="tile requests"
        )
        self.sign_in_policy = SignInPolicy.from_settings(settings)

    def shutdown(self) -> None:
        self.jobs.shutdown()
        self.sign_ins.shutdown()
        self.heavy.shutdown()
        self.tile_threads.shutdown()
