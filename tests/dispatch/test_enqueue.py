"""Enqueueing: one Redis transaction per dispatch (rq's ``enqueue_many`` in a pipeline), retries
in rq's scheduled registry, and a database outbox when Redis is down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from redis.connection import Connection
from rest_framework.test import APIClient
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from demo.inventory.models import Site
from tests.conftest import numbered_job, queued_deliveries
from tests.redis_server import get_server
from webhooks_app.dispatch.enqueue import (
    FAILURE_TTL,
    JOB_FUNC,
    RESULT_TTL,
    describe,
    enqueue_jobs,
    get_queue,
    job_timeout,
    push_jobs,
    relay_outbox,
    schedule_job,
)
from webhooks_app.models import Delivery, EventRule, OutboxEntry

pytestmark = pytest.mark.django_db(transaction=True)


class CountingConnection(Connection):
    """A redis-py connection that counts requests sent (one per round trip)."""

    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def round_trips(queue: Queue) -> Iterator[type[CountingConnection]]:
    connection = get_queue().connection
    pool = connection.connection_pool
    original = pool.connection_class
    pool.disconnect()
    pool.connection_class = CountingConnection
    pool.reset()  # forget connections of the old class
    connection.ping()  # connect (and its handshake) before counting
    get_queue().get_redis_server_version()  # asked once per process, then cached
    CountingConnection.sent = 0
    yield CountingConnection
    pool.disconnect()
    pool.connection_class = original
    pool.reset()


@pytest.mark.parametrize("batch_size", [1, 100])
def test_a_transaction_of_1000_updates_reaches_redis_in_one_round_trip(
    queue: Queue,
    site_rule: EventRule,
    settings: Any,
    round_trips: type[CountingConnection],
    batch_size: int,
) -> None:
    settings.WEBHOOKS_BATCH_SIZE = batch_size
    Site.objects.bulk_create([Site(name=f"S{i}", slug=f"s{i}") for i in range(1000)])
    sites = list(Site.objects.all())
    round_trips.sent = 0
    with transaction.atomic():
        for site in sites:
            site.description = "bulk"
            site.save()
    assert round_trips.sent == 1
    deliveries = [d for job in queued_deliveries(queue) for d in job]
    assert len(deliveries) == 1000
    assert len(queued_deliveries(queue)) == 1000 // batch_size


def test_with_redis_down_the_change_succeeds_and_the_job_waits_in_the_outbox(
    queue: Queue, site_rule: EventRule, admin_user: Any, redis_down: None
) -> None:
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post(
        "/api/inventory/sites/", {"name": "Offline", "slug": "offline"}, format="json"
    )
    assert response.status_code == 201
    [entry] = OutboxEntry.objects.all()
    assert entry.job["deliveries"][0]["context"]["data"]["name"] == "Offline"
    assert relay_outbox() == 0  # Redis still down: nothing lost, nothing relayed
    assert OutboxEntry.objects.get().last_error


def test_the_relay_enqueues_outbox_jobs_exactly_once(queue: Queue, site_rule: EventRule) -> None:
    server = get_server()
    server.stop()
    get_queue().connection.connection_pool.disconnect()
    try:
        Site.objects.create(name="Later", slug="later")
        Site.objects.create(name="Later too", slug="later-too")
    finally:
        server.start()
    assert OutboxEntry.objects.count() == 2
    out = StringIO()
    call_command("webhooks_relay", stdout=out)
    assert "Relayed 2 job(s)" in out.getvalue()
    assert relay_outbox() == 0
    assert not OutboxEntry.objects.exists()
    names = [d["context"]["data"]["name"] for job in queued_deliveries(queue) for d in job]
    assert names == ["Later", "Later too"]


def test_a_job_already_in_redis_is_not_pushed_again(queue: Queue, site_rule: EventRule) -> None:
    Site.objects.create(name="Once", slug="once")
    [job] = queue.get_jobs()
    OutboxEntry.objects.create(job={"id": job.id, "deliveries": job.args[0]})
    assert relay_outbox() == 1
    assert queue.count == 1


def test_a_pushed_job_is_the_delivery_job_rq_would_queue(queue: Queue) -> None:
    spec = numbered_job(1)
    push_jobs([spec])
    job = Job.fetch(spec["id"], connection=queue.connection)
    assert (job.func_name, job.args, job.kwargs) == (JOB_FUNC, (spec["deliveries"],), {})
    assert (job.timeout, job.result_ttl) == (job_timeout(1), RESULT_TTL)
    assert job.failure_ttl == FAILURE_TTL
    assert job.description == describe(spec)
    assert (job.retries_left, job.retry_intervals) == (3, [5])
    assert (job.origin, job.get_status()) == (queue.name, JobStatus.QUEUED)
    assert job.enqueued_at is not None
    assert queue.job_ids == [spec["id"]]


def test_a_scheduled_job_is_the_same_job_waiting_in_the_scheduled_registry(queue: Queue) -> None:
    spec = numbered_job(1, attempt=2)
    schedule_job(spec, 3600)
    job = Job.fetch(spec["id"], connection=queue.connection)
    assert (job.func_name, job.args, job.description) == (
        JOB_FUNC,
        (spec["deliveries"],),
        describe(spec),
    )
    assert (job.retries_left, job.retry_intervals) == (3, [5])
    assert job.get_status() == JobStatus.SCHEDULED
    [scheduled_id] = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert scheduled_id == spec["id"]
    due = ScheduledJobRegistry(queue=queue).get_scheduled_time(scheduled_id)
    assert 3590 < (due - datetime.now(UTC)).total_seconds() <= 3600
    assert queue.job_ids == []


def test_jobs_are_queued_before_enqueue_jobs_returns_even_with_an_unconfirmed_list(
    queue: Queue,
) -> None:
    unconfirmed: list[Any] = []
    enqueue_jobs([numbered_job(1)], unconfirmed)
    assert queue.job_ids == [numbered_job(1)["id"]]
    assert unconfirmed == []  # nothing left for the caller to confirm


def test_pushing_no_jobs_takes_no_round_trip(
    queue: Queue, round_trips: type[CountingConnection]
) -> None:
    push_jobs([])
    assert round_trips.sent == 0


def test_jobs_are_serialized_with_the_queues_configured_serializer(
    queue: Queue, settings: Any
) -> None:
    config = settings.RQ_QUEUES["default"]
    settings.RQ_QUEUES = {"default": {**config, "SERIALIZER": "rq.serializers.JSONSerializer"}}
    spec = numbered_job(1)
    push_jobs([spec])
    job = Job.fetch(spec["id"], connection=queue.connection, serializer=JSONSerializer)
    assert job.args == [spec["deliveries"]]


def test_a_synchronous_queue_still_runs_the_job_at_once(queue: Queue, settings: Any) -> None:
    settings.RQ_QUEUES = {"default": {**settings.RQ_QUEUES["default"], "ASYNC": False}}
    spec = numbered_job(1)  # to a webhook that does not exist: fails at its first attempt
    push_jobs([spec])
    assert queue.count == 0
    [delivery] = Delivery.objects.all()
    assert (delivery.attempt_count, delivery.last_error) == (1, "Webhook None no longer exists.")
