"""The app's models: configuration (Webhook, EventRule), the delivery log, the outbox
and the version of the rules."""

from __future__ import annotations

from .delivery import Delivery, DeliveryAttempt
from .event_rule import EventRule
from .outbox import OutboxEntry
from .rules_version import RulesVersion
from .webhook import Webhook

__all__ = ["Delivery", "DeliveryAttempt", "EventRule", "OutboxEntry", "RulesVersion", "Webhook"]
