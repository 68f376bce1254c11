"""Rendering a webhook's request without sending it: exactly what would be sent, rendered
within ``WEBHOOKS_PREVIEW_TIME_LIMIT`` (:mod:`.time_limited`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from webhooks_app.choices import EventType
from webhooks_app.delivery.http import OutgoingRequest
from webhooks_app.delivery.redelivery import sample_delivery
from webhooks_app.delivery.time_limited import render_with_time_limit
from webhooks_app.exceptions import WebhookError
from webhooks_app.models import Webhook

__all__ = ["Preview", "preview_request"]


@dataclass(frozen=True)
class Preview:
    request: OutgoingRequest | None
    error: str | None

    @property
    def headers(self) -> dict[str, str]:
        """The headers as they may be shown: secret headers' values as ``[hidden]``."""
        return self.request.shown_headers() if self.request else {}

    @property
    def body_text(self) -> str:
        return self.request.body.decode("utf-8", errors="replace") if self.request else ""


def preview_request(
    webhook: Webhook,
    instance: models.Model | None = None,
    event_type: str = EventType.OBJECT_CREATED,
    username: str | None = None,
) -> Preview:
    """Render URL, headers (signature included) and body for a sample event; whatever stops
    it (a template or header error, the body's size, the time limit) comes back as ``error``
    rather than raising."""
    delivery = sample_delivery(webhook, instance, event_type, username)
    try:
        request = render_with_time_limit(
            webhook, delivery["context"], event_id=delivery["event_id"], event_type=event_type
        )
    except WebhookError as exc:
        return Preview(request=None, error=str(exc))
    return Preview(request=request, error=None)
