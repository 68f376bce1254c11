"""Real worker processes for the tests: ``manage.py rqworker default`` (or ``rqworker-pool``) with
the session's Redis and database (``WEBHOOKS_TEST_DB`` for SQLite, ``DATABASE_URL`` for
PostgreSQL) and ``tests.worker.test_scale_out_settings``, each in its own process group with its
output in a file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from rq import Queue, Worker
from rq.worker import BaseWorker

from .conftest import worker_database_url

__all__ = ["WorkerPool", "WorkerProcess", "wait_until"]

REPO = Path(__file__).resolve().parent.parent
WORKER_SETTINGS = "tests.worker.test_scale_out_settings"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


class WorkerProcess:
    """One ``manage.py rqworker default`` process (or, with ``pool_size``, one
    ``manage.py rqworker-pool default --num-workers <pool_size>``), its output in a log file."""

    def __init__(
        self, number: int, log_dir: Path, *, with_scheduler: bool, pool_size: int | None = None
    ) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS, "PYTHONUNBUFFERED": "1"}
        if url := worker_database_url():
            env["DATABASE_URL"] = url
        if pool_size is None:
            command = [sys.executable, "manage.py", "rqworker", "default"]
            if with_scheduler:
                command.append("--with-scheduler")
        else:  # every worker of a pool runs with a scheduler (one of them holds the lock)
            command = [sys.executable, "manage.py", "rqworker-pool", "default"]
            command += ["--num-workers", str(pool_size)]
        self.number = number
        self.with_scheduler = with_scheduler or pool_size is not None
        self.pool_size = pool_size
        self.log_path = log_dir / f"worker-{number}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        # Its own process group, so that teardown also reaches the scheduler it forks.
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_logs(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries

    def kill(self) -> None:
        """SIGKILL the worker process alone, as the kernel's OOM killer would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        """Ask for a warm shutdown (finish the current job, then exit)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)  # whatever is left of its group
        self.process.wait()
        self._log.close()


def group_of(pid: int) -> int | None:
    """The process group of process ``pid`` (a pool's workers are in the pool's), or None."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


class WorkerPool:
    def __init__(self, queue: Queue, log_dir: Path) -> None:
        self.queue = queue
        self.log_dir = log_dir
        self.processes: list[WorkerProcess] = []

    def start(self, count: int = 1, *, with_scheduler: bool = False) -> list[WorkerProcess]:
        started = []
        for _ in range(count):
            number = len(self.processes) + 1
            worker = WorkerProcess(number, self.log_dir, with_scheduler=with_scheduler)
            self.processes.append(worker)
            started.append(worker)
        wait_until(lambda: self._all_registered(started), 60, "the workers to register")
        return started

    def start_pool(self, size: int) -> WorkerProcess:
        """``manage.py rqworker-pool default --num-workers <size>``, once all its workers are
        registered."""
        pool = WorkerProcess(
            len(self.processes) + 1, self.log_dir, with_scheduler=True, pool_size=size
        )
        self.processes.append(pool)
        wait_until(lambda: self._all_registered([pool]), 60, "the pool's workers to register")
        return pool

    def _all_registered(self, workers: list[WorkerProcess]) -> bool:
        for worker in workers:
            if worker.process.poll() is not None:
                raise AssertionError(f"worker {worker.number} exited:\n{worker.output()[-3000:]}")
        return all(len(self.rq_workers(worker)) == (worker.pool_size or 1) for worker in workers)

    def rq_worker(self, worker: WorkerProcess) -> BaseWorker | None:
        """RQ's record of the worker (name, state, counters), found by process id."""
        for found in Worker.all(queue=self.queue):
            if found.pid == worker.pid:
                return found
        return None

    def rq_workers(self, worker: WorkerProcess) -> list[BaseWorker]:
        """RQ's records of the worker, or of the workers of a pool (its child processes)."""
        if worker.pool_size is None:
            found = self.rq_worker(worker)
            return [] if found is None else [found]
        return [
            found
            for found in Worker.all(queue=self.queue)
            if found.pid is not None
            and found.pid != worker.pid
            and group_of(found.pid) == worker.pid
        ]

    def logs(self) -> str:
        return "\n".join(f"--- worker {w.number}\n{w.output()[-4000:]}" for w in self.processes)

    def stop_all(self) -> None:
        for worker in self.processes:
            worker.terminate()
        for worker in self.processes:
            worker.stop()
