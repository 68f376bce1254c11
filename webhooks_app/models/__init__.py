"""The app's models: configuration (Webhook, EventRule), the delivery log (with the payloads
its deliveries share), the outbox and the version of the rules."""

from __future__ import annotations

from webhooks_app.models.delivery import Delivery, DeliveryAttempt
from webhooks_app.models.event_rule import EventRule
from webhooks_app.models.outbox import OutboxEntry
from webhooks_app.models.payload import EventPayload
from webhooks_app.models.rules_version import RulesVersion
from webhooks_app.models.webhook import Webhook

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "EventPayload",
    "EventRule",
    "OutboxEntry",
    "RulesVersion",
    "Webhook",
]
