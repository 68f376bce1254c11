"""Sending a recorded delivery again, and test sends: both through the real delivery path."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from webhooks_app.capture.events import Event
from webhooks_app.capture.serialization import model_label, serialize_for_event, to_json_data
from webhooks_app.capture.snapshots import capture_values, current_m2m, snapshot
from webhooks_app.choices import DeliveryState, EventType
from webhooks_app.delivery.attempts import attempt_delivery
from webhooks_app.delivery.log import AttemptResult, existing_attempt_counts, record_results
from webhooks_app.delivery.time_limited import build_with_time_limit
from webhooks_app.dispatch.enqueue import push_jobs
from webhooks_app.dispatch.payloads import build_context
from webhooks_app.models import Delivery, Webhook
from webhooks_app.specs import DeliverySpec, JobSpec

__all__ = ["redeliver", "redeliver_many", "sample_delivery", "send_test"]


def _spec_for(delivery: Delivery, webhook_id: int, payload: Any) -> JobSpec:
    data: DeliverySpec = {
        "delivery_id": str(delivery.pk),
        "event_id": str(delivery.event_id),
        "webhook_id": webhook_id,
        "webhook_name": delivery.webhook_name,
        "event_rule_id": delivery.event_rule_id,
        "event_type": delivery.event_type,
        "object_type": delivery.object_type,
        "object_id": delivery.object_id,
        "attempt": delivery.attempt_count + 1,
        "context": payload,
    }
    # A fresh job id per redelivery, so two quick clicks are two attempts, never one lost.
    return {"id": f"webhook-{delivery.pk}-redeliver-{uuid.uuid4().hex[:12]}", "deliveries": [data]}


def _payloads(rows: list[Delivery]) -> dict[Any, Any]:
    """The payload of each of these deliveries that still exists (not pruned meanwhile), by
    id, read in one query whatever was loaded with them."""
    fresh = (
        Delivery.objects.filter(pk__in=[d.pk for d in rows])
        .select_related("event_payload")
        .only("stored_payload", "event_payload")
        .order_by()
    )
    return {d.pk: d.payload for d in fresh}


def redeliver_many(deliveries: QuerySet[Delivery] | list[Delivery]) -> int:
    """Queue a new attempt of each delivery (same event id, same payload) in one pipeline.
    Raises ``redis.RedisError`` when Redis is unreachable; returns how many were queued.

    The payloads are read in one query (with the deliveries' existence)."""
    rows = list(deliveries)
    # A deleted webhook's id stays in the log (no constraint): only existing ones are queued.
    ids = {d.webhook_id for d in rows if d.webhook_id is not None}
    existing = set(Webhook.objects.filter(pk__in=ids).values_list("pk", flat=True))
    rows = [d for d in rows if d.webhook_id in existing]
    payloads = _payloads(rows)
    rows = [d for d in rows if d.pk in payloads]  # not pruned meanwhile
    if not rows:
        return 0
    push_jobs(
        [_spec_for(d, d.webhook_id, payloads[d.pk]) for d in rows if d.webhook_id is not None]
    )
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
        state=DeliveryState.PENDING, next_attempt_at=None, last_updated=timezone.now()
    )
    return len(rows)


def redeliver(delivery: Delivery) -> bool:
    """Queue a new attempt of one delivery; False if its webhook no longer exists."""
    return redeliver_many([delivery]) == 1


def _sample_event(
    instance: models.Model | None, event_type: str, username: str | None
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    if instance is None:
        data: dict[str, Any] = {
            "id": 0,
            "url": None,
            "display": "Sample object",
            "name": "Sample object",
        }
        snapshots: dict[str, Any] = {"prechange": None, "postchange": {"name": "Sample object"}}
        return "webhooks_app.sample", data, snapshots
    data = serialize_for_event(instance)
    current = to_json_data(
        snapshot(type(instance), capture_values(instance), current_m2m(instance))
    )
    snapshots = {
        "prechange": None if event_type == EventType.OBJECT_CREATED else current,
        "postchange": None if event_type == EventType.OBJECT_DELETED else current,
    }
    return model_label(instance), data, snapshots


def sample_delivery(
    webhook: Webhook,
    instance: models.Model | None = None,
    event_type: str = EventType.OBJECT_CREATED,
    username: str | None = None,
) -> DeliverySpec:
    """A delivery (as a job carries it) of a sample event for ``instance`` (or a synthetic one)."""
    object_type, data, snapshots = _sample_event(instance, event_type, username)
    event = Event(
        key="sample", instance=webhook, event_type=event_type, pre_values=None, username=username
    )
    context = build_context(event, data, snapshots)
    context["object_type"] = object_type
    return {
        "delivery_id": str(uuid.uuid4()),
        "event_id": event.event_id,
        "webhook_id": webhook.pk,
        "webhook_name": webhook.name,
        "event_rule_id": None,
        "event_type": event_type,
        "object_type": object_type,
        "object_id": str(instance.pk) if instance is not None else "",
        "attempt": 1,
        "context": context,
    }


def send_test(
    webhook: Webhook,
    instance: models.Model | None = None,
    event_type: str = EventType.OBJECT_CREATED,
    username: str | None = None,
) -> tuple[Delivery, AttemptResult]:
    """Send a sample event now, from this process, through the same rendering, transport and
    delivery log as the worker (no retries; rendered in a child process within
    ``WEBHOOKS_PREVIEW_TIME_LIMIT``); returns the logged delivery and the attempt."""
    delivery = sample_delivery(webhook, instance, event_type, username)
    result = attempt_delivery(delivery, webhook, 1, build=build_with_time_limit)
    delivery.pop("retry_after", None)
    record_results([result], existing_attempt_counts([delivery["delivery_id"]]))
    logged = Delivery.objects.filter(pk=delivery["delivery_id"]).first()
    if logged is None:  # WEBHOOKS_DELIVERY_LOG = "failures" and it succeeded
        logged = Delivery(
            pk=delivery["delivery_id"], webhook=webhook, state=DeliveryState.SUCCEEDED
        )
    return logged, result
