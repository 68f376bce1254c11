"""The worker class for webhook queues: no fork per job, several jobs at once, housekeeping.

``RQ = {"WORKER_CLASS": "webhooks_app.worker.WebhookWorker"}`` makes
``manage.py rqworker default --with-scheduler`` use it. Jobs run in the worker process itself,
so connections, compiled templates and serializers are reused from job to job, and up to
``WEBHOOKS_WORKER_CONCURRENCY`` jobs run at once in threads, so that one slow receiver never
holds up the deliveries behind it; jobs whose receivers all answer fast run one after the
other in the main thread, which dequeues the jobs, and when such jobs have waited in the
queue, several of them run as one batch (:mod:`.batches`). A heartbeat thread keeps the heartbeats of
the running jobs short-lived, so that the jobs of a worker killed with SIGKILL are noticed
and retried by another worker within :data:`RECOVERY_BOUND` seconds. While idle or between
jobs it relays the outbox (every ``WEBHOOKS_RELAY_INTERVAL`` seconds) and prunes the delivery
log (hourly).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from functools import partial
from typing import Any

from django.db import connection
from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import BaseDeathPenalty, TimerDeathPenalty, get_default_death_penalty_class
from rq.worker import WorkerStatus

from webhooks_app.conf import conf
from webhooks_app.delivery.concurrency import answer_time
from webhooks_app.worker import batches
from webhooks_app.worker.arenas import limit_malloc_arenas
from webhooks_app.worker.housekeeping import close_broken_connection, run_housekeeping
from webhooks_app.worker.jobheartbeats import JOB_HEARTBEAT_TTL, JobHeartbeats
from webhooks_app.worker.jobthreads import JobThreads
from webhooks_app.worker.turns import Running, Turns, objects_of

__all__ = ["RECOVERY_BOUND", "WebhookWorker"]

logger = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0
# How often a worker looks for jobs abandoned by dead workers (and cleans RQ's registries).
REGISTRY_CLEAN_INTERVAL = 10
# The longest a worker waits for a job before doing its housekeeping.
IDLE_WAKEUP = 5
# A job abandoned by a killed worker is queued again at most this many seconds after the kill:
# its heartbeat expires, then the next registry cleanup of a live worker retries it (the retry
# waits 5 s for the scheduler, which moves due jobs every second).
RECOVERY_BOUND = JOB_HEARTBEAT_TTL + REGISTRY_CLEAN_INTERVAL + IDLE_WAKEUP + 5 + 1
# A job runs in the main thread when all its receivers answered faster than this lately.
INLINE_BELOW_MS = 10.0
# How long the main thread waits for a new receiver's first answer before taking the next job.
FIRST_ANSWER_WAIT = 0.05
# Skip the worker's own heartbeat when the last one is this recent (it lives for minutes).
WORKER_HEARTBEAT_EVERY = 1.0
SUSPENSION_CHECK_EVERY = 1.0


class _PerThread(threading.local):
    execution: Any = None
    working_time: float = 0.0


class WebhookWorker(SimpleWorker):
    """RQ's non-forking worker, running up to ``WEBHOOKS_WORKER_CONCURRENCY`` jobs at once.

    RQ keeps the running job's execution on the worker object; here it is kept per thread, so
    each job thread finishes its own job. Jobs run in the main thread (one at a time) when the
    concurrency is 1 or when the worker runs inside an open transaction (a test's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        limit_malloc_arenas()  # before any thread starts: see .arenas
        self._per_thread = _PerThread()
        self._main_death_penalty = get_default_death_penalty_class()
        kwargs.setdefault("maintenance_interval", REGISTRY_CLEAN_INTERVAL)
        super().__init__(*args, **kwargs)
        self.log_result_lifespan = False  # one line less per job: the delivery log has the outcome
        self.concurrency = max(1, int(conf.WEBHOOKS_WORKER_CONCURRENCY))
        self._threads: JobThreads | None = None
        self._jobs = Turns()
        self._running = self._jobs.running
        self._changed = self._jobs.changed
        self._next_relay = 0.0
        self._next_prune = time.monotonic() + 60
        self._last_worker_heartbeat = 0.0
        self._dequeued = False
        self._taken: deque[tuple[Job, Queue]] = deque()  # taken off the queue for a batch
        self._job_heartbeats = JobHeartbeats(self.connection, self._running_executions)
        self._last_suspension_check = 0.0

    @property
    def death_penalty_class(self) -> type[BaseDeathPenalty]:
        """RQ's job timeout: an alarm signal in the main thread (signals reach no other), a
        timer thread in a job thread (it costs a thread start per job, so not everywhere)."""
        if threading.current_thread() is threading.main_thread():
            return self._main_death_penalty
        return TimerDeathPenalty

    @death_penalty_class.setter
    def death_penalty_class(self, value: type[BaseDeathPenalty]) -> None:
        self._main_death_penalty = value

    # RQ's per-job state, kept per thread.
    @property
    def execution(self) -> Any:
        return self._per_thread.execution

    @execution.setter
    def execution(self, value: Any) -> None:
        self._per_thread.execution = value

    @property
    def current_job_working_time(self) -> float:
        return self._per_thread.working_time

    @current_job_working_time.setter
    def current_job_working_time(self, value: float) -> None:
        self._per_thread.working_time = value

    @property
    def dequeue_timeout(self) -> int:
        # Wake up regularly while idle, so heartbeats and housekeeping run on time; every second
        # while jobs run, so that a warm shutdown (which waits for them) is not held up here.
        wakeup = (
            1
            if getattr(self, "_running", None)
            else min(IDLE_WAKEUP, int(conf.WEBHOOKS_RELAY_INTERVAL))
        )
        return max(1, min(int(super().dequeue_timeout), wakeup))

    def get_heartbeat_ttl(self, job: Job) -> int:
        if self.concurrency > 1:
            return JOB_HEARTBEAT_TTL
        return int(super().get_heartbeat_ttl(job))

    def set_state(self, state: str, pipeline: Any = None) -> None:
        # While jobs run, the worker is busy, even as it waits for the next one.
        if state == WorkerStatus.IDLE and self._running:
            state = WorkerStatus.BUSY
        if state == self.get_state() and pipeline is None:
            return
        super().set_state(state, pipeline=pipeline)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> Any:
        main = threading.current_thread() is threading.main_thread()
        if main and self._stop_requested and not self._dequeued and timeout is None:
            # A warm shutdown that came while jobs ran: RQ's wait for the next job never looks
            # at the request, but calls this between waits (and once after taking a job, which
            # must then run or go back: see execute_job).
            raise StopRequested()
        now = time.monotonic()
        if timeout is not None or pipeline is not None:
            result = super().heartbeat(timeout, pipeline)
        elif now - self._last_worker_heartbeat >= WORKER_HEARTBEAT_EVERY:
            self._last_worker_heartbeat = now
            result = super().heartbeat()
        else:
            return None
        if main or self._threads is None:
            self._job_heartbeats.renew(now)
            self._housekeeping(now)
        return result

    def _housekeeping(self, now: float) -> None:
        if now >= self._next_relay:
            self._next_relay = now + conf.WEBHOOKS_RELAY_INTERVAL
            prune = now >= self._next_prune
            if prune:
                self._next_prune = now + PRUNE_INTERVAL
            run_housekeeping(prune=prune)

    def _running_executions(self) -> list[tuple[Job, Any]]:
        with self._changed:
            return [(r.job, r.execution) for r in self._running.values() if r.execution is not None]

    def _threaded(self) -> bool:
        return self.concurrency > 1 and not connection.in_atomic_block

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> Any:
        if self._threaded():
            self._wait_for_free_thread()
        if self._stop_requested:  # a warm shutdown takes no new job
            return None
        if self._taken:  # taken with a batch but left out of it: next in queue order
            self._dequeued = True
            self.heartbeat()
            return self._taken.popleft()
        self._dequeued = False
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def reorder_queues(self, reference_queue: Queue) -> None:
        self._dequeued = True  # RQ calls this as soon as it has taken a job off a queue
        super().reorder_queues(reference_queue)

    def check_for_suspension(self, burst: bool) -> None:
        # RQ asks Redis before every job; once a second is soon enough to notice `rq suspend`.
        now = time.monotonic()
        if now - self._last_suspension_check >= SUSPENSION_CHECK_EVERY:
            super().check_for_suspension(burst)
            self._last_suspension_check = time.monotonic()

    def run_maintenance_tasks(self) -> None:
        # Once stopping, never start a scheduler again (it would outlive this worker).
        if not self._stop_requested:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]

    def _wait_for_free_thread(self) -> None:
        """Take a job off the queue only when a thread can start it at once (a job dequeued
        but not started counts as stuck for RQ), keeping the running jobs' heartbeats."""
        with self._changed:
            while len(self._running) >= self.concurrency and not self._stop_requested:
                self._changed.wait(timeout=1.0)
                self._job_heartbeats.renew(time.monotonic())

    def execute_job(self, job: Job, queue: Queue) -> Any:
        if not self._threaded():
            try:
                return super().execute_job(job, queue)
            finally:
                close_broken_connection()
        self._wait_for_free_thread()
        if self._stop_requested:
            self._give_back(job, queue)
            return None
        if self._threads is None:
            self._threads = JobThreads(self.concurrency, "webhook-job")
            self._job_heartbeats.start()
        running = Running(job, objects_of(job))
        self._jobs.add(running)
        if self._inline(running):
            batch = self._batch_behind(running, queue)
            if batch:
                self._run_batch([running, *batch], queue)
            else:
                self._run(running, queue)
        else:
            self._threads.submit(partial(self._run, running, queue))
            self._await_first_answers(running)
        return None

    def _await_first_answers(self, running: Running) -> None:
        """For a job to receivers not heard from yet, wait a moment (at most
        :data:`FIRST_ANSWER_WAIT` seconds) for their first answer before taking the next job,
        which can then run in the main thread if they answered fast."""
        deadline = time.monotonic() + FIRST_ANSWER_WAIT
        while any(answer_time(w) is None for w in running.webhooks) and time.monotonic() < deadline:
            with self._changed:
                if running.job.id not in self._running:
                    return  # over already (it may have sent nothing)
                self._changed.wait(timeout=0.002)

    def _inline(self, running: Running) -> bool:
        """Whether to run a job in the main thread: when every receiver it sends to answered
        within :data:`INLINE_BELOW_MS` lately. Such a job is over soon, and running several at
        once only makes their threads wait for each other (Python runs one at a time): on 2
        cores, 8 jobs to a fast receiver at once deliver about 40% fewer a second than one
        after the other. Jobs to slow or new receivers run in threads, so they never hold up
        the others."""
        times = [answer_time(webhook) for webhook in running.webhooks]
        return bool(times) and all(t is not None and t < INLINE_BELOW_MS for t in times)

    def _give_back(self, job: Job, queue: Queue) -> None:
        """Put a job taken off the queue while stopping back at its head, for another worker."""
        with self.connection.pipeline() as pipe:
            pipe.lrem(queue.intermediate_queue_key, 1, job.id)
            pipe.lpush(queue.key, job.id)
            pipe.execute()
        logger.info("Stopping: job %s left on the queue for another worker", job.id)

    def _batch_behind(self, first: Running, queue: Queue) -> list[Running]:
        """When ``first`` waited in the queue, the jobs behind it that can run with it in one
        batch (see :mod:`.batches`): fast receivers, no object another running job is about,
        in queue order up to the first job that cannot."""
        if not batches.batchable(first.job):
            return []
        if not self._jobs.first(first):
            return []  # it waits for a running job about the same object
        if not self._taken and batches.waited(first.job) and len(self.queues) == 1:
            more = batches.take_jobs(self, queue, batches.MAX_JOBS - 1)
            self._taken.extend((job, queue) for job in more)
        batch: list[Running] = []
        deliveries = len(first.job.args[0])
        while self._taken and len(batch) < batches.MAX_JOBS - 1:
            job, job_queue = self._taken[0]
            running = Running(job, objects_of(job))
            deliveries += len(job.args[0]) if job.args else 0
            if (
                job_queue is not queue
                or not batches.batchable(job)
                or deliveries > batches.MAX_DELIVERIES
                or not self._inline(running)
                or self._jobs.busy(running)
            ):
                break
            self._taken.popleft()
            self._jobs.add(running)
            batch.append(running)
        return batch

    def _run_batch(self, batch: list[Running], queue: Queue) -> None:
        jobs = [running.job for running in batch]
        try:
            executions = batches.start(self, jobs, queue)
            for running, execution in zip(batch, executions, strict=True):
                running.execution = execution
            batches.run_batch(self, jobs, executions, queue)
        except Exception:
            logger.exception("A batch of %d jobs crashed", len(jobs))
        finally:
            close_broken_connection()
            for running in batch:
                self._jobs.finished(running)

    def _run(self, running: Running, queue: Queue) -> None:
        job = running.job
        try:
            running.execution = self.prepare_execution(job)
            self._jobs.wait_for_turn(running)
            if threading.current_thread() is threading.main_thread():
                self.perform_job(job, queue)
            else:
                with self._jobs.sending(running):
                    self.perform_job(job, queue)
        except Exception:
            logger.exception("Job %s crashed", job.id)
        finally:
            self.execution = None
            close_broken_connection()
            self._jobs.finished(running)

    def wait_for_running_jobs(self) -> None:
        """Block until every job started by this worker has finished."""
        if self._threads is not None:
            self._threads.shutdown()
            self._threads = None
        self._job_heartbeats.stop()

    def teardown(self) -> None:
        # A warm shutdown (SIGTERM, --max-jobs, the end of --burst) lets running jobs finish.
        self.wait_for_running_jobs()
        while self._taken:  # taken for a batch, never started: back to the queue, in order
            self._give_back(*self._taken.pop())
        super().teardown()  # type: ignore[no-untyped-call]
