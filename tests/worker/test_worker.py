"""The worker process: jobs at once in threads, an object's events in order, warm shutdown."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import transaction
from rq import Queue
from rq.timeouts import TimerDeathPenalty, UnixSignalDeathPenalty

from demo.inventory.models import Site
from tests.conftest import make_rule, make_webhook
from tests.worker_processes import WorkerPool, wait_until
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver
from webhooks_app.worker import WebhookWorker

pytestmark = pytest.mark.django_db(transaction=True)

DELAY = 1.5  # every answer of the receiver takes this long


@pytest.mark.timeout(120)
def test_one_worker_sends_the_jobs_of_separate_transactions_at_once(pool: WorkerPool) -> None:
    with Receiver(secret="s3cret", delay=DELAY) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        pool.start(with_scheduler=True)
        for i in range(4):
            Site.objects.create(name=f"Site {i}", slug=f"site-{i}")  # four commits, four jobs
        requests = receiver.wait_for(4, timeout=30)
    # All four were in flight together: the last arrived before the first was answered.
    arrivals = sorted(r.received_at for r in requests)
    assert arrivals[-1] - arrivals[0] < DELAY


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
        time.sleep(0.5)
        Site.objects.create(name="Second", slug="second")  # queued while it shuts down
        assert worker.process.wait(timeout=30) == 0

        assert receiver.received_count == 1
    delivery = Delivery.objects.get()
    assert (delivery.object_id, delivery.state) == (str(first.pk), DeliveryState.SUCCEEDED)
    assert queue.count == 1  # the second job waits for another worker
    # Nothing of it is left running: no scheduler either.
    wait_until(lambda: _group_gone(worker.pid), 10, "the worker's process group to end")


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


@pytest.mark.timeout(120)
def test_jobs_to_a_fast_receiver_are_not_held_up_by_jobs_to_a_slow_one(pool: WorkerPool) -> None:
    with (
        Receiver(secret="s3cret") as fast,
        Receiver(secret="s3cret", delay=DELAY) as slow,
    ):
        make_rule(make_webhook(fast.url, secret="s3cret"), events=("object_updated",))
        make_rule(make_webhook(slow.url, secret="s3cret"), events=("object_deleted",))
        pool.start(with_scheduler=True)
        site = Site.objects.create(name="Busy", slug="busy")  # no rule for creates
        for i in range(3):  # the worker learns that this receiver answers at once
            site.description = f"warm-up {i}"
            site.save()
        fast.wait_for(3, timeout=30)
        for i in range(3):
            Site.objects.create(name=f"Gone {i}", slug=f"gone-{i}").delete()
        slow.wait_for(1, timeout=30)
        for i in range(5):
            site.description = f"step {i}"
            site.save()
        updates = fast.wait_for(8, timeout=30)[3:]
        deletes = slow.wait_for(3, timeout=30)
    # The fast receiver got all five while the slow one was still answering its first.
    assert max(r.received_at for r in updates) < min(r.received_at for r in deletes) + DELAY
    assert [r.json()["data"]["description"] for r in updates] == [f"step {i}" for i in range(5)]


def test_job_timeouts_use_the_alarm_signal_in_the_main_thread_and_timers_elsewhere(
    queue: Queue,
) -> None:
    worker = WebhookWorker([queue], connection=queue.connection)
    assert worker.death_penalty_class is UnixSignalDeathPenalty
    with ThreadPoolExecutor(1) as other:
        assert other.submit(lambda: worker.death_penalty_class).result() is TimerDeathPenalty
