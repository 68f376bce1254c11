"""Turning raw observations into figures: job timings from Redis, rates, percentiles, waits."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from demo.benchmark.harness import Child, HarnessError

__all__ = [
    "JobTimes",
    "drain_rate",
    "job_times",
    "percentile",
    "queue_length",
    "wait_for",
]

_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class JobTimes:
    """When a finished job was enqueued, started and ended (epoch seconds), and by whom."""

    enqueued: float
    started: float
    ended: float
    worker: str


def _epoch(value: bytes | None) -> float | None:
    if not value:
        return None
    text = value.decode()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def job_times(connection: redis.Redis[bytes], queue: str) -> list[JobTimes]:
    """The timings of every finished job of ``queue`` (its finished registry), oldest first."""
    ids = connection.zrange(f"rq:finished:{queue}", 0, -1)
    fields = ("enqueued_at", "started_at", "ended_at", "worker_name")
    with connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(f"rq:job:{job_id.decode()}", fields)
        rows = pipe.execute()
    result = []
    for enqueued, started, ended, worker in rows:
        times = (_epoch(enqueued), _epoch(started), _epoch(ended))
        if None in times:
            continue
        result.append(JobTimes(*times, (worker or b"").decode()))  # type: ignore[arg-type]
    return sorted(result, key=lambda job: job.started)


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


def queue_length(connection: redis.Redis[bytes], queue: str) -> int:
    return int(connection.llen(f"rq:queue:{queue}"))


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
