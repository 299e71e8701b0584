"""Long work (coverage runs, siting scenarios) in the background, with progress to poll.

A job runs on a worker thread of the process that accepted it. With a database to keep them
in (the service's), every change of a job is written to ``background_jobs``, so that a poll
answered by another of the service's processes sees it too, and the process beats for the jobs
it holds; a job whose process has stopped (on this machine: its pid is gone; on another: it has
not been heard from for :data:`SILENT_AFTER_S`) is answered as failed. Without one (tests of
the queue alone) jobs live in this process only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Engine

from api.errors import status_of
from gridmap.errors import GridmapError, ThrottledError
from gridmap.store.background import HELD, add_job, hear_jobs, held_jobs, read_job, update_job

log = logging.getLogger("gridmap.api")

#: this process, as a job's owner names it
OWNER = f"{socket.gethostname()}:{os.getpid()}"
#: seconds between two writes of a running job's progress
PROGRESS_EVERY_S = 1.0
#: seconds between two beats of a process holding jobs, and after which a held job whose
#: process has not been heard from counts as stopped (another machine's, whose pid is not ours
#: to check)
BEAT_EVERY_S = 30.0
SILENT_AFTER_S = 180.0


@dataclass
class Job:
    """One piece of background work and how far it got."""

    id: str
    kind: str
    created_by: str
    created_at: str
    owner: str = OWNER
    status: str = "queued"  # queued, running, done, failed
    stage: str = ""
    done: int = 0
    total: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    finished_at: str | None = None
    heard_at: str | None = None  # its process's last write or beat
    #: called with the job after its progress moved (the keeper's throttled write)
    moved: Callable[[Job], None] | None = field(default=None, repr=False, compare=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        """The callback analysis code reports to: (stage, done, total)."""
        self.stage, self.done, self.total = stage, int(done), int(total)
        if self.moved is not None:
            self.moved(self)

    def record(self) -> dict[str, Any]:
        """The job's columns in ``background_jobs``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "moved"}

    def public(self) -> dict[str, Any]:
        share = (self.done / self.total) if self.total else (1.0 if self.status == "done" else 0.0)
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "stage": self.stage,
            "progress": round(share, 3),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "error": self.error,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _stopped(owner: str) -> bool:
    """Whether the process ``owner`` (host:pid) names is on this machine and no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's: it answers for itself
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it runs
        return False
    return False


def _internal(detail: str) -> dict[str, Any]:
    """A job's error as the service's 500 says it: what the poller may read, no more."""
    return {"status": 500, "title": "internal error", "detail": detail}


def _silent(owner: str, heard_at: str | None) -> str | None:
    """Why a held job's process counts as stopped, or None while it runs."""
    if _stopped(owner):
        return "the service process running the job stopped before it finished"
    if heard_at is not None:
        heard = dt.datetime.fromisoformat(heard_at)
        if (dt.datetime.now(dt.UTC) - heard).total_seconds() > SILENT_AFTER_S:
            return f"the service process running the job has not been heard from since {heard_at}"
    return None


class Jobs:
    """Jobs run one at a time on a worker thread; finished jobs stay listed (the newest
    ``KEEP_FINISHED``). At most ``limit`` jobs wait or run at once (in all the service's
    processes, with a database to keep them in): one more is refused with ThrottledError
    (429) rather than queued without end."""

    KEEP_FINISHED = 200

    def __init__(self, limit: int = 8, engine: Engine | None = None) -> None:
        self.limit = limit
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridmap-job")
        self._jobs: dict[str, Job] = {}
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._written: dict[str, float] = {}  # when each running job's progress was last written
        self._stop = threading.Event()
        if engine is not None:
            threading.Thread(target=self._beat, name="gridmap-job-beat", daemon=True).start()

    def _beat(self) -> None:
        """While this process holds jobs, say so every :data:`BEAT_EVERY_S`."""
        while not self._stop.wait(BEAT_EVERY_S):
            self.hear()

    def hear(self) -> None:
        """Mark this process's held jobs as heard from now."""
        held = [j.id for j in list(self._jobs.values()) if j.status in HELD]
        if held and self.engine is not None:
            try:
                hear_jobs(self.engine, held, _now())
            except Exception:
                log.exception("could not mark background jobs %s as heard from", ", ".join(held))

    def _held(self) -> int:
        if self.engine is None:
            return sum(j.status in HELD for j in self._jobs.values())
        return sum(_silent(owner, heard) is None for _, owner, heard in held_jobs(self.engine))

    def _save(self, job: Job, *names: str, tries: int = 1) -> None:
        """Write the job's ``names`` columns, up to ``tries`` times; a write the database
        refuses is logged rather than raised, so that it never fails the work itself."""
        if self.engine is None:
            return
        job.heard_at = _now()
        for attempt in range(tries):
            try:
                update_job(self.engine, job.id, **{n: getattr(job, n) for n in (*names, "heard_at")})
                return
            except Exception:
                log.exception("could not write background job %s (%s)", job.id, ", ".join(names))
                if attempt + 1 < tries:
                    time.sleep(2.0)

    def _moved(self, job: Job) -> None:
        """Write a running job's progress, at most every :data:`PROGRESS_EVERY_S`."""
        now = time.monotonic()
        if now - self._written.get(job.id, 0.0) >= PROGRESS_EVERY_S:
            self._written[job.id] = now
            self._save(job, "stage", "done", "total")

    def start(self, kind: str, user: str, work: Callable[[Job], dict[str, Any]]) -> Job:
        created = _now()
        job = Job(uuid.uuid4().hex[:12], kind, user, created, heard_at=created, moved=self._moved)
        with self._lock:
            held = self._held()
            if held >= self.limit:
                raise ThrottledError(
                    f"{held} jobs are waiting or running, the most this service holds; retry later",
                    retry_after_s=30,
                )
            if self.engine is not None:
                add_job(self.engine, job.record(), self.KEEP_FINISHED)
            finished = [k for k, j in self._jobs.items() if j.finished_at is not None]
            for old in finished[: max(0, len(finished) - self.KEEP_FINISHED)]:
                self._jobs.pop(old, None)
                self._futures.pop(old, None)
            self._jobs[job.id] = job

        def run() -> None:
            job.status = "running"
            self._save(job, "status")
            try:
                job.result = work(job)
                job.status = "done"
            except GridmapError as exc:
                status, title = status_of(exc)
                job.error = {"status": status, "title": title, "detail": str(exc)}
                job.status = "failed"
            except Exception:  # reported to the poller, not lost in a thread; the trace to the log
                log.exception("background job %s (%s) failed", job.id, job.kind)
                job.error = _internal("the job failed; it was logged")
                job.status = "failed"
            finally:
                job.finished_at = _now()
                self._written.pop(job.id, None)
                self._save(job, "status", "stage", "done", "total", "result", "error", "finished_at", tries=5)

        self._futures[job.id] = self._pool.submit(run)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished (for callers that want the result now)."""
        self._futures[job_id].result(timeout=timeout)
        return self._jobs[job_id]

    def get(self, job_id: str) -> Job | None:
        """The job as it stands, whichever of the service's processes runs it."""
        if self.engine is None:
            return self._jobs.get(job_id)
        record = read_job(self.engine, job_id)
        if record is None:
            return None
        job = Job(**{**record, "result": record["result"] or {}})
        why = _silent(job.owner, job.heard_at) if job.status in HELD else None
        if why is not None:
            job.status, job.finished_at = "failed", _now()
            job.error = _internal(why)
        return job

    def shutdown(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
