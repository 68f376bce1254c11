"""The worker's housekeeping between jobs: relaying the outbox, pruning the delivery log, and
dropping a database connection that failed."""

from __future__ import annotations

import logging

from django.db import connection
from rq.exceptions import StopRequested

__all__ = ["close_broken_connection", "run_housekeeping"]

logger = logging.getLogger(__name__)


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
    from webhooks_app.delivery.log import prune_deliveries
    from webhooks_app.dispatch.enqueue import relay_outbox
    from webhooks_app.models import OutboxEntry

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
