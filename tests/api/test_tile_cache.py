"""The tiles the service's processes share on disk: found by any process, never half
written, and the oldest gone once the folder outgrows its size."""

from __future__ import annotations

import os
import threading

from api import tile_cache
from api.tile_cache import TileCache


def _tag(i: int) -> str:
    return f"{i:032x}"


def test_a_tile_kept_by_one_process_is_found_by_another(tmp_path):
    one, other = TileCache(16, tmp_path), TileCache(16, tmp_path)
    one.put(_tag(1), b"tile one")
    assert other.get(_tag(1)) == b"tile one"
    assert other.get(_tag(2)) is None
    assert TileCache(16).get(_tag(1)) is None  # without the folder, each process keeps its own


def test_writers_at_once_leave_whole_tiles_and_no_pieces(tmp_path):
    caches = [TileCache(4, tmp_path) for _ in range(4)]
    body = os.urandom(64 * 1024)

    def write(cache: TileCache) -> None:
        for i in range(50):
            cache.put(_tag(i), body)

    threads = [threading.Thread(target=write, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(TileCache(0, tmp_path).get(_tag(i)) == body for i in range(50))
    assert not list(tmp_path.rglob("*.part"))


def test_the_oldest_tiles_go_when_the_folder_outgrows_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(tile_cache, "PRUNE_EVERY", 10)
    cache = TileCache(0, tmp_path, shared_mb=1)
    body = b"x" * (100 * 1024)
    for i in range(30):  # 3 MB written, pruned every 10 tiles
        cache.put(_tag(i), body)
        os.utime(cache._path(_tag(i)), (1_000_000 + i, 1_000_000 + i))  # in order of writing
    kept = sorted(int(p.stem, 16) for p in tmp_path.rglob("*.mvt"))
    assert sum(p.stat().st_size for p in tmp_path.rglob("*.mvt")) <= 1024 * 1024
    assert kept == list(range(30 - len(kept), 30)) and len(kept) >= 5  # the newest stay


def test_no_tiles_kept_means_none_in_the_folder_either(tmp_path):
    """``tile_cache_tiles = 0`` turns the cache off: every tile is cut anew (the cold tiles
    of bench/tiles.py), even where the processes were given a folder to share."""
    from api.state import AppState
    from gridmap.settings import Settings
    from gridmap.store.engine import make_engine

    folder = tmp_path / "tiles"
    engine = make_engine(f"sqlite:///{tmp_path / 'unused.sqlite'}")
    kept = AppState(Settings(tile_cache_tiles=0, tile_cache_dir=folder), engine)
    kept.tiles.put(_tag(1), b"tile one")
    assert kept.tiles.get(_tag(1)) is None and not list(folder.rglob("*.mvt"))
    shared = AppState(Settings(tile_cache_tiles=16, tile_cache_dir=folder), engine)
    shared.tiles.put(_tag(1), b"tile one")
    assert TileCache(0, folder).get(_tag(1)) == b"tile one"
    for state in (kept, shared):
        state.shutdown()
    engine.dispose()
