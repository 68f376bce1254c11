"""The app's models: configuration (Webhook, EventRule), the delivery log and the outbox."""

from __future__ import annotations

from .delivery import Delivery, DeliveryAttempt
from .event_rule import EventRule
from .outbox import OutboxEntry
from .webhook import Webhook

__all__ = ["Delivery", "DeliveryAttempt", "EventRule", "OutboxEntry", "Webhook"]
