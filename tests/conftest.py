"""Shared fixtures: the test Redis queue, a real receiver on loopback, webhooks and rules,
and an in-process RQ worker that drains the queue (scheduled retries included)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import django_rq
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.scheduler import RQScheduler

from webhooks_app.dispatch.enqueue import JobSpec, get_queue, job_spec
from webhooks_app.models import EventRule, Webhook
from webhooks_app.receiver import Receiver
from webhooks_app.worker import WebhookWorker

from .redis_server import get_server

if TYPE_CHECKING:
    from .worker_processes import WorkerPool


@pytest.fixture
def queue() -> Iterator[Queue]:
    """The webhook queue, emptied (with its registries) before and after the test."""
    q = django_rq.get_queue("default")
    q.connection.flushdb()
    yield q
    q.connection.flushdb()
    q.connection.connection_pool.disconnect()  # django-rq made this client for the test alone


@pytest.fixture
def redis_down() -> Iterator[None]:
    """The session's Redis stopped for the test, started again (same port) afterwards."""
    server = get_server()
    server.stop()
    get_queue().connection.connection_pool.disconnect()
    try:
        yield
    finally:
        server.start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(secret="s3cret") as r:
        yield r


def make_webhook(url: str, **fields: Any) -> Webhook:
    fields.setdefault("name", f"hook-{Webhook.objects.count() + 1}")
    webhook = Webhook(payload_url=url, **fields)
    webhook.full_clean()
    webhook.save()
    return webhook


def make_rule(
    webhook: Webhook,
    models: tuple[str, ...] = ("inventory.site",),
    events: tuple[str, ...] = ("object_created", "object_updated", "object_deleted"),
    **fields: Any,
) -> EventRule:
    fields.setdefault("name", f"rule-{EventRule.objects.count() + 1}")
    rule = EventRule.objects.create(webhook=webhook, event_types=list(events), **fields)
    for label in models:
        app_label, model = label.split(".")
        rule.object_types.add(ContentType.objects.get_by_natural_key(app_label, model))
    return rule


@pytest.fixture
def webhook(receiver: Receiver) -> Webhook:
    return make_webhook(receiver.url, name="Receiver", secret="s3cret")


@pytest.fixture
def site_rule(webhook: Webhook) -> EventRule:
    return make_rule(webhook, name="Sites")


def queued_deliveries(q: Queue) -> list[list[dict[str, Any]]]:
    """The deliveries of each queued job, in queue order."""
    return [job.args[0] for job in q.get_jobs()]


# A safety net only: drain() returns as soon as its work is done, or fails as soon as nothing is
# left that could make ``until()`` hold.
DRAIN_SAFETY_TIMEOUT = 120.0


def drain(
    q: Queue, until: Callable[[], bool] | None = None, timeout: float = DRAIN_SAFETY_TIMEOUT
) -> None:
    """Run a real RQ worker in this process until the queue is empty and nothing is scheduled
    (or ``until()`` holds). Each pass runs every queued job to its end; then, if a job is
    scheduled (a retry), it waits for the earliest one's due time and moves the due jobs to the
    queue as rq's scheduler does. Fails if ``until()`` does not hold once nothing is queued or
    scheduled, or if the next due time is past ``timeout`` seconds from the start."""
    deadline = time.time() + timeout
    worker = WebhookWorker([q], connection=q.connection)
    scheduler = RQScheduler([q], connection=q.connection)
    scheduler.prepare_registries([q.name])  # no lock: this process is the only scheduler it needs
    scheduled = q.scheduled_job_registry
    while True:
        worker.work(burst=True)
        if until is not None and until():
            return
        due = next_due_time(scheduled)
        if due is None:
            if q.count:
                continue  # queued by someone else meanwhile
            if until is None:
                return
            raise AssertionError("nothing is queued or scheduled, and the condition does not hold")
        if due > deadline:
            raise AssertionError(
                f"the next scheduled job is due in {due - time.time():.1f}s, past the drain's "
                f"{timeout:g}s (queued={q.count}, scheduled={scheduled.count})"
            )
        time.sleep(max(0.0, due - time.time()))
        scheduler.enqueue_scheduled_jobs()


def next_due_time(scheduled: ScheduledJobRegistry) -> float | None:
    """When the earliest scheduled job is due (seconds since the epoch), or None."""
    first = scheduled.get_job_ids(0, 0)
    if not first:
        return None
    return scheduled.get_scheduled_time(first[0]).timestamp()


def failed_jobs(q: Queue) -> list[str]:
    return FailedJobRegistry(queue=q).get_job_ids()


def worker_database_url() -> str | None:
    """The test database as a DATABASE_URL for PostgreSQL (None for SQLite: the workers find
    the session's file through WEBHOOKS_TEST_DB)."""
    if connection.vendor != "postgresql":
        return None
    s = connection.settings_dict
    user, password = quote(s["USER"], safe=""), quote(s["PASSWORD"], safe="")
    return f"postgres://{user}:{password}@{s['HOST']}:{s['PORT']}/{quote(s['NAME'], safe='')}"


@pytest.fixture
def pool(queue: Queue, tmp_path: Path) -> Iterator[WorkerPool]:
    """Real worker processes on the test queue, all stopped (with their groups) afterwards."""
    from .worker_processes import WorkerPool

    workers = WorkerPool(queue, tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()


def numbered_job(n: int, attempt: int = 1) -> JobSpec:
    """A one-delivery job with ids made from ``n`` (for tests of queueing, not of delivery)."""
    return job_spec(
        [
            {
                "delivery_id": f"00000000-0000-0000-0000-{n:012d}",
                "event_id": f"10000000-0000-0000-0000-{n:012d}",
                "webhook_id": None,
                "event_type": "object_created",
                "object_type": "inventory.site",
                "object_id": str(n),
                "attempt": attempt,
                "context": {},
            }
        ]
    )
