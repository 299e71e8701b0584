"""Encoded tiles kept between requests: in this process's memory and, when the service is
given a folder, on disk where every process of the service finds them.

Tiles are kept under their entity tag, which already names the layer version, the caller's
scope and the tile address: a tag found is the right tile, whichever process cut it, and an
edit moves the version and so the tag. Files are written under a temporary name and renamed,
so a process never reads half a tile; the oldest go when the folder outgrows its size.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

from api.lru import LRU

PRUNE_EVERY = 256  # tiles written between looks at the folder's size


class TileCache:
    """Tiles by tag: ``memory`` tiles in this process, and the folder ``shared`` (None: none)
    of at most ``shared_mb`` MiB."""

    def __init__(self, memory: int, shared: Path | None = None, shared_mb: int = 1024) -> None:
        self.memory = LRU(memory)
        self.shared = Path(shared) if shared else None
        self.limit = shared_mb * 1024 * 1024
        self._written = 0
        self._lock = threading.Lock()
        if self.shared:
            self.shared.mkdir(parents=True, exist_ok=True)

    def get(self, tag: str) -> bytes | None:
        data = self.memory.get(tag)
        if data is None and self.shared is not None:
            try:
                data = self._path(tag).read_bytes()
            except FileNotFoundError:
                return None
            self.memory.put(tag, data)
        return data

    def put(self, tag: str, data: bytes) -> None:
        self.memory.put(tag, data)
        if self.shared is None:
            return
        path = self._path(tag)
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
        with self._lock:
            self._written += 1
            prune = self._written % PRUNE_EVERY == 0
        if prune:
            self.prune()

    def prune(self) -> None:
        """Delete the oldest tiles until the folder is within four fifths of its size."""
        if self.shared is None:
            return
        files = []
        for path in self.shared.glob("*/*.mvt"):
            with contextlib.suppress(FileNotFoundError):  # another process pruned it
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        if total <= self.limit:
            return
        for _, size, path in sorted(files):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size
            if total <= self.limit * 0.8:
                break

    def _path(self, tag: str) -> Path:
        assert self.shared is not None and tag.isalnum()
        return self.shared / tag[:2] / f"{tag}.mvt"
