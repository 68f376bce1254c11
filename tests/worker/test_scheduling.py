"""Scheduling a retry: the job reaches RQ's scheduled registry together with its data, so a
scheduler running at the same moment (on another worker) can never drop it."""

from __future__ import annotations

import threading

from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from tests.conftest import numbered_job
from webhooks_app.dispatch.enqueue import JobSpec, schedule_job

JOBS = 300


def retry_spec(n: int) -> JobSpec:
    return numbered_job(n, attempt=2)


def test_a_retry_scheduled_while_the_scheduler_runs_is_never_lost(queue: Queue) -> None:
    scheduler = RQScheduler([queue], connection=queue.connection)
    scheduler.prepare_registries([queue.name])
    stop = threading.Event()

    def run_scheduler() -> None:
        while not stop.is_set():
            scheduler.enqueue_scheduled_jobs()

    thread = threading.Thread(target=run_scheduler, name="scheduler")
    thread.start()
    try:
        specs = [retry_spec(n) for n in range(JOBS)]
        for spec in specs:
            schedule_job(spec, 0.0)  # due at once: the scheduler may take it straight away
    finally:
        stop.set()
        thread.join(timeout=30)
    scheduler.enqueue_scheduled_jobs()

    ids = {spec["id"] for spec in specs}
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == []
    assert set(queue.job_ids) == ids  # every one of them, in the queue
    statuses = {job.get_status() for job in Job.fetch_many(list(ids), connection=queue.connection)}
    assert statuses == {JobStatus.QUEUED}


def test_a_retry_waits_in_the_scheduled_registry_until_it_is_due(queue: Queue) -> None:
    spec = retry_spec(1)
    schedule_job(spec, 3600)
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [spec["id"]]
    job = Job.fetch(spec["id"], connection=queue.connection)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.args == (spec["deliveries"],)
    assert queue.job_ids == []
