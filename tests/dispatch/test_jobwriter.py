"""The job writer: jobs written without rq's ``Job`` objects are the jobs rq would have written.

Each job here is compared with the same job enqueued by rq's own ``Queue.enqueue_many`` (or
saved by ``Job.save``), and run by a real rq worker.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from rq import Queue, Retry, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from webhooks_app.dispatch.jobwriter import (
    COMPRESS_FROM,
    JobKind,
    NewJob,
    enqueue_new_jobs,
    save_new_job,
    writes_jobs,
)

KIND = JobKind(
    "tests.dispatch.test_jobwriter.double",
    result_ttl=600,
    failure_ttl=3600,
    retries=3,
    retry_intervals=(5,),
)
# What rq writes as empty strings and the writer leaves out.
EMPTY_IN_RQ = {
    "success_callback_name",
    "failure_callback_name",
    "stopped_callback_name",
    "started_at",
    "ended_at",
    "last_heartbeat",
    "worker_name",
    "group_id",
}
TIMESTAMPS = {"created_at", "enqueued_at"}


def double(n: Any) -> Any:
    return 2 * n


def explode(message: str) -> None:
    raise RuntimeError(message)


def new_job(job_id: str, *args: Any, timeout: int = 40) -> NewJob:
    return NewJob(job_id, args, f"a test job of {args!r}", timeout)


def write(queue: Queue, *jobs: NewJob, kind: JobKind = KIND) -> None:
    with queue.connection.pipeline() as pipe:
        enqueue_new_jobs(pipe, queue, kind, jobs)
        pipe.execute()


def enqueue_with_rq(queue: Queue, job: NewJob, kind: JobKind = KIND) -> None:
    retry = None if kind.retries is None else Retry(kind.retries, list(kind.retry_intervals))
    data = Queue.prepare_data(
        kind.func_name,
        args=job.args,
        job_id=job.id,
        timeout=job.timeout,
        result_ttl=kind.result_ttl,
        failure_ttl=kind.failure_ttl,
        description=job.description,
        retry=retry,
    )
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many([data], pipeline=pipe)
        pipe.execute()


def restored(queue: Queue, job_id: str) -> dict[str, Any]:
    """``Job.fetch(job_id).to_dict()`` without its timestamps."""
    fields = Job.fetch(job_id, connection=queue.connection).to_dict()
    return {name: value for name, value in fields.items() if name not in TIMESTAMPS}


def raw_hash(queue: Queue, job_id: str) -> dict[str, bytes]:
    return {k.decode(): v for k, v in queue.connection.hgetall(Job.key_for(job_id)).items()}


def test_a_written_job_is_fetched_exactly_as_the_same_job_enqueued_by_rq(queue: Queue) -> None:
    enqueue_with_rq(queue, new_job("by-rq", 21))
    write(queue, new_job("by-writer", 21))
    assert restored(queue, "by-writer") == restored(queue, "by-rq")


def test_a_written_job_has_the_attributes_rq_gives_the_same_job(queue: Queue) -> None:
    write(queue, new_job("j1", {"delivery": 1}, timeout=66))
    job = Job.fetch("j1", connection=queue.connection)
    assert (job.func_name, job.args, job.kwargs) == (KIND.func_name, ({"delivery": 1},), {})
    assert (job.timeout, job.result_ttl, job.failure_ttl) == (66, 600, 3600)
    assert job.description == "a test job of ({'delivery': 1},)"
    assert (job.retries_left, job.retry_intervals) == (3, [5])
    assert job.origin == queue.name
    assert job.get_status() == JobStatus.QUEUED
    assert job.enqueued_at is not None
    assert job.created_at == job.enqueued_at
    assert job.ttl is None
    assert queue.connection.ttl(job.key) == -1  # no expiry, as rq's enqueue sets none


def test_the_fields_left_out_are_the_ones_rq_writes_empty(queue: Queue) -> None:
    enqueue_with_rq(queue, new_job("by-rq", 21))
    write(queue, new_job("by-writer", 21))
    by_rq, by_writer = raw_hash(queue, "by-rq"), raw_hash(queue, "by-writer")
    assert set(by_rq) - set(by_writer) == EMPTY_IN_RQ
    assert {by_rq[name] for name in EMPTY_IN_RQ} == {b""}
    assert set(by_writer) <= set(by_rq)
    assert by_writer["data"] == zlib.decompress(by_rq["data"])  # the same pickle, kept as is
    for name in TIMESTAMPS | {"data"}:
        by_writer.pop(name)
    assert by_writer == {name: by_rq[name] for name in by_writer}


def test_short_job_data_is_stored_uncompressed_and_long_data_as_rq_compresses_it(
    queue: Queue,
) -> None:
    short, long = "x" * 100, "y" * COMPRESS_FROM
    for name, arg in (("short", short), ("long", long)):
        enqueue_with_rq(queue, new_job(f"{name}-by-rq", arg))
        write(queue, new_job(f"{name}-by-writer", arg))
    assert raw_hash(queue, "short-by-writer")["data"] == zlib.decompress(
        raw_hash(queue, "short-by-rq")["data"]
    )
    assert raw_hash(queue, "long-by-writer")["data"] == raw_hash(queue, "long-by-rq")["data"]
    for name in ("short", "long"):
        assert restored(queue, f"{name}-by-writer") == restored(queue, f"{name}-by-rq")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    for name, arg in (("short", short), ("long", long)):
        job = Job.fetch(f"{name}-by-writer", connection=queue.connection)
        assert (job.get_status(), job.return_value()) == (JobStatus.FINISHED, 2 * arg)


def test_a_job_without_crash_retries_has_none_as_with_rq(queue: Queue) -> None:
    kind = JobKind(KIND.func_name, result_ttl=60, failure_ttl=60)
    enqueue_with_rq(queue, new_job("by-rq", 1), kind)
    write(queue, new_job("by-writer", 1), kind=kind)
    assert restored(queue, "by-writer") == restored(queue, "by-rq")
    assert Job.fetch("by-writer", connection=queue.connection).retries_left is None


def test_jobs_are_queued_in_order_on_a_queue_rq_knows(queue: Queue) -> None:
    write(queue, new_job("first", 1), new_job("second", 2), new_job("third", 3))
    assert queue.job_ids == ["first", "second", "third"]
    assert queue.name in [q.name for q in Queue.all(connection=queue.connection)]


def test_nothing_reaches_redis_until_the_callers_pipeline_runs(queue: Queue) -> None:
    with queue.connection.pipeline() as pipe:
        enqueue_new_jobs(pipe, queue, KIND, [new_job("later", 1)])
        assert not queue.connection.exists(Job.key_for("later"))
        assert queue.count == 0
        pipe.execute()
    assert queue.job_ids == ["later"]


def test_no_jobs_add_no_commands(queue: Queue) -> None:
    with queue.connection.pipeline() as pipe:
        enqueue_new_jobs(pipe, queue, KIND, [])
        assert len(pipe) == 0


def test_a_job_id_rq_would_refuse_is_refused(queue: Queue) -> None:
    with queue.connection.pipeline() as pipe, pytest.raises(ValueError, match="Job ID"):
        enqueue_new_jobs(pipe, queue, KIND, [new_job("no:colons", 1)])


def test_a_worker_runs_a_written_job(queue: Queue) -> None:
    write(queue, new_job("j1", 21))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job = Job.fetch("j1", connection=queue.connection)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 42


def test_a_job_that_fails_for_good_is_in_the_failed_registry_and_can_be_requeued(
    queue: Queue,
) -> None:
    kind = JobKind("tests.dispatch.test_jobwriter.explode", result_ttl=60, failure_ttl=3600)
    write(queue, new_job("j1", "boom"), kind=kind)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    registry = FailedJobRegistry(queue=queue)
    assert registry.get_job_ids() == ["j1"]
    job = Job.fetch("j1", connection=queue.connection)
    assert job.get_status() == JobStatus.FAILED
    assert "boom" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]
    registry.requeue("j1")
    assert queue.job_ids == ["j1"]
    assert Job.fetch("j1", connection=queue.connection).get_status() == JobStatus.QUEUED


def test_a_failing_job_spends_its_crash_retries_as_rq_schedules_them(queue: Queue) -> None:
    kind = JobKind(
        "tests.dispatch.test_jobwriter.explode", 60, 3600, retries=3, retry_intervals=(5,)
    )
    write(queue, new_job("j1", "boom"), kind=kind)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == ["j1"]
    assert Job.fetch("j1", connection=queue.connection).retries_left == 2


def test_a_saved_job_is_the_job_rq_saves_and_is_not_queued(queue: Queue) -> None:
    job = new_job("by-writer", 21)
    with queue.connection.pipeline() as pipe:
        save_new_job(pipe, queue, KIND, job, JobStatus.SCHEDULED)
        pipe.execute()
    by_rq = queue.create_job(
        KIND.func_name,
        args=job.args,
        job_id="by-rq",
        timeout=job.timeout,
        result_ttl=KIND.result_ttl,
        failure_ttl=KIND.failure_ttl,
        description=job.description,
        retry=Retry(3, 5),
        status=JobStatus.SCHEDULED,
    )
    by_rq.save()
    assert restored(queue, "by-writer") == restored(queue, "by-rq")
    fetched = Job.fetch("by-writer", connection=queue.connection)
    assert fetched.get_status() == JobStatus.SCHEDULED
    assert fetched.enqueued_at is None
    assert queue.job_ids == []


def test_the_queues_serializer_is_used_for_the_jobs_data(queue: Queue) -> None:
    json_queue = Queue(queue.name, connection=queue.connection, serializer=JSONSerializer)
    write(json_queue, new_job("j1", {"n": 1}))
    job = Job.fetch("j1", connection=queue.connection, serializer=JSONSerializer)
    assert (job.func_name, job.args) == (KIND.func_name, [{"n": 1}])


def test_a_synchronous_queue_or_a_job_class_of_its_own_is_left_to_rq(queue: Queue) -> None:
    class OwnJob(Job):
        pass

    assert writes_jobs(queue)
    assert not writes_jobs(Queue(queue.name, connection=queue.connection, is_async=False))
    assert not writes_jobs(Queue(queue.name, connection=queue.connection, job_class=OwnJob))
