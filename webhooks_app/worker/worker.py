"""The worker class for webhook queues: rq's non-forking ``SimpleWorker``, with housekeeping.

``RQ = {"WORKER_CLASS": "webhooks_app.worker.WebhookWorker"}`` makes
``manage.py rqworker default --with-scheduler`` and
``manage.py rqworker-pool default --num-workers N`` use it. Jobs run one at a time, in the
worker process itself (no fork per job), so database and HTTP connections, compiled templates
and serializers are reused from job to job; for several jobs at once, run more worker
processes (``rqworker-pool``). Every :data:`MAINTENANCE_INTERVAL` seconds, between jobs or
while waiting for one, rq's maintenance runs: its registry cleanup (which retries the jobs of
a worker that died), then this worker's housekeeping (:mod:`.housekeeping`: the outbox relay
every ``WEBHOOKS_RELAY_INTERVAL`` seconds, the delivery-log prune hourly).

A worker killed with SIGKILL leaves its job in rq's started registry; the entry expires
:data:`HEARTBEAT_MARGIN` seconds after the job's timeout (nothing renews it while a job runs
in a worker's only thread), and the next cleanup of a live worker retries the job (a
:class:`rq.Retry` of :data:`~webhooks_app.dispatch.enqueue.CRASH_RETRY_INTERVAL` seconds,
moved to the queue by a scheduler). See :func:`recovery_bound`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.client import PubSub, PubSubWorkerThread
from redis.exceptions import ConnectionError
from rq import SimpleWorker, worker_registration
from rq.job import Job
from rq.queue import Queue

from webhooks_app.dispatch.enqueue import CRASH_RETRY_INTERVAL
from webhooks_app.worker.housekeeping import Housekeeping, close_broken_connection

__all__ = [
    "HEARTBEAT_MARGIN",
    "IDLE_WAKEUP",
    "MAINTENANCE_INTERVAL",
    "PUBSUB_WAKEUP",
    "RECOVERY_BOUND",
    "SCHEDULER_INTERVAL",
    "SUSPENSION_CHECK_EVERY",
    "WORKER_HEARTBEAT_EVERY",
    "WebhookWorker",
    "recovery_bound",
]

logger = logging.getLogger(__name__)

# How often rq's maintenance runs (its registry cleanup finds the jobs of dead workers; rq's
# default is 10 minutes), and with it this worker's housekeeping.
MAINTENANCE_INTERVAL = 10
# The longest a worker waits for a job before it looks whether maintenance is due.
IDLE_WAKEUP = 5
# A running job's entry in rq's started registry outlives the job's timeout by this much (the
# job's end, even by its timeout, removes it first).
HEARTBEAT_MARGIN = 15
# How often the thread that listens for rq's commands to this worker (``rq`` shutdown, stop
# job) looks whether it should end (rq's: 60 s; see WebhookWorker.subscribe). Well under the
# second rq then waits for it, so that it has ended before rq closes its connection.
PUBSUB_WAKEUP = 0.25
# rq renews the worker's own heartbeat (a key that lives for minutes) three or four times per
# job, and looks whether workers are suspended before every job; once a second is enough.
WORKER_HEARTBEAT_EVERY = 1.0
SUSPENSION_CHECK_EVERY = 1.0
# How often rq's scheduler moves due jobs (rq's crash retries among them) to the queue.
SCHEDULER_INTERVAL = 1
# Seconds, after the timeout of a job whose worker was killed, by which rq has queued it again:
# its entry expires (margin), a live worker's next cleanup finds it (at most one maintenance
# interval and one wakeup later), retries it after the retry interval, and a scheduler moves
# it to the queue (plus a second: rq's registries count whole seconds).
RECOVERY_BOUND = (
    HEARTBEAT_MARGIN
    + MAINTENANCE_INTERVAL
    + IDLE_WAKEUP
    + CRASH_RETRY_INTERVAL
    + SCHEDULER_INTERVAL
    + 1
)


def recovery_bound(job_timeout: int) -> int:
    """Seconds after a kill by which rq has queued the killed worker's job again, for a job of
    timeout ``job_timeout`` (see :func:`webhooks_app.dispatch.enqueue.job_timeout`), when
    another worker runs (and one of them has a scheduler)."""
    return job_timeout + RECOVERY_BOUND


class WebhookWorker(SimpleWorker):
    """rq's non-forking worker with a short maintenance interval, started-registry entries that
    outlive a job's timeout by :data:`HEARTBEAT_MARGIN` (rq's ``SimpleWorker``: 60 s), the
    outbox relay and delivery-log prune, a database connection that failed dropped after the
    job, and fewer round trips to Redis per job (rq's redundant heartbeats, state writes and
    suspension checks skipped: 16 round trips a job become 9)."""

    log_result_lifespan = False  # one line less per job: the delivery log has the outcome

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(*args, **kwargs)
        self.housekeeping = Housekeeping()
        self.stopping = False
        self.last_heartbeat_sent = 0.0
        self.last_suspension_check = 0.0

    @property
    def dequeue_timeout(self) -> int:
        # Wake up regularly while idle, so that maintenance and housekeeping run on time.
        return max(1, min(int(super().dequeue_timeout), IDLE_WAKEUP))

    def get_heartbeat_ttl(self, job: Job) -> int:
        if job.timeout is not None and job.timeout > 0:
            return int(job.timeout) + HEARTBEAT_MARGIN
        return int(super().get_heartbeat_ttl(job))

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        # rq's own calls without arguments only push the expiry of the worker's key back to
        # its full TTL: one a second does that. (Calls with a TTL or a pipeline always go.)
        if timeout is None and pipeline is None:
            now = time.monotonic()
            if now - self.last_heartbeat_sent < WORKER_HEARTBEAT_EVERY:
                return
            self.last_heartbeat_sent = now
        super().heartbeat(timeout, pipeline)
        if pipeline is None:
            self.register_again_if_forgotten()

    def register_again_if_forgotten(self) -> None:
        """After Redis restarted (or lost its data), rq's worker registry no longer lists this
        worker, which goes on working: register it again with rq's ``register_birth``, so that
        the background tasks page and ``Worker.all()`` show it again within one heartbeat."""
        if self.key in worker_registration.get_keys(connection=self.connection):
            return
        logger.warning("Worker %s was missing from rq's registry (Redis restarted?)", self.name)
        self.connection.delete(self.key)  # the partial hash the heartbeat just wrote
        self.register_birth()  # type: ignore[no-untyped-call, unused-ignore]

    def check_for_suspension(self, burst: bool) -> None:
        # ``rq suspend`` is noticed within a second rather than before every job.
        now = time.monotonic()
        if now - self.last_suspension_check < SUSPENSION_CHECK_EVERY:
            return
        self.last_suspension_check = now
        super().check_for_suspension(burst)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        # rq sets "idle" after each job and again when it waits for the next one.
        if pipeline is None and state == self.get_state():
            return
        super().set_state(state, pipeline)

    def handle_warm_shutdown_request(self) -> None:
        self.stopping = True
        super().handle_warm_shutdown_request()  # type: ignore[no-untyped-call]

    def run_maintenance_tasks(self) -> None:
        # Once stopping, no more maintenance: rq's would start the scheduler it just stopped.
        if self.stopping:
            return
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        self.housekeeping.run_if_due()

    def subscribe(self) -> None:
        """rq's subscription to this worker's command channel, with a thread that wakes up
        every :data:`PUBSUB_WAKEUP` seconds. (rq's thread waits up to 60 s for a message. When
        the worker ends, rq unsubscribes, stops the thread and closes the connection: redis-py
        8's ``PubSubWorkerThread.stop()`` waits for the thread, which, once the unsubscription
        is answered, can wait that long again, so a worker took up to a minute to end; with
        redis-py 5, rq waits a second, then closes the connection, and a thread that wakes up at
        that moment closes it too and fails.)"""
        self.log.debug("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAKEUP, daemon=True, exception_handler=self.handle_pubsub_error
        )

    def handle_pubsub_error(
        self, exc: BaseException, pubsub: PubSub, thread: PubSubWorkerThread
    ) -> None:
        """As rq's: the thread keeps listening through a lost connection (redis-py subscribes
        again once it is back), and ends on anything else."""
        if not isinstance(exc, ConnectionError):
            raise exc
        self.log.error("Worker %s: lost its command channel (%s); retrying in 2 s", self.name, exc)
        time.sleep(2.0)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            close_broken_connection()
