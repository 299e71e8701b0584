"""The schema revision a database is at, and the newest this version of gridmap knows, read
without Alembic: the service checks both as it starts, and Alembic, with the migrations it
loads to find the newest (GeoAlchemy2 among their imports), was 0.15 s of each service
process's start. Making and changing the schema stays with Alembic
(:mod:`gridmap.store.schema`); a test holds that both find the same newest revision."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text

#: Alembic's folder of the schema's migrations, and the migrations in it, one file each
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
#: the table where Alembic keeps the revision a database is at
VERSION_TABLE = "alembic_version"

# a migration's own revision and the one it follows, as each file states them at its top level
_STATED = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:["']([^"'\n]*)["']|None)\s*$""", re.M
)


@functools.cache
def head_revision() -> str:
    """The newest schema revision this version of gridmap knows: the one no migration
    follows (each migration file states its ``revision`` and the ``down_revision`` it
    follows)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in sorted(VERSIONS_DIR.glob("*.py")):
        stated = {name: value for name, value in _STATED.findall(path.read_text(encoding="utf-8"))}
        if "revision" not in stated:
            raise RuntimeError(f"{path.name}: states no revision")
        revisions.add(stated["revision"])
        if stated.get("down_revision"):
            followed.add(stated["down_revision"])
    heads = revisions - followed
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} newest revisions, not one: {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None before ``db init``."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        at = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(at) > 1:
        raise RuntimeError(f"the database is at {len(at)} schema revisions at once: {sorted(at)}")
    return at[0] if at else None
