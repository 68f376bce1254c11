"""Running several queued delivery jobs as one batch, when jobs wait in the queue.

Delivering events one RQ job at a time costs RQ's bookkeeping for every job: about ten Redis
round trips, most of a small job's time (a round trip on loopback takes 0.2-0.4 ms on a small
VM). When jobs have waited in the queue (a burst of single-object changes, or a worker
catching up after an outage), the worker takes up to :data:`MAX_JOBS` more of them off the
queue in one round trip, marks them all started in one pipeline, sends all their deliveries
together (:func:`~webhooks_app.worker.job.deliver_jobs`: one delivery-log write), and records their
success in one more pipeline. Each job stays an RQ job of its own: its own status, result,
registries and execution record, and, if it fails, RQ's own failure handling (crash retries,
the failed registry). A job that waited less than :data:`WAITED` is not batched, so taking
more never delays a worker that keeps up.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.timeouts import JobTimeoutException
from rq.utils import now
from rq.worker import WorkerStatus

from webhooks_app.dispatch.enqueue import CRASH_RETRIES, JOB_FUNC

if TYPE_CHECKING:
    from rq.worker import BaseWorker

__all__ = [
    "MAX_DELIVERIES",
    "MAX_JOBS",
    "WAITED",
    "batchable",
    "run_batch",
    "start",
    "take_jobs",
    "waited",
]

logger = logging.getLogger(__name__)

# At most this many jobs in one batch...
MAX_JOBS = 50
# ...with at most this many deliveries in all.
MAX_DELIVERIES = 200
# Batch only behind a job that waited in the queue at least this long.
WAITED = timedelta(milliseconds=20)

# Move up to ARGV[1] job ids from the queue to its intermediate queue, as BLMOVE does for one.
_TAKE = """
local ids = {}
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not id then break end
  ids[i] = id
