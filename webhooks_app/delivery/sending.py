"""Sending the deliveries of one job: ``send_all``.

Every delivery is rendered, signed, sent and classified (:func:`.attempts.attempt_delivery`);
several are in flight at once (:mod:`.concurrency`). A receiver's ``Retry-After`` is in the
delivery's ``retry_after`` when it was read.
"""

from __future__ import annotations

from webhooks_app.delivery.attempts import begin_attempt
from webhooks_app.delivery.concurrency import send_concurrently
from webhooks_app.delivery.log import AttemptResult
from webhooks_app.models import Webhook
from webhooks_app.specs import DeliverySpec

__all__ = ["send_all"]


def send_all(items: list[tuple[DeliverySpec, Webhook | None, int]]) -> list[AttemptResult]:
    """Make attempt ``number`` of each ``(delivery, webhook, number)`` (``webhook`` None: it no
    longer exists); the results in the order of ``items``. Never raises for what the network or
    a receiver did."""
    return send_concurrently(
        items,
        lambda item: begin_attempt(*item),
        answer_ms=lambda result: result.duration_ms,
        key=lambda item: item[0].get("webhook_id"),
    )
