"""The worker class for webhook queues: no fork per job, plus the app's housekeeping.

``RQ = {"WORKER_CLASS": "webhooks_app.worker.WebhookWorker"}`` makes
``manage.py rqworker default --with-scheduler`` use it. Jobs run in the worker process itself,
so connections, compiled templates and serializers are reused from job to job. While idle or
between jobs it relays the outbox (every ``WEBHOOKS_RELAY_INTERVAL`` seconds), prunes the
delivery log (hourly), and cleans RQ's registries often enough that a job abandoned by a killed
worker is retried within a couple of minutes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import close_old_connections, connection
from rq import SimpleWorker

from .conf import conf

__all__ = ["WebhookWorker", "run_housekeeping"]

logger = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0
REGISTRY_CLEAN_INTERVAL = 30


def _close_stale_connections() -> None:
    """Django's per-request connection hygiene, for a long-lived worker (never inside an open
    transaction, which is what a test running the worker in-process has)."""
    if not connection.in_atomic_block:
        close_old_connections()


def run_housekeeping(*, prune: bool) -> None:
    """Relay the outbox and, if asked, prune old deliveries; failures are logged, never raised."""
    from .deliverylog import prune_deliveries
    from .models import OutboxEntry
    from .queueing import relay_outbox

    try:
        if OutboxEntry.objects.exists():
            relay_outbox()
        if prune:
            pruned = prune_deliveries()
            if pruned:
                logger.info("Pruned %d old deliveries", pruned)
    except Exception:
        logger.exception("Webhook housekeeping failed; will try again")
    finally:
        _close_stale_connections()


class WebhookWorker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", REGISTRY_CLEAN_INTERVAL)
        super().__init__(*args, **kwargs)
        self._next_relay = 0.0
        self._next_prune = time.monotonic() + 60

    @property
    def dequeue_timeout(self) -> int:
        # Wake up regularly while idle, so housekeeping runs on time.
        return max(1, min(int(super().dequeue_timeout), int(conf.WEBHOOKS_RELAY_INTERVAL)))

    def heartbeat(self, *args: Any, **kwargs: Any) -> Any:
        result = super().heartbeat(*args, **kwargs)
        now = time.monotonic()
        if now >= self._next_relay:
            self._next_relay = now + conf.WEBHOOKS_RELAY_INTERVAL
            prune = now >= self._next_prune
            if prune:
                self._next_prune = now + PRUNE_INTERVAL
            run_housekeeping(prune=prune)
        return result

    def execute_job(self, job: Any, queue: Any) -> Any:
        _close_stale_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            _close_stale_connections()
