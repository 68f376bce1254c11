"""Batches: jobs that waited in the queue are run several at a time by a real worker process,
and every one of them still ends as an RQ job of its own: finished with its result, or failed
in the failed registry; an object's events arrive in the order they were queued."""

from __future__ import annotations

import re
import time

import pytest
from django.db import transaction
from rq import Queue
from rq.job import Job, JobStatus

from demo.inventory.models import Site
from tests.conftest import make_rule, make_webhook
from tests.worker_processes import WorkerPool, wait_until
from webhooks_app.receiver import Receiver
from webhooks_app.worker import WebhookWorker, batches

from .test_scale_out import settled

pytestmark = pytest.mark.django_db(transaction=True)


def batch_sizes(log: str) -> list[int]:
    return [int(n) for n in re.findall(r"Job OK \(\S+\), in a batch of (\d+)", log)]


def queued_sites(names: list[str]) -> list[Site]:
    """One site per transaction (one job each), then a pause so that the jobs have waited."""
    sites = []
    for name in names:
        with transaction.atomic():
            sites.append(Site.objects.create(name=name, slug=name))
    time.sleep(batches.WAITED.total_seconds() * 2)
    return sites


@pytest.mark.timeout(120)
def test_waiting_jobs_run_in_batches_and_each_finishes_as_its_own_job(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(status=204) as receiver:
        make_rule(make_webhook(receiver.url), events=("object_created",))
        sites = queued_sites([f"site-{n}" for n in range(60)])
        job_ids = list(queue.job_ids)
        assert len(job_ids) == 60
        (worker,) = pool.start()
        receiver.wait_for(60, timeout=60)
        wait_until(lambda: settled(queue), 30, "the queue to settle")

    received = [r.json()["data"]["id"] for r in receiver.requests]
    assert sorted(received) == sorted(site.pk for site in sites)
    sizes = batch_sizes(worker.output())
    assert sum(sizes) >= 30 and max(sizes) > 1, worker.output()
    for job in Job.fetch_many(job_ids, connection=queue.connection):
        assert job is not None
        assert job.get_status() == JobStatus.FINISHED
        assert job.return_value() == "1 succeeded"
    assert set(queue.finished_job_registry.get_job_ids()) == set(job_ids)
    assert queue.intermediate_queue.get_job_ids() == []
    assert queue.connection.keys("rq:execution:*") == []
    record = pool.rq_worker(worker)
    assert record is not None and record.successful_job_count == 60


@pytest.mark.timeout(120)
def test_a_delivery_that_fails_for_good_fails_only_its_own_job(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(status=204) as good, Receiver(status=400) as bad:
        good_rule = {"attr": "name", "op": "contains", "value": "good"}
        bad_rule = {"attr": "name", "op": "contains", "value": "bad"}
        make_rule(make_webhook(good.url), events=("object_created",), conditions=good_rule)
        make_rule(make_webhook(bad.url), events=("object_created",), conditions=bad_rule)
        names = [f"{'bad' if n % 5 == 0 else 'good'}-{n}" for n in range(40)]
        queued_sites(names)
        job_ids = list(queue.job_ids)
        (worker,) = pool.start()
        good.wait_for(32, timeout=60)
        bad.wait_for(8, timeout=60)
        wait_until(lambda: settled(queue), 30, "the queue to settle")

    assert max(batch_sizes(worker.output())) > 1
    failed = set(queue.failed_job_registry.get_job_ids())
    finished = set(queue.finished_job_registry.get_job_ids())
    assert len(failed) == 8 and len(finished) == 32 and failed | finished == set(job_ids)
    for job_id in failed:
        job = Job.fetch(job_id, connection=queue.connection)
        assert job.get_status() == JobStatus.FAILED
        assert job.retries_left == 0
        (delivery,) = job.args[0]
        assert delivery["object_type"] == "inventory.site"
        assert "Status 400 returned" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]
    assert len(bad.requests) == 8  # failed for good: not sent again


@pytest.mark.timeout(120)
def test_an_objects_events_arrive_in_the_order_they_were_queued(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(status=204) as receiver:
        make_rule(make_webhook(receiver.url))
        (first, second) = queued_sites(["first", "second"])
        for n in range(15):
            for site in (first, second):
                with transaction.atomic():
                    site.description = f"edit {n}"
                    site.save()
        time.sleep(batches.WAITED.total_seconds() * 2)
        (worker,) = pool.start()
        receiver.wait_for(32, timeout=60)
        wait_until(lambda: settled(queue), 30, "the queue to settle")

    assert max(batch_sizes(worker.output())) > 1
    for site in (first, second):
        edits = [
            body["data"]["description"]
            for body in (r.json() for r in receiver.requests)
            if body["data"]["id"] == site.pk and body["event"] == "updated"
        ]
        assert edits == [f"edit {n}" for n in range(15)]


def test_jobs_taken_for_a_batch_go_back_to_the_queue_in_order_when_the_worker_stops(
    queue: Queue,
) -> None:
    with Receiver(status=204) as receiver:
        make_rule(make_webhook(receiver.url), events=("object_created",))
        queued_sites([f"site-{n}" for n in range(5)])
    job_ids = list(queue.job_ids)
    worker = WebhookWorker([queue], connection=queue.connection)
    taken = batches.take_jobs(worker, queue, 3)
    assert [job.id for job in taken] == job_ids[:3]
    assert queue.job_ids == job_ids[3:]
    assert queue.intermediate_queue.get_job_ids() == job_ids[:3]
    worker._taken.extend((job, queue) for job in taken)

    worker.teardown()

    assert queue.job_ids == job_ids
    assert queue.intermediate_queue.get_job_ids() == []


def test_when_redis_fails_while_taking_more_the_job_in_hand_runs_alone(
    queue: Queue, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    worker = WebhookWorker([queue], connection=queue.connection)
    worker.get_redis_server_version()  # known from the job's own dequeue
    request.getfixturevalue("redis_down")

    assert batches.take_jobs(worker, queue, 10) == []
    assert "Taking more jobs for a batch failed" in caplog.text
