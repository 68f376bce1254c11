"""Keeping the heartbeats of a worker's running jobs fresh, so that RQ never takes a job that
is still running for an abandoned one, while the jobs of a worker killed with SIGKILL are
noticed soon (their heartbeats expire :data:`JOB_HEARTBEAT_TTL` seconds after the last one)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from rq.job import Job
from rq.utils import now as utcnow

__all__ = ["JOB_HEARTBEAT_INTERVAL", "JOB_HEARTBEAT_TTL", "JobHeartbeats"]

logger = logging.getLogger(__name__)

# A running job's entry in RQ's started registry lives this long past its last heartbeat...
JOB_HEARTBEAT_TTL = 30
# ...which is renewed this often.
JOB_HEARTBEAT_INTERVAL = 10.0


class JobHeartbeats:
    """Renews the heartbeats of the jobs that ``running()`` returns (each with its RQ
    execution), at most every :data:`JOB_HEARTBEAT_INTERVAL` seconds: on demand with
    :meth:`renew`, and from a thread of its own between :meth:`start` and :meth:`stop`, so
    that a job running in the worker's main thread never lets the others' expire."""

    def __init__(self, connection: Any, running: Callable[[], Sequence[tuple[Job, Any]]]) -> None:
        self._connection = connection
        self._running = running
        self._lock = threading.Lock()
        self._next = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def renew(self, now: float) -> None:
        with self._lock:
            if now < self._next:
                return
            self._next = now + JOB_HEARTBEAT_INTERVAL
        running = self._running()
        if not running:
            return
        with self._connection.pipeline() as pipe:
            for job, execution in running:
                execution.heartbeat(job.started_job_registry, JOB_HEARTBEAT_TTL, pipeline=pipe)
                job.heartbeat(utcnow(), JOB_HEARTBEAT_TTL, pipeline=pipe, xx=True)
            pipe.execute()

    def start(self) -> None:
        if self._thread is not None:
            return

        def beat() -> None:
            while not self._stop.wait(JOB_HEARTBEAT_INTERVAL / 2):
                try:
                    self.renew(time.monotonic())
                except Exception:
                    logger.exception("Renewing job heartbeats failed; will try again")

        self._stop.clear()
        self._thread = threading.Thread(target=beat, name="webhook-heartbeats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
