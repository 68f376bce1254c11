"""Scale-out: real worker processes (``manage.py rqworker default``) share one queue and one
database, and deliver 3,000 events to a loopback receiver exactly once, or at least once with
the same event id when the receiver fails transiently.

The workers run with ``tests.worker.test_scale_out_settings`` and the session's Redis and database
(``WEBHOOKS_TEST_DB`` for SQLite, ``DATABASE_URL`` for PostgreSQL), like the production ones:
only the first is started with ``--with-scheduler``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.db import transaction
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import make_rule, make_webhook
from tests.worker_processes import WorkerPool, wait_until
from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.models import Delivery, DeliveryAttempt
from webhooks_app.receiver import ReceivedRequest, Receiver

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 3000


def create_sites(count: int) -> set[int]:
    """``count`` sites in one transaction: their events are dispatched when it commits."""
    with transaction.atomic():
        return {Site.objects.create(name=f"Site {i}", slug=f"site-{i}").pk for i in range(count)}


def settled(queue: Queue) -> bool:
    """Nothing queued, scheduled or running. (Counted without RQ's registry cleanup, which
    must stay the workers' job: the tests measure how soon they do it.)"""
    return (
        queue.count == 0
        and queue.scheduled_job_registry.get_job_count(cleanup=False) == 0
        and queue.started_job_registry.get_job_count(cleanup=False) == 0
    )


def wait_for_deliveries(pool: WorkerPool, count: int, timeout: float) -> None:
    def done() -> bool:
        finished = Delivery.objects.filter(state=DeliveryState.SUCCEEDED).count()
        return finished == count and settled(pool.queue)

    try:
        wait_until(done, timeout, f"{count} successful deliveries")
    except AssertionError as exc:
        states = Counter(Delivery.objects.values_list("state", flat=True))
        raise AssertionError(
            f"{exc}; deliveries by state: {dict(states)}\n{unsettled_jobs(pool.queue)}\n"
            f"{pool.logs()}"
        ) from None
    time.sleep(1.0)  # a duplicate would arrive now


def unsettled_jobs(queue: Queue) -> str:
    """Where the next job of each unfinished delivery is in RQ (for a failure message)."""
    lines = []
    for delivery in Delivery.objects.exclude(state=DeliveryState.SUCCEEDED):
        job_id = f"webhook-{delivery.pk}-{delivery.attempt_count + 1}"
        fields = queue.connection.hgetall(f"rq:job:{job_id}")
        fields.pop(b"data", None)
        where = {k.decode(): v.decode(errors="replace")[:200] for k, v in fields.items()}
        lines.append(f"{delivery.pk} {delivery.state} attempts={delivery.attempt_count}: {where}")
    failed = queue.failed_job_registry.get_job_ids()
    redis = queue.connection
    scheduled = redis.zrange(queue.scheduled_job_registry.key, 0, 4, withscores=True)
    lock = redis.get("rq:scheduler-lock:default")
    schedulers = [redis.hgetall(key) for key in redis.keys("rq:scheduler:*")]
    return "\n".join(
        [
            *lines,
            f"failed registry: {failed[:20]}",
            f"scheduled registry (now {time.time():.0f}): {scheduled}",
            f"scheduler lock: {lock!r}; schedulers: {schedulers}",
        ]
    )


def by_event(requests: list[ReceivedRequest]) -> dict[str, list[ReceivedRequest]]:
    grouped: dict[str, list[ReceivedRequest]] = defaultdict(list)
    for request in requests:
        grouped[request.header("X-Hook-Event-Id") or ""].append(request)
    return grouped


@pytest.mark.timeout(300)
def test_three_workers_deliver_3000_events_exactly_once(
    queue: Queue, pool: WorkerPool, tmp_path: Path
) -> None:
    with Receiver(secret="s3cret") as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        workers = [*pool.start(with_scheduler=True), *pool.start(2)]

        site_ids = create_sites(EVENTS)
        wait_for_deliveries(pool, EVENTS, timeout=240)
        requests = receiver.requests

    assert len(requests) == EVENTS
    events = by_event(requests)
    assert set(events) == {str(e) for e in Delivery.objects.values_list("event_id", flat=True)}
    assert all(len(received) == 1 for received in events.values())
    assert {r.json()["data"]["id"] for r in requests} == site_ids
    assert all(r.signature_valid and r.status == 200 for r in requests)
    logged = attempts_by_event()
    for event_id, received in events.items():
        check_event_against_log(received, logged[event_id])
    # The queue was shared: every worker delivered some of the jobs.
    records = [pool.rq_worker(worker) for worker in workers]
    jobs_done = [record.successful_job_count for record in records if record is not None]
    assert len(jobs_done) == 3 and all(done > 0 for done in jobs_done), jobs_done


@pytest.mark.timeout(300)
def test_three_workers_deliver_every_event_at_least_once_when_the_receiver_fails_transiently(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(secret="s3cret", fail_rate=0.3, seed=8) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        pool.start(with_scheduler=True)
        pool.start(2)

        site_ids = create_sites(EVENTS)
        wait_for_deliveries(pool, EVENTS, timeout=240)
        requests = receiver.requests

    events = by_event(requests)
    assert len(events) == EVENTS
    assert {r.json()["data"]["id"] for r in requests} == site_ids
    failures = sum(r.status == 503 for r in requests)
    assert 0.2 < failures / len(requests) < 0.4
    logged = attempts_by_event()
    for event_id, received in events.items():
        check_event_against_log(received, logged[event_id])


def attempts_by_event() -> dict[str, list[DeliveryAttempt]]:
    logged: dict[str, list[DeliveryAttempt]] = defaultdict(list)
    for attempt in DeliveryAttempt.objects.select_related("delivery").order_by("number"):
        logged[str(attempt.delivery.event_id)].append(attempt)
    return logged


def check_event_against_log(received: list[ReceivedRequest], logged: list[DeliveryAttempt]) -> None:
    """One event's requests as the receiver saw them, against its attempts in the delivery log.

    An attempt whose connection failed (the receiver's listen backlog overflowing under load
    resets connections) never reached the receiver: the log has it, the receiver does not."""
    # Every attempt resent the very same body; the receiver answered 503s, then one 200, last.
    assert len({r.body for r in received}) == 1
    assert [r.status for r in received] == [503] * (len(received) - 1) + [200]
    numbers = [int(r.header("X-Hook-Attempt") or 0) for r in received]
    assert numbers == sorted(set(numbers))
    # The log has every attempt, numbered from 1, and agrees with the receiver on each one it
    # saw; an attempt the receiver never saw can only be a connection that failed.
    assert [a.number for a in logged] == list(range(1, len(logged) + 1))
    assert numbers[-1] == len(logged)
    statuses = dict(zip(numbers, (r.status for r in received), strict=True))
    for attempt in logged:
        if attempt.number in statuses:
            assert attempt.response_status == statuses[attempt.number]
            expected = (
                AttemptOutcome.SUCCEEDED
                if attempt.response_status == 200
                else AttemptOutcome.RETRYABLE
            )
            assert attempt.outcome == expected
        else:
            assert (attempt.outcome, attempt.response_status) == (AttemptOutcome.RETRYABLE, None)
            assert attempt.error.startswith("Connection failed"), attempt.error
