"""Putting delivery jobs on the RQ queue, with a database outbox when Redis is unreachable.

All jobs of one dispatch go to Redis in one MULTI/EXEC transaction (one round trip, sent by
:mod:`~webhooks_app.dispatch.redis_transaction`; in a request its answer is read once the response is
out, see :mod:`~webhooks_app.capture.middleware`). The jobs' hashes are written by
:mod:`~webhooks_app.dispatch.jobwriter` (what rq's own ``enqueue_many`` would write, without building
``Job`` objects), or by rq for a queue the writer leaves to rq. If Redis cannot be reached or
refuses them, they are saved in
:class:`~webhooks_app.models.OutboxEntry` rows in their own transaction and relayed later, once
each: by the worker within a minute, or by ``manage.py webhooks_relay``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import F
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus

from webhooks_app.conf import conf
from webhooks_app.dispatch.jobwriter import (
    JobKind,
    NewJob,
    enqueue_new_jobs,
    save_new_job,
    writes_jobs,
)
from webhooks_app.dispatch.redis_transaction import SentTransaction, send_transaction
from webhooks_app.models import OutboxEntry
from webhooks_app.specs import JobSpec, job_spec

__all__ = ["JOB_FUNC", "JobSpec", "enqueue_jobs", "job_spec", "relay_outbox"]

logger = logging.getLogger(__name__)

JOB_FUNC = "webhooks_app.worker.job.deliver"
# Finished jobs are kept briefly (the delivery log is the history); failed ones for 30 days.
RESULT_TTL = 600
FAILURE_TTL = 30 * 24 * 3600
# RQ-level retries only cover a job whose worker died or that crashed unexpectedly (HTTP
# failures are retried by the job itself); a job that fails for good clears its retries first.
CRASH_RETRIES = 3
CRASH_RETRY_INTERVAL = 5
DELIVERY_JOBS = JobKind(
    JOB_FUNC,
    result_ttl=RESULT_TTL,
    failure_ttl=FAILURE_TTL,
    retries=CRASH_RETRIES,
    retry_intervals=(CRASH_RETRY_INTERVAL,),
)


def crash_retry() -> Retry:
    return Retry(max=CRASH_RETRIES, interval=CRASH_RETRY_INTERVAL)


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
    """Enough for every request of the job to time out, with room to record the results."""
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


def _new_job(spec: JobSpec) -> NewJob:
    deliveries = spec["deliveries"]
    return NewJob(spec["id"], (deliveries,), describe(spec), job_timeout(len(deliveries)))


def _rq_options(spec: JobSpec) -> dict[str, Any]:
    """The job as arguments of rq's ``Queue.prepare_data`` and ``Queue.create_job`` (for
    queues the job writer leaves to rq)."""
    return {
        "args": (spec["deliveries"],),
        "job_id": spec["id"],
        "timeout": job_timeout(len(spec["deliveries"])),
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL,
        "description": describe(spec),
        "retry": crash_retry(),
    }


def push_jobs(specs: Sequence[JobSpec]) -> None:
    """Enqueue the jobs in one Redis transaction (one round trip; none for no jobs);
    raises RedisError if Redis is unreachable or refuses them."""
    sent = send_jobs(specs)
    if sent is not None:
        sent.confirm()


def send_jobs(specs: Sequence[JobSpec]) -> SentTransaction | None:
    """Send the jobs without waiting for Redis's answer, which ``confirm()`` of the result
    reads. None if nothing is left to confirm: no jobs, or a queue whose jobs rq writes
    (pushed and answered at once). Raises RedisError if Redis is unreachable."""
    if not specs:
        return None
    queue = get_queue()
    with queue.connection.pipeline() as pipe:
        if writes_jobs(queue):
            enqueue_new_jobs(pipe, queue, DELIVERY_JOBS, [_new_job(spec) for spec in specs])
            return send_transaction(pipe)
        datas = [Queue.prepare_data(JOB_FUNC, **_rq_options(spec)) for spec in specs]
        queue.enqueue_many(datas, pipeline=pipe)
        pipe.execute()
    return None


def schedule_job(spec: JobSpec, delay: float) -> None:
    """Enqueue one job to run after ``delay`` seconds (needs a worker started with --with-scheduler).

    The job and its entry in the scheduled registry are written in one transaction. (RQ's own
    ``enqueue_in`` adds the entry outside its pipeline, before the job is saved: a scheduler
    looking in between drops the entry of a job it cannot find yet, and the retry is lost.)
    """
    queue = get_queue()
    due = int(time.time() + delay)
    with queue.connection.pipeline() as pipe:
        pipe.sadd(Queue.redis_queues_keys, queue.key)
        if writes_jobs(queue):
            save_new_job(pipe, queue, DELIVERY_JOBS, _new_job(spec), JobStatus.SCHEDULED)
        else:
            job = queue.create_job(JOB_FUNC, **_rq_options(spec), status=JobStatus.SCHEDULED)
            job.save(pipeline=pipe)
        pipe.zadd(queue.scheduled_job_registry.key, {spec["id"]: due})
        pipe.execute()


def enqueue_jobs(
    specs: Sequence[JobSpec], unconfirmed: list[Callable[[], None]] | None = None
) -> None:
    """Queue the jobs; if Redis is down, keep them in the outbox instead. Never raises RedisError.

    With an ``unconfirmed`` list, the jobs are sent without waiting for Redis's answer, and a
    callable that reads it is appended to the list (if Redis refused the jobs, it saves them to
    the outbox after all): the caller must call it."""
    try:
        if unconfirmed is None:
            push_jobs(specs)
            return
        sent = send_jobs(specs)
    except RedisError as exc:
        _save_to_outbox(specs, exc)
        return
    if sent is not None:
        unconfirmed.append(partial(_confirm, sent, specs))


def _confirm(sent: SentTransaction, specs: Sequence[JobSpec]) -> None:
    try:
        sent.confirm()
    except RedisError as exc:
        _save_to_outbox(specs, exc)


def _save_to_outbox(specs: Sequence[JobSpec], exc: RedisError) -> None:
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
    from rq.registry import FailedJobRegistry

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
    registry = FailedJobRegistry(queue=queue)
    with queue.connection.pipeline() as pipe:
        job.save(pipeline=pipe)
        registry.add(job, ttl=FAILURE_TTL, exc_string=message, pipeline=pipe)
        pipe.execute()
