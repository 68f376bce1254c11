"""What every scenario works with: the harness, the load generator, sizes, receivers, helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from rq.suspension import resume, suspend

from demo.benchmark.capacity import measure_capacity
from demo.benchmark.harness import Child, Harness, HarnessError
from demo.benchmark.loadclient import LoadGenerator
from demo.benchmark.loadgen import OBJECT_PREFIX
from demo.benchmark.measure import (
    JobTimes,
    failed_count,
    finished_count,
    job_times,
    queue_length,
    running_count,
    wait_for,
)
from demo.benchmark.sink import Receipt, Sink

__all__ = ["Bench", "Sizes", "receipts_by_object"]

SLOW_DELAY = 0.2


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does; ``quick`` is a smoke run, ``full`` the published one."""

    runs: int
    creates: int  # 1: API creates per rule count and run (after `warmup` more)
    warmup: int
    patch_sites: int  # 2: sites in each bulk update
    patches: int  # 2: bulk updates per rule count and run (after one warm-up)
    bulk_events: int  # 3a: sites created in one transaction
    single_jobs: int  # 3b: single-object events drained by one worker
    noop_jobs: int
    fork_jobs: int
    two_worker_jobs: int  # 3c
    slow_bulk_events: int  # 4a
    slow_seconds: float  # 4b: steady 20/s for this long
    latency_seconds: float  # 5: steady 50/s for this long
    memory_base: int  # 6: deliveries before the first reading...
    memory_total: int  # ...and before the second
    capacity_seconds: float
    grace_seconds: float  # 4, 5: how long after the load a delivery may still arrive

    @classmethod
    def quick(cls) -> Sizes:
        return cls(1, 25, 5, 200, 1, 300, 100, 100, 5, 150, 100, 3, 3, 200, 1000, 0.5, 2)

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            3, 300, 30, 1000, 3, 5000, 2000, 2000, 120, 3000, 1000, 30, 20, 5000, 50000, 3, 10
        )


@dataclass
class Bench:
    harness: Harness
    load: LoadGenerator
    token: str
    sizes: Sizes
    log: Callable[[str], None]
    recommended_workers: int = 1
    _prefixes: int = 0
    _workers: list[Child] = field(default_factory=list)

    @property
    def redis(self) -> Any:
        return self.harness.redis

    @property
    def queue(self) -> str:
        return self.harness.queue

    def prefix(self, what: str) -> str:
        self._prefixes += 1
        return f"{what}{self._prefixes}"

    def fresh(self) -> None:
        """Stop workers, empty Redis, delete the benchmark's sites and delivery log."""
        self.stop_workers()
        self.redis.flushdb()
        self.load.reset()

    def start_workers(self, count: int, **options: Any) -> list[Child]:
        workers = self.harness.start_workers(count, **options)
        self._workers.extend(workers)
        return workers

    def stop_workers(self, workers: Sequence[Child] | None = None) -> None:
        for child in list(self._workers if workers is None else workers):
            child.stop()
            if child in self._workers:
                self._workers.remove(child)

    @contextmanager
    def held_workers(self, count: int, worker_class: str | None = None) -> Iterator[list[Child]]:
        """Workers that start up (with rq suspended) while the block queues jobs, and all begin
        work when it ends. Follow with :meth:`wait_finished`."""
        suspend(self.redis)
        workers = self.start_workers(count, worker_class=worker_class, wait=False)
        yield workers
        self.harness.wait_registered(workers)
        resume(self.redis)

    def start_recommended(self) -> Child:
        """The README's worker set-up: one ``rqworker-pool`` of ``recommended_workers``."""
        pool = self.harness.start_pool(self.recommended_workers)
        self._workers.append(pool)
        return pool

    def recommended_setup(self) -> str:
        return f"`rqworker-pool {self.queue} --num-workers {self.recommended_workers}`"

    def wait_finished(self, jobs: int, timeout: float) -> None:
        """Until ``jobs`` jobs have finished; then stop the workers."""

        def done() -> bool:
            if failed_count(self.redis, self.queue):
                raise HarnessError(f"a job failed; see the worker logs in {self.harness.workdir}")
            return finished_count(self.redis, self.queue) >= jobs

        wait_for(done, timeout, f"{jobs} jobs to finish", watch=self._workers)
        self.stop_workers()

    def wait_idle(self, timeout: float = 60) -> None:
        """Until nothing is queued or running."""
        wait_for(
            lambda: (
                queue_length(self.redis, self.queue) == 0
                and running_count(self.redis, self.queue) == 0
            ),
            timeout,
            "the queue to drain",
            watch=self._workers,
        )

    def jobs(self) -> list[JobTimes]:
        return job_times(self.redis, self.queue)

    @contextmanager
    def receiver(self, *, slow: bool = False, keep: bool = True) -> Iterator[Sink]:
        with Sink(status=204, delay=SLOW_DELAY if slow else 0.0, keep=keep) as receiver:
            yield receiver

    def capacity(self) -> float:
        """Keep-alive POSTs a second from one process to a fast receiver, measured now."""
        with self.receiver(keep=False) as fast:
            return measure_capacity(fast.url, self.sizes.capacity_seconds)

    def wait_received(self, receiver: Sink, count: int, timeout: float) -> None:
        wait_for(
            lambda: receiver.received_count >= count,
            timeout,
            f"{count} deliveries (got {receiver.received_count})",
            watch=self._workers,
            interval=0.01,
        )

    def api(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.headers.update(
            {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        )
        return session

    def sites_url(self) -> str:
        return f"{self.harness.web_url}/api/inventory/sites/"


def receipts_by_object(requests_: Sequence[Receipt]) -> dict[int, float]:
    """The first receipt time of each benchmark site's delivery, by site id."""
    found: dict[int, float] = {}
    for request in requests_:
        try:
            body = json.loads(request.body)
            data = body["data"]
            if not str(data.get("name", "")).startswith(OBJECT_PREFIX):
                continue
            pk = int(data["id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if pk not in found or request.received_at < found[pk]:
            found[pk] = request.received_at
    return found
