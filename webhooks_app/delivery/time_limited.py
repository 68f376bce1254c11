"""Rendering for previews and test sends: in a child process, within a time limit.

``WEBHOOKS_PREVIEW_TIME_LIMIT`` (seconds, default :data:`DEFAULT_PREVIEW_TIME_LIMIT`) is the
time the templates of a preview or a test send may take to render; past it the render is
stopped and the preview or the test send fails with
:class:`~webhooks_app.exceptions.TimeLimitError` (see :mod:`.isolation` for why a process).
The payload callbacks run before, here in the calling process (they may use the database); a
test send's request is sent from here too, within ``WEBHOOKS_HTTP_TIMEOUT`` as every request.
"""

from __future__ import annotations

from typing import Any

from webhooks_app.conf import conf
from webhooks_app.delivery.http import OutgoingRequest
from webhooks_app.delivery.isolation import run_in_child
from webhooks_app.delivery.rendering import RequestTemplate, render_request
from webhooks_app.delivery.request import template_context
from webhooks_app.models import Webhook
from webhooks_app.specs import DeliverySpec

__all__ = [
    "DEFAULT_PREVIEW_TIME_LIMIT",
    "build_with_time_limit",
    "preview_time_limit",
    "render_with_time_limit",
]

DEFAULT_PREVIEW_TIME_LIMIT = 5.0


def preview_time_limit() -> float:
    """``WEBHOOKS_PREVIEW_TIME_LIMIT``: seconds a preview or a test send may take to render."""
    return conf.WEBHOOKS_PREVIEW_TIME_LIMIT


def render_with_time_limit(
    webhook: Webhook,
    context: dict[str, Any],
    *,
    event_id: str,
    event_type: str,
    attempt: int = 1,
) -> OutgoingRequest:
    """What :func:`~webhooks_app.delivery.request.build_request` returns, rendered in a child
    process stopped after ``WEBHOOKS_PREVIEW_TIME_LIMIT``. Raises only ``WebhookError``."""
    return run_in_child(
        render_request,
        RequestTemplate.of(webhook),
        template_context(context, event_type),
        event_id=event_id,
        attempt=attempt,
        limit=preview_time_limit(),
        what="Rendering",
    )


def build_with_time_limit(webhook: Webhook, delivery: DeliverySpec, number: int) -> OutgoingRequest:
    """A test send's :data:`~webhooks_app.delivery.attempts.Build`."""
    return render_with_time_limit(
        webhook,
        delivery["context"],
        event_id=delivery["event_id"],
        event_type=delivery["event_type"],
        attempt=number,
    )