end
return ids
"""


def waited(job: Job) -> bool:
    """Whether ``job`` waited in the queue long enough to suggest that more jobs wait behind it."""
    return job.enqueued_at is not None and now() - job.enqueued_at >= WAITED


def batchable(job: Job) -> bool:
    """Whether ``job`` can run in a batch: a first run of a delivery job with nothing attached
    (no callbacks, dependencies or RQ job webhooks) whose argument is a list of deliveries."""
    if job.func_name != JOB_FUNC or job.kwargs or len(job.args) != 1:
        return False
    if job.retries_left is not None and job.retries_left < CRASH_RETRIES:
        return False  # a rerun: its deliveries are checked against the log first
    if job._success_callback_name or job._failure_callback_name or job._stopped_callback_name:
        return False
    if job._dependency_ids or job.webhooks:
        return False
    deliveries = job.args[0]
    return isinstance(deliveries, list) and all(isinstance(d, dict) for d in deliveries)


def take_jobs(worker: BaseWorker, queue: Queue, count: int) -> list[Job]:
    """Take up to ``count`` jobs off the head of ``queue`` (into its intermediate queue, as
    RQ's own dequeue does) in two round trips; ids whose job is gone are dropped. None on a
    Redis older than 6.2 (no LMOVE) or when Redis fails: the job in hand then runs alone (ids
    moved before a failure are failed and retried by RQ's intermediate-queue cleanup)."""
    connection = worker.connection
    if worker.get_redis_server_version() < (6, 2, 0):  # type: ignore[no-untyped-call]
        return []
    script = connection.register_script(_TAKE)
    try:
        ids = [
            i.decode() if isinstance(i, bytes) else str(i)
            for i in script(keys=[queue.key, queue.intermediate_queue_key], args=[count])
        ]
        if not ids:
            return []
        jobs = Job.fetch_many(ids, connection=connection, serializer=worker.serializer)
    except RedisError as exc:
        logger.warning("Taking more jobs for a batch failed (%s); running one at a time", exc)
        return []
    gone = [job_id for job_id, job in zip(ids, jobs, strict=True) if job is None]
    if gone:
        with connection.pipeline() as pipe:
            for job_id in gone:
                pipe.lrem(queue.intermediate_queue_key, 1, job_id)
            pipe.execute()
    return [job for job in jobs if job is not None]


def start(worker: BaseWorker, jobs: Sequence[Job], queue: Queue) -> list[Execution]:
    """Mark the jobs started, each with an execution of its own, in one pipeline."""
    ttl = max(int(worker.get_heartbeat_ttl(job)) for job in jobs)
    with worker.connection.pipeline() as pipe:
        executions = []
        for job in jobs:
            executions.append(Execution.create(job, ttl, pipeline=pipe, worker_name=worker.name))
            job.heartbeat(now(), ttl, pipeline=pipe)
            job.prepare_for_execution(worker.name, pipeline=pipe)
            pipe.lrem(queue.intermediate_queue_key, 1, job.id)
        worker.set_current_job_id(jobs[-1].id, pipeline=pipe)
        worker.heartbeat(ttl, pipeline=pipe)
        worker.set_state(WorkerStatus.BUSY, pipeline=pipe)
        pipe.execute()
    return executions


def run_batch(
    worker: BaseWorker, jobs: Sequence[Job], executions: Sequence[Execution], queue: Queue
) -> None:
    """Deliver the started jobs together, then record each one's success or failure."""
    from webhooks_app.worker.job import DeliveryFailed, deliver_jobs

    outcomes: list[Any]
    timeout = sum(job.timeout or Queue.DEFAULT_TIMEOUT for job in jobs)
    try:
        with worker.death_penalty_class(timeout, JobTimeoutException, job_id=jobs[0].id):
            outcomes = list(deliver_jobs([job.args[0] for job in jobs]))
    except Exception:
        logger.debug("Batch of %d jobs raised", len(jobs), exc_info=True)
        outcomes = [sys.exc_info()] * len(jobs)
    ended = now()
    done = []
    for job, execution, outcome in zip(jobs, executions, outcomes, strict=True):
        job.ended_at = ended
        if isinstance(outcome, DeliveryFailed):
            job.retries_left = 0  # failed for good: RQ must not run it again
            outcome = (type(outcome), outcome, outcome.__traceback__)
        if isinstance(outcome, tuple):
            _fail(worker, job, execution, queue, outcome)
        else:
            job._result = outcome
            job._status = JobStatus.FINISHED
            done.append((job, execution))
    if done:
        _succeed(worker, done, queue)


def _succeed(worker: BaseWorker, done: list[tuple[Job, Execution]], queue: Queue) -> None:
    """RQ's success handling for every job in one transaction. (RQ's own watches each job's
    dependents key first: delivery jobs have no dependents, see :func:`batchable`.)"""
    with worker.connection.pipeline() as pipe:
        for job, execution in done:
            assert job.started_at is not None and job.ended_at is not None
            worker.increment_successful_job_count(pipeline=pipe)
            worker.increment_total_working_time(job.ended_at - job.started_at, pipe)
            result_ttl = job.get_result_ttl(worker.default_result_ttl)
            if result_ttl != 0:
                job._handle_success(
                    result_ttl,
                    pipeline=pipe,
                    worker_name=worker.name,
                    execution_id=execution.id,
                    execution_started_at=execution.created_at,
                    execution_ended_at=job.ended_at,
                )
            job.cleanup(result_ttl, pipeline=pipe, remove_from_queue=False)
            execution.delete(job=job, pipeline=pipe)
        worker.set_current_job_id(None, pipeline=pipe)
        pipe.execute()
    for job, _ in done:
        logger.info("%s: Job OK (%s), in a batch of %d", queue.name, job.id, len(done))


def _fail(worker: BaseWorker, job: Job, execution: Execution, queue: Queue, exc_info: Any) -> None:
    """RQ's failure handling for one job (crash retry or the failed registry)."""
    job._status = JobStatus.FAILED
    exc_string = "".join(traceback.format_exception(*exc_info))
    worker.execution = execution
    try:
        worker.handle_exception(job, *exc_info)
        worker.handle_job_failure(job=job, queue=queue, exc_string=exc_string)
    finally:
        worker.execution = None
