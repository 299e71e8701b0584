"""The service's own secret, kept in the database so that every process shares it.

Entity tags are keyed hashes under it (:func:`gridmap.io.edits.feature_etag`): a tag says
whether a representation changed and nothing about what it holds, since nobody without the
secret can test a guess of hidden values against it.
"""

from __future__ import annotations

import secrets
import threading
import weakref

from sqlalchemy import Engine, select

from gridmap.store.engine import write_transaction
from gridmap.store.layers import insert_if_missing
from gridmap.store.tables import service_secrets

_held: weakref.WeakKeyDictionary[Engine, dict[str, bytes]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def service_secret(engine: Engine, name: str = "etag") -> bytes:
    """The secret ``name`` (32 bytes), made once per database when it has none; held for
    the life of ``engine``."""
    held = _held.get(engine, {}).get(name)
    if held is not None:
        return held
    with _lock:
        with write_transaction(engine) as conn:
            value = conn.execute(
                select(service_secrets.c.value).where(service_secrets.c.name == name)
            ).scalar_one_or_none()
            if value is None:
                insert_if_missing(conn, service_secrets, name=name, value=secrets.token_hex(32))
                value = conn.execute(
                    select(service_secrets.c.value).where(service_secrets.c.name == name)
                ).scalar_one()
        _held.setdefault(engine, {})[name] = bytes.fromhex(value)
    return _held[engine][name]
