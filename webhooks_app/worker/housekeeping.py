"""The worker's housekeeping between jobs: relaying the outbox, pruning the delivery log, and
dropping a database connection that failed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connection
from rq.exceptions import StopRequested

from webhooks_app.conf import conf
from webhooks_app.delivery.retention import prune_deliveries
from webhooks_app.dispatch.enqueue import relay_outbox
from webhooks_app.models import OutboxEntry

__all__ = [
    "FIRST_PRUNE_AFTER",
    "PRUNE_INTERVAL",
    "Housekeeping",
    "close_broken_connection",
    "run_housekeeping",
]

logger = logging.getLogger(__name__)

# The delivery log is pruned hourly, the first time a minute after the worker started.
PRUNE_INTERVAL = 3600.0
FIRST_PRUNE_AFTER = 60.0


def close_broken_connection() -> None:
    """A long-lived worker keeps its database connection between jobs and drops it only when
    it failed (never inside an open transaction, which a test running the worker in-process has)."""
    if connection.in_atomic_block or connection.connection is None:
        return
    if connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


def run_housekeeping(*, prune: bool) -> None:
    """Relay the outbox and, if asked, prune old deliveries; failures are logged, never raised."""
    try:
        if OutboxEntry.objects.exists():
            relay_outbox()
        if prune:
            pruned = prune_deliveries()
            if pruned:
                logger.info("Pruned %d old deliveries", pruned)
    except StopRequested:
        raise  # a shutdown signal arrived meanwhile
    except Exception:
        logger.exception("Webhook housekeeping failed; will try again")
    finally:
        close_broken_connection()


class Housekeeping:
    """When a worker's housekeeping is due: the outbox relay every ``WEBHOOKS_RELAY_INTERVAL``
    seconds (the first time at once), the prune every :data:`PRUNE_INTERVAL` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.next_relay = clock()
        self.next_prune = clock() + FIRST_PRUNE_AFTER

    def run_if_due(self) -> None:
        now = self.clock()
        if now < self.next_relay:
            return
        self.next_relay = now + float(conf.WEBHOOKS_RELAY_INTERVAL)
        prune = now >= self.next_prune
        if prune:
            self.next_prune = now + PRUNE_INTERVAL
        run_housekeeping(prune=prune)
