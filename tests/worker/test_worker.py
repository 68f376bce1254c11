"""The worker process: one job at a time, an object's events in order, warm shutdown, several
workers at once under ``rqworker-pool``."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from django.db import transaction
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import make_rule, make_webhook
from tests.worker_processes import WorkerPool, WorkerProcess, wait_until
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.timeout(120)
def test_one_worker_delivers_an_objects_events_in_the_order_they_happened(
    pool: WorkerPool,
) -> None:
    with Receiver(secret="s3cret", delay=0.3) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"))
        site = Site.objects.create(name="Moving", slug="moving")
        for i in range(3):
            site.description = f"step {i}"
            site.save()
        site.delete()
        pool.start(with_scheduler=True)
        requests = receiver.wait_for(5, timeout=30)
    assert [r.json()["event"] for r in requests] == ["created", *["updated"] * 3, "deleted"]
    assert [r.json()["data"]["description"] for r in requests[1:4]] == [
        "step 0",
        "step 1",
        "step 2",
    ]


@pytest.mark.timeout(120)
def test_a_warm_shutdown_finishes_the_running_delivery_and_takes_no_new_job(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(secret="s3cret", delay=3.0) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        [worker] = pool.start(with_scheduler=True)
        with transaction.atomic():
            first = Site.objects.create(name="First", slug="first")
        receiver.wait_for(1, timeout=30)  # the worker is waiting for the answer

        worker.terminate()
        wait_until(lambda: _shutdown_requested(pool, worker), 10, "the worker to take the request")
        Site.objects.create(name="Second", slug="second")  # queued while it shuts down
        assert worker.process.wait(timeout=30) == 0

        assert receiver.received_count == 1
    delivery = Delivery.objects.get()
    assert (delivery.object_id, delivery.state) == (str(first.pk), DeliveryState.SUCCEEDED)
    assert queue.count == 1  # the second job waits for another worker
    # Nothing of it is left running: no scheduler either.
    wait_until(lambda: _group_gone(worker.pid), 10, "the worker's process group to end")


def _shutdown_requested(pool: WorkerPool, worker: WorkerProcess) -> bool:
    record = pool.rq_worker(worker)
    return record is not None and record.shutdown_requested_date is not None


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.timeout(120)
def test_a_warm_shutdown_during_a_delivery_ends_the_worker_once_it_is_done(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(secret="s3cret", delay=2.0) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        [worker] = pool.start()
        Site.objects.create(name="Only", slug="only")
        receiver.wait_for(1, timeout=30)

        worker.terminate()  # nothing else is queued: the worker must not wait for more
        assert worker.process.wait(timeout=15) == 0
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED


@pytest.mark.timeout(180)
def test_a_pool_of_two_workers_shares_the_queue_and_delivers_each_event_once(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(secret="s3cret", delay=0.05) as receiver:
        receiver.set_responses([503])  # the first delivery is retried (a pool runs a scheduler)
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        workers = pool.start_pool(2)
        names = [f"Pooled {i}" for i in range(40)]
        for name in names:
            Site.objects.create(name=name, slug=name.lower().replace(" ", "-"))  # a job each
        receiver.wait_for(41, timeout=60)
        wait_until(lambda: _settled(queue), 30, "the queue to settle")  # every job has ended
        requests = receiver.requests

    events = Counter(r.header("X-Hook-Event-Id") for r in requests)
    assert len(events) == 40 and sorted(events.values()) == [1] * 39 + [2]
    assert sorted(r.json()["data"]["name"] for r in requests if r.status == 200) == sorted(names)
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}
    records = pool.rq_workers(workers)
    assert len(records) == 2
    assert all(record.successful_job_count > 0 for record in records), [
        record.successful_job_count for record in records
    ]


def _settled(queue: Queue) -> bool:
    return (
        queue.count == 0
        and queue.scheduled_job_registry.get_job_count(cleanup=False) == 0
        and queue.started_job_registry.get_job_count(cleanup=False) == 0
    )


def test_a_worker_forgotten_by_a_restarted_redis_is_listed_again_within_a_heartbeat(
    queue: Queue, pool: WorkerPool
) -> None:
    """Redis restarted without its data (here: FLUSHALL): the running worker writes its record
    and registration again at its next heartbeat, so the background tasks page lists it."""
    [worker] = pool.start()
    wait_until(lambda: pool.rq_worker(worker) is not None, 30, "the worker to register")
    queue.connection.flushall()
    assert pool.rq_worker(worker) is None
    wait_until(lambda: pool.rq_worker(worker) is not None, 30, "the worker to register again")
    record = pool.rq_worker(worker)
    assert record is not None and record.queue_names() == ["default"]
