"""Putting delivery jobs on the RQ queue, with a database outbox when Redis is unreachable.

All jobs of one dispatch go to Redis in one MULTI/EXEC transaction, one round trip: rq's
``Queue.prepare_data`` for each, then ``Queue.enqueue_many`` into a redis-py transaction
pipeline, executed once. A retry is a new job, saved first and then put in rq's scheduled
registry (see :func:`schedule_job`). If Redis cannot be reached or refuses the jobs, they are
saved in :class:`~webhooks_app.models.OutboxEntry` rows in their own transaction and relayed
later, once each: by the worker (every ``WEBHOOKS_RELAY_INTERVAL`` seconds), or by
``manage.py webhooks_relay``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import F
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.results import Result

from webhooks_app.conf import conf
from webhooks_app.models import OutboxEntry
from webhooks_app.specs import JobSpec, job_spec

__all__ = [
    "CRASH_RETRIES",
    "CRASH_RETRY_INTERVAL",
    "FAILURE_TTL",
    "JOB_FUNC",
    "RESULT_TTL",
    "JobSpec",
    "describe",
    "enqueue_jobs",
    "fail_job",
    "get_queue",
    "job_spec",
    "job_timeout",
    "push_jobs",
    "relay_outbox",
    "schedule_job",
]

logger = logging.getLogger(__name__)

JOB_FUNC = "webhooks_app.worker.job.deliver"
# Finished jobs are kept briefly (the delivery log is the history); failed ones for 30 days.
RESULT_TTL = 600
FAILURE_TTL = 30 * 24 * 3600
# RQ-level retries only cover a job whose worker died or that crashed unexpectedly (HTTP
# failures are retried by the job itself); a job that fails for good clears its retries first.
CRASH_RETRIES = 3
CRASH_RETRY_INTERVAL = 5

_queues: dict[tuple[str, str], Queue] = {}


def get_queue() -> Queue:
    """The webhook queue, kept for the life of the process with its connection pool (django-rq
    builds a new client, hence a new TCP connection and a server-version query, on every call)."""
    name = conf.WEBHOOKS_QUEUE
    key = (name, repr(settings.RQ_QUEUES.get(name)))
    queue = _queues.get(key)
    if queue is None:
        queue = _queues[key] = django_rq.get_queue(name)
    return queue


def job_timeout(count: int) -> int:
    """Enough for every request of the job to time out (connecting, then reading), with room
    to record the results."""
    rounds = 1 + (count - 1) // max(1, conf.WEBHOOKS_CONCURRENCY)
    return int(conf.WEBHOOKS_HTTP_TIMEOUT * 2 * rounds + 30)


def describe(spec: JobSpec) -> str:
    deliveries = spec["deliveries"]
    first = deliveries[0]
    webhooks = len({d["webhook_id"] for d in deliveries})
    who = f"webhook {first['webhook_id']}" if webhooks == 1 else f"{webhooks} webhooks"
    more = len(deliveries) - 1
    text = f"{who}: {first['event_type']} {first['object_type']}:{first['object_id']}"
    return text + (f" (+{more} more)" if more else "")


def job_options(spec: JobSpec) -> dict[str, Any]:
    """The job as keyword arguments of rq's ``Queue.prepare_data`` and ``Queue.create_job``:
    ``deliver(deliveries)`` with the job's id, timeout, TTLs, description and crash retries."""
    return {
        "args": (spec["deliveries"],),
        "job_id": spec["id"],
        "timeout": job_timeout(len(spec["deliveries"])),
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL,
        "description": describe(spec),
        "retry": Retry(max=CRASH_RETRIES, interval=CRASH_RETRY_INTERVAL),
    }


def push_jobs(specs: Sequence[JobSpec]) -> None:
    """Enqueue the jobs in one Redis transaction (one round trip; none for no jobs);
    raises RedisError if Redis is unreachable or refuses them."""
    if not specs:
        return
    queue = get_queue()
    datas = [Queue.prepare_data(JOB_FUNC, **job_options(spec)) for spec in specs]
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(datas, pipeline=pipe)
        pipe.execute()


