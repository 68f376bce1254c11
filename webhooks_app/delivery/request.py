"""Building the exact request for a delivery: URL, headers and body from templates, signed.

Used by the worker, by test sends, and by the preview in the admin and the API, so what is
previewed is what is sent. The payload callbacks run here, in the calling process; the
templates are rendered by :func:`~webhooks_app.delivery.rendering.render_request` (in this
process for the worker, in a child process with a time limit for previews and test sends).
"""

from __future__ import annotations

from typing import Any

from webhooks_app.delivery.callbacks import run_callbacks
from webhooks_app.delivery.http import OutgoingRequest
from webhooks_app.delivery.rendering import RequestTemplate, render_request
from webhooks_app.models import Webhook

__all__ = ["build_request", "template_context"]


def template_context(context: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The payload context plus callback data (``context``) as the body will hold it."""
    request = context.get("request")
    extra = run_callbacks(
        context.get("object_type", ""), event_type, context.get("data", {}), request
    )
    if extra:
        return {**context, "context": extra}
    return context


def build_request(
    webhook: Webhook,
    context: dict[str, Any],
    *,
    event_id: str,
    event_type: str,
    attempt: int = 1,
    timestamp: int | None = None,
) -> OutgoingRequest:
    """Render and sign the request for ``context`` in this process. Raises only
    ``WebhookError`` (``TemplateRenderError``, ``HeaderError``, ``BodyTooLargeError``...)."""
    return render_request(
        RequestTemplate.of(webhook),
        template_context(context, event_type),
        event_id=event_id,
        attempt=attempt,
        timestamp=timestamp,
    )
