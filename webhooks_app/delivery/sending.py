"""Sending the deliveries of one job: ``send_all``.

Every delivery is rendered, signed, sent, classified and logged by
:func:`~webhooks_app.delivery.attempts.attempt_delivery`; several are in flight at once, on
threads of the job's own and the process's pooled keep-alive connections
(:mod:`.concurrency`). A receiver's ``Retry-After`` is in the delivery's ``retry_after`` when
it was read.
"""

from __future__ import annotations

from collections.abc import Sequence

from webhooks_app.delivery.attempts import attempt_delivery
from webhooks_app.delivery.concurrency import run_concurrently
from webhooks_app.delivery.log import AttemptResult
from webhooks_app.models import Webhook
from webhooks_app.specs import DeliverySpec

__all__ = ["send_all"]

Item = tuple[DeliverySpec, Webhook | None, int]


def _attempt(item: Item) -> AttemptResult:
    return attempt_delivery(*item)


def send_all(items: Sequence[Item]) -> list[AttemptResult]:
    """Make attempt ``number`` of each ``(delivery, webhook, number)`` (``webhook`` None: it no
    longer exists); the results in the order of ``items``. Never raises for what the network,
    a receiver or a template did."""
    return run_concurrently(
        items,
        _attempt,
        key=lambda item: item[0]["webhook_id"],
        took_ms=lambda result: result.duration_ms,
    )
