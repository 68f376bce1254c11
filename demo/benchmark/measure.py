"""Turning raw observations into figures: job timings and counters from Redis, rates,
percentiles, waits. Jobs, queues and registries are read through rq's public API."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from demo.benchmark.harness import Child, HarnessError

__all__ = [
    "JobTimes",
    "RedisCounters",
    "drain_rate",
    "failed_count",
    "finished_count",
    "job_times",
    "percentile",
    "queue_length",
    "running_count",
    "wait_for",
]


@dataclass(frozen=True)
class JobTimes:
    """When a finished job was enqueued, started and ended (epoch seconds), and by whom."""

    enqueued: float
    started: float
    ended: float
    worker: str


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def job_times(connection: redis.Redis[bytes], queue: str) -> list[JobTimes]:
    """The timings of every finished job of ``queue`` (its finished registry), oldest first."""
    registry = FinishedJobRegistry(queue=Queue(queue, connection=connection))
    ids = registry.get_job_ids(cleanup=False)
    result = []
    for job in Job.fetch_many(ids, connection=connection):
        if job is None:
            continue
        times = (_epoch(job.enqueued_at), _epoch(job.started_at), _epoch(job.ended_at))
        if None in times:
            continue
        result.append(JobTimes(*times, job.worker_name or ""))  # type: ignore[arg-type]
    return sorted(result, key=lambda job: job.started)


def queue_length(connection: redis.Redis[bytes], queue: str) -> int:
    """Jobs waiting in ``queue``."""
    return Queue(queue, connection=connection).count


def running_count(connection: redis.Redis[bytes], queue: str) -> int:
    """Jobs of ``queue`` a worker is running (its started registry)."""
    registry = StartedJobRegistry(queue=Queue(queue, connection=connection))
    return registry.get_job_count(cleanup=False)


def finished_count(connection: redis.Redis[bytes], queue: str) -> int:
    registry = FinishedJobRegistry(queue=Queue(queue, connection=connection))
    return registry.get_job_count(cleanup=False)


def failed_count(connection: redis.Redis[bytes], queue: str) -> int:
    registry = FailedJobRegistry(queue=Queue(queue, connection=connection))
    return registry.get_job_count(cleanup=False)


@dataclass(frozen=True)
class RedisCounters:
    """Redis's own counters (``INFO stats``), read from the server: what every client did.

    ``reads`` (read events, ``total_reads_processed``) is how often a client's request reached
    the server: one per round trip, since a client that waits for an answer before sending
    again is read again; a pipeline sent at once is one read (a request over 16 KB, Redis's
    read buffer, is read in several).
    """

    reads: int
    commands: int
    connections: int

    @classmethod
    def read(cls, connection: redis.Redis[bytes]) -> RedisCounters:
        info: Mapping[str, Any] = connection.info("stats")
        return cls(
            int(info["total_reads_processed"]),
            int(info["total_commands_processed"]),
            int(info["total_connections_received"]),
        )

    def since(self, before: RedisCounters) -> RedisCounters:
        """What happened between ``before`` and this reading, less the two INFO commands that
        took them (the later one's read, the earlier one's command: each counts itself
        after answering)."""
        return RedisCounters(
            self.reads - before.reads - 1,
            self.commands - before.commands - 1,
            self.connections - before.connections,
        )


def drain_rate(jobs: Sequence[JobTimes]) -> float:
    """Jobs a second while every worker was busy: jobs ended in the window from the latest
    first start to the earliest last end over the workers (the whole run for one worker),
    so that worker start-up and the tail of the run do not count."""
    by_worker: dict[str, list[JobTimes]] = {}
    for job in jobs:
        by_worker.setdefault(job.worker, []).append(job)
    if not by_worker:
        return 0.0
    begin = max(min(j.started for j in group) for group in by_worker.values())
    end = min(max(j.ended for j in group) for group in by_worker.values())
    if end <= begin:
        return 0.0
    done = sum(1 for job in jobs if begin < job.ended <= end)
    return done / (end - begin)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100, nearest rank); inf for no values."""
    if not values:
        return math.inf
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def wait_for(
    done: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    watch: Sequence[Child] = (),
    interval: float = 0.02,
) -> float:
    """Poll ``done`` until it holds; raises HarnessError after ``timeout`` or if a watched
    process exits. Returns the time it held (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        if done():
            return time.time()
        for child in watch:
            if not child.running() and child.process.returncode not in (0, None):
                raise HarnessError(
                    f"{child.name} exited while waiting for {what}:\n{child.log_tail()}"
                )
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)