def schedule_job(spec: JobSpec, delay: float) -> None:
    """Enqueue one job to run after ``delay`` seconds (a worker started with --with-scheduler,
    or rqworker-pool, moves it to the queue when it is due).

    The job is saved before its entry goes into rq's scheduled registry, so a scheduler never
    finds an entry whose job it cannot fetch (it would drop it, and the retry would be lost).
    (rq 2.x's ``Queue.schedule_job`` adds the entry outside the pipeline it is given, before
    the job is saved.)
    """
    queue = get_queue()
    job = queue.create_job(JOB_FUNC, **job_options(spec), status=JobStatus.SCHEDULED)
    job.save()
    queue.scheduled_job_registry.schedule(job, datetime.now(UTC) + timedelta(seconds=delay))


def enqueue_jobs(
    specs: Sequence[JobSpec], unconfirmed: list[Callable[[], None]] | None = None
) -> None:
    """Queue the jobs; if Redis is down, keep them in the outbox instead. Never raises RedisError.

    ``unconfirmed`` is accepted for callers not yet updated, and ignored: Redis's answer is
    always read here, before this returns."""
    try:
        push_jobs(specs)
    except RedisError as exc:
        save_to_outbox(specs, exc)


def save_to_outbox(specs: Sequence[JobSpec], exc: RedisError) -> None:
    logger.warning(
        "Redis did not take %d webhook job(s) (%s); saved to the outbox for relay", len(specs), exc
    )
    with transaction.atomic():
        OutboxEntry.objects.bulk_create([OutboxEntry(job=dict(spec)) for spec in specs])


def relay_outbox(batch_size: int = 500) -> int:
    """Enqueue the jobs waiting in the outbox, once each; returns how many were enqueued.

    Rows are locked (``FOR UPDATE SKIP LOCKED`` where the database has it) and deleted in the
    same transaction that enqueued them, so concurrent relays never enqueue a job twice. A job
    already known to Redis (enqueued before a crash) is not pushed again.
    """
    total = 0
    while True:
        with transaction.atomic():
            entries = list(
                OutboxEntry.objects.select_for_update(skip_locked=True).order_by("id")[:batch_size]
            )
            if not entries:
                return total
            specs: list[JobSpec] = [entry.job for entry in entries]
            queue = get_queue()
            try:
                with queue.connection.pipeline() as pipe:
                    for spec in specs:
                        pipe.exists(Job.key_for(spec["id"]))
                    flags = pipe.execute()
                existing = {spec["id"] for spec, flag in zip(specs, flags, strict=True) if flag}
                push_jobs([spec for spec in specs if spec["id"] not in existing])
            except RedisError as exc:
                logger.warning("Outbox relay: Redis still unavailable (%s)", exc)
                OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
                    last_error=str(exc)[:500], relay_attempts=F("relay_attempts") + 1
                )
                return total
            OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()
            total += len(entries)
            logger.info("Outbox relay: enqueued %d job(s)", len(entries))


def fail_job(spec: JobSpec, message: str) -> None:
    """Put a job for one failed delivery straight into RQ's failed registry, so an operator can
    requeue just that delivery (used when a multi-delivery job has a delivery that failed)."""
    queue = get_queue()
    job = Job.create(
        JOB_FUNC,
        args=(spec["deliveries"],),
        id=spec["id"],
        connection=queue.connection,
        origin=queue.name,
        timeout=job_timeout(1),
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        description=describe(spec),
        status=JobStatus.FAILED,
    )
    with queue.connection.pipeline() as pipe:
        FailedJobRegistry(queue=queue).add(job, ttl=FAILURE_TTL, exc_string=message, pipeline=pipe)
        # The reason, where rq keeps a failed job's error (job.latest_result()).
        Result.create_failure(job, FAILURE_TTL, message, pipeline=pipe)
        pipe.execute()
