"""Enumerations shared by models, payloads and the API."""

from __future__ import annotations

from django.db import models


class EventType(models.TextChoices):
    OBJECT_CREATED = "object_created", "Object created"
    OBJECT_UPDATED = "object_updated", "Object updated"
    OBJECT_DELETED = "object_deleted", "Object deleted"


# The rule's event type -> the ``event`` value in payloads (NetBox's mapping).
PUBLIC_EVENT_NAMES: dict[str, str] = {
    EventType.OBJECT_CREATED: "created",
    EventType.OBJECT_UPDATED: "updated",
    EventType.OBJECT_DELETED: "deleted",
}


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"
    PATCH = "PATCH", "PATCH"
    DELETE = "DELETE", "DELETE"


class ActionType(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYABLE = "retryable", "Failed, will retry"
    FAILED = "failed", "Failed"


SIGNATURE_HEADER = "X-Hook-Signature"
EVENT_ID_HEADER = "X-Hook-Event-Id"
TIMESTAMP_HEADER = "X-Hook-Timestamp"
ATTEMPT_HEADER = "X-Hook-Attempt"
# The new secret's signature, sent beside X-Hook-Signature during a rotation overlap.
SIGNATURE_NEXT_HEADER = "X-Hook-Signature-Next"
