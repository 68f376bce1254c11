"""New RQ jobs written to Redis directly: the hash rq's ``Job.save`` writes, without ``Job`` objects.

rq's ``Queue.enqueue_many`` builds a ``Job`` per call (id, callbacks, dependencies, meta), turns
about twenty of its attributes into a mapping and sends that after a separate HSET of the
status; on a web request this costs more than the round trip to Redis. Here a new job is its
id, its arguments, a description and a timeout, and what every job of a :class:`JobKind`
shares is encoded once. Callers add the commands to their own pipeline and execute it, so the
jobs of one call still reach Redis in one transaction (MULTI/EXEC), as with rq's own.

The hash holds what rq writes for the same job, ``data`` as the same serialized bytes (the
queue's serializer, then ``zlib.compress`` as rq does, except for short data, stored as is),
less the fields rq writes as empty strings (callback names,
``started_at``, ``ended_at``, ``last_heartbeat``, ``worker_name``, ``group_id``):
``Job.restore`` reads an empty field and a missing one alike, and rq writes them all the next
time it saves the whole job (when it ends, is retried or is requeued). ``tests/test_jobwriter.py``
compares ``Job.fetch`` of both.

Only for queues that run jobs in workers and use rq's own ``Job`` class (:func:`writes_jobs`):
a synchronous queue runs a job while enqueueing it, and a job class of one's own may save
fields of its own; those are left to rq.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redis.client import Pipeline
from rq import Queue
from rq.job import Job, JobStatus, validate_job_id
from rq.utils import now, utcformat

__all__ = [
    "COMPRESS_FROM",
    "JobKind",
    "NewJob",
    "enqueue_new_jobs",
    "save_new_job",
    "writes_jobs",
]

_Fields = dict[str | bytes, bytes | str]  # a job hash, as HSET's mapping

# Job data shorter than this is stored as is: compressing a few hundred bytes saves little
# and costs about 60 us (zlib sets up some 256 KB of state per call). rq reads both: it
# takes data that does not decompress as uncompressed.
COMPRESS_FROM = 4096


@dataclass(frozen=True)
class JobKind:
    """What the jobs of one kind share: rq's ``func`` (a dotted path), TTLs and crash retries
    (``Retry(max=retries, interval=retry_intervals)``; no retries when ``retries`` is None)."""

    func_name: str
    result_ttl: int
    failure_ttl: int
    retries: int | None = None
    retry_intervals: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class NewJob:
    """One job to write: rq's ``job_id``, positional ``args``, ``description`` and ``timeout``."""

    id: str
    args: tuple[Any, ...]
    description: str
    timeout: int


def writes_jobs(queue: Queue) -> bool:
    """Whether jobs for ``queue`` can be written here rather than by rq."""
    return queue.is_async and queue.job_class is Job


@lru_cache(maxsize=64)
def _shared_fields(kind: JobKind, origin: str, status: str, timeout: int) -> _Fields:
    """The fields that do not change from job to job, encoded as redis-py would (not to be
    changed: the same dict is returned for the same arguments)."""
    fields: dict[str, str | int] = {
        "origin": origin,
        "status": status,
        "timeout": timeout,
        "result_ttl": kind.result_ttl,
        "failure_ttl": kind.failure_ttl,
    }
    if kind.retries is not None:
        fields["retries_left"] = kind.retries
        fields["retry_intervals"] = json.dumps(list(kind.retry_intervals))
    return {name.encode(): f"{value}".encode() for name, value in fields.items()}


def _job_hash(
    queue: Queue, kind: JobKind, job: NewJob, status: JobStatus, stamp: str, enqueued: bool
) -> _Fields:
    """``Job.to_dict`` of the same job, less the fields it leaves empty. ``data`` is rq's job
    tuple, serialized with the queue's serializer and, from :data:`COMPRESS_FROM` bytes on,
    compressed as ``Job.to_dict`` does."""
    validate_job_id(job.id)
    data = queue.serializer.dumps((kind.func_name, None, job.args, {}))
    fields: _Fields = {
        **_shared_fields(kind, queue.name, status.value, job.timeout),
        b"data": zlib.compress(data) if len(data) >= COMPRESS_FROM else data,
        b"description": job.description,
        b"created_at": stamp,
    }
    if enqueued:
        fields[b"enqueued_at"] = stamp
    return fields


def enqueue_new_jobs(
    pipe: Pipeline[Any], queue: Queue, kind: JobKind, jobs: Sequence[NewJob]
) -> None:
    """Add to ``pipe`` what ``queue.enqueue_many`` sends for these jobs: the queue in rq's set
    of queues, each job's hash (status queued) and the ids at the end of the queue, in order."""
    if not jobs:
        return
    stamp = utcformat(now())
    pipe.sadd(Queue.redis_queues_keys, queue.key)
    for job in jobs:
        fields = _job_hash(queue, kind, job, JobStatus.QUEUED, stamp, enqueued=True)
        pipe.hset(Job.key_for(job.id), mapping=fields)
    pipe.rpush(queue.key, *[job.id for job in jobs])


def save_new_job(
    pipe: Pipeline[Any], queue: Queue, kind: JobKind, job: NewJob, status: JobStatus
) -> None:
    """Add to ``pipe`` the hash ``job.save()`` writes for a job created by ``queue.create_job``
    with ``status`` (not enqueued: no ``enqueued_at``, not pushed on the queue)."""
    fields = _job_hash(queue, kind, job, status, utcformat(now()), enqueued=False)
    pipe.hset(Job.key_for(job.id), mapping=fields)
