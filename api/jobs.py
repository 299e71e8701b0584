"""Long work (coverage runs, siting scenarios) in the background, with progress to poll."""

from __future__ import annotations

import datetime as dt
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from api.errors import status_of
from gridmap.errors import GridmapError, ThrottledError


@dataclass
class Job:
    """One piece of background work and how far it got."""

    id: str
    kind: str
    created_by: str
    created_at: str
    status: str = "queued"  # queued, running, done, failed
    stage: str = ""
    done: int = 0
    total: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    finished_at: str | None = None

    def progress(self, stage: str, done: int, total: int) -> None:
        """The callback analysis code reports to: (stage, done, total)."""
        self.stage, self.done, self.total = stage, int(done), int(total)

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


class Jobs:
    """Jobs run one at a time on a worker thread; finished jobs stay listed (the newest
    ``KEEP_FINISHED``). At most ``limit`` jobs wait or run at once: one more is refused with
    ThrottledError (429) rather than queued without end."""

    KEEP_FINISHED = 200

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridmap-job")
        self._jobs: dict[str, Job] = {}
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, user: str, work: Callable[[Job], dict[str, Any]]) -> Job:
        job = Job(uuid.uuid4().hex[:12], kind, user, _now())
        with self._lock:
            held = sum(j.status in ("queued", "running") for j in self._jobs.values())
            if held >= self.limit:
                raise ThrottledError(
                    f"{held} jobs are waiting or running, the most this service holds; retry later",
                    retry_after_s=30,
                )
            finished = [k for k, j in self._jobs.items() if j.finished_at is not None]
            for old in finished[: max(0, len(finished) - self.KEEP_FINISHED)]:
                self._jobs.pop(old, None)
                self._futures.pop(old, None)
            self._jobs[job.id] = job

        def run() -> None:
            job.status = "running"
            try:
                job.result = work(job)
                job.status = "done"
            except GridmapError as exc:
                status, title = status_of(exc)
                job.error = {"status": status, "title": title, "detail": str(exc)}
                job.status = "failed"
            except Exception as exc:  # reported to the poller, not lost in a thread
                job.error = {"status": 500, "title": "internal error", "detail": repr(exc)}
                job.error["trace"] = traceback.format_exc(limit=5)
                job.status = "failed"
            finally:
                job.finished_at = _now()

        self._futures[job.id] = self._pool.submit(run)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished (for callers that want the result now)."""
        self._futures[job_id].result(timeout=timeout)
        return self._jobs[job_id]

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        return list(self._jobs.values())

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
