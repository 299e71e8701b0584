"""The records of the service's background jobs, in the database that all its processes share:
the process that runs a job writes how far it got, and any process answers for it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from gridmap.store.engine import reading, write_transaction
from gridmap.store.tables import background_jobs

#: a job's state while it has not finished
HELD = ("queued", "running")
_JSON = ("result", "error")


def _stored(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: json.dumps(v, ensure_ascii=False) if k in _JSON and v is not None else v for k, v in values.items()
    }


def add_job(engine: Engine, record: Mapping[str, Any], keep_finished: int) -> None:
    """Keep a new job's ``record`` (the columns of ``background_jobs``), and let go of the
    finished ones but the newest ``keep_finished``."""
    table = background_jobs
    with write_transaction(engine) as conn:
        conn.execute(insert(table).values(**_stored(record)))
        finished = select(table.c.id).where(table.c.finished_at.is_not(None))
        kept = finished.order_by(table.c.finished_at.desc(), table.c.id.desc()).limit(keep_finished)
        conn.execute(
            delete(table).where(table.c.finished_at.is_not(None), table.c.id.not_in(kept.scalar_subquery()))
        )


def update_job(engine: Engine, job_id: str, **values: Any) -> None:
    """Change a kept job's columns (its status, stage, counts, result or error)."""
    with write_transaction(engine) as conn:
        conn.execute(update(background_jobs).where(background_jobs.c.id == job_id).values(**_stored(values)))


def read_job(engine: Engine, job_id: str) -> dict[str, Any] | None:
    """A kept job's columns, its result and error read back from JSON; None when there is none."""
    with reading(engine) as conn:
        row = conn.execute(select(background_jobs).where(background_jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    return {k: json.loads(v) if k in _JSON and v is not None else v for k, v in row.items()}


def held_jobs(engine: Engine) -> list[tuple[str, str, str]]:
    """(id, owner, heard_at) of every job queued or running, in any process."""
    table = background_jobs
    with reading(engine) as conn:
        rows = conn.execute(
            select(table.c.id, table.c.owner, table.c.heard_at).where(table.c.status.in_(HELD))
        )
        return [(r.id, r.owner, r.heard_at) for r in rows]


def hear_jobs(engine: Engine, job_ids: list[str], at: str) -> None:
    """Mark the jobs ``job_ids`` (held by the process that calls) as heard from ``at``."""
    table = background_jobs
    with write_transaction(engine) as conn:
        conn.execute(update(table).where(table.c.id.in_(job_ids)).values(heard_at=at))
