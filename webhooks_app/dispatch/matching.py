"""From committed events to delivery jobs: match rules, build deliveries, group them into jobs.

Rules are read once per dispatch (from the process's cache while their version holds). A rule
matches an event when it is enabled for the object's type and the event's type, and its
conditions hold for the event's ``data`` and ``snapshots``. The deliveries of one dispatch, to
whichever webhooks, are grouped into jobs of up to ``WEBHOOKS_BATCH_SIZE``, in the order the
changes were made (the job sends them concurrently and handles each one's outcome apart).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models

from webhooks_app.capture.events import Event
from webhooks_app.capture.serialization import EventSerializer, event_serializer
from webhooks_app.conf import conf
from webhooks_app.dispatch.enqueue import enqueue_jobs
from webhooks_app.dispatch.payloads import (
    build_context,
    event_data,
    event_snapshots,
    prefetch_relations,
)
from webhooks_app.dispatch.rule_cache import enabled_rules
from webhooks_app.models import EventRule
from webhooks_app.specs import DeliverySpec, JobSpec, job_spec

__all__ = ["build_jobs", "deliveries_for", "dispatch_events", "matching_rules"]

logger = logging.getLogger(__name__)


def matching_rules(content_type_ids: Iterable[int]) -> dict[int, list[EventRule]]:
    """Enabled rules per content type id, by name, with their webhook (cached per process
    and checked against the rules' version: one primary-key lookup)."""
    rules = enabled_rules()
    return {ct: rules[ct] for ct in set(content_type_ids) if ct in rules}


def deliveries_for(
    event: Event, rules: list[EventRule], serializer: EventSerializer
) -> list[DeliverySpec]:
    """One delivery per rule of the object's type that matches the event."""
    rules = [rule for rule in rules if event.event_type in (rule.event_types or ())]
    if not rules:
        return []
    data = event_data(event, serializer)
    snapshots = event_snapshots(event)
    condition_data = {**data, "snapshots": snapshots}
    deliveries: list[DeliverySpec] = []
    for rule in rules:
        if not rule.eval_conditions(condition_data):
            continue
        payload_data = {**rule.action_data_dict(), **data}
        deliveries.append(
            {
                "delivery_id": str(uuid.uuid4()),
                "event_id": event.event_id,
                "webhook_id": rule.webhook_id,
                "webhook_name": rule.webhook.name,
                "event_rule_name": rule.name,
                "event_rule_id": rule.pk,
                "event_type": event.event_type,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "attempt": 1,
                "context": build_context(event, payload_data, snapshots),
            }
        )
    return deliveries


def build_jobs(events: list[Event]) -> list[JobSpec]:
    content_types = ContentType.objects.get_for_models(*{e.model for e in events})
    rules_by_ct = matching_rules(ct.pk for ct in content_types.values())
    if not rules_by_ct:
        return []
    prefetch_relations(events)
    deliveries: list[DeliverySpec] = []
    serializers: dict[type[models.Model], EventSerializer] = {}  # looked up once per model
    for event in events:
        rules = rules_by_ct.get(content_types[event.model].pk, [])
        if not rules:
            continue
        try:
            serializer = serializers.get(event.model)
            if serializer is None:
                serializer = serializers[event.model] = event_serializer(event.model)
            deliveries.extend(deliveries_for(event, rules, serializer))
        except Exception:
            logger.exception("Could not build the webhook payload for %s; event skipped", event.key)
    size = max(1, conf.WEBHOOKS_BATCH_SIZE)
    return [job_spec(deliveries[start : start + size]) for start in range(0, len(deliveries), size)]


def dispatch_events(events: list[Event]) -> None:
    """Turn committed events into queued jobs (the dispatcher capture hands events to). Never
    raises into the caller's request: a failure is logged, and Redis being down sends the jobs
    to the outbox (see :func:`~webhooks_app.dispatch.enqueue.enqueue_jobs`)."""
    try:
        jobs = build_jobs(events)
    except Exception:
        logger.exception("Webhook dispatch failed for %d event(s)", len(events))
        return
    if jobs:
        enqueue_jobs(jobs)
