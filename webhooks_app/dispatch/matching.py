"""From committed events to delivery jobs: match rules, build payloads, group into jobs.

Rules are read once per dispatch (from the process's cache while their version holds). Each event is serialized once, however many rules match;
conditions see the event's ``data`` and ``snapshots``. The deliveries of one dispatch, to
whichever webhooks, are grouped into jobs of up to ``WEBHOOKS_BATCH_SIZE``, in the order the
changes were made (the job sends them concurrently and handles each one's outcome apart).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import prefetch_related_objects

from webhooks_app.capture.events import Event
from webhooks_app.capture.serialization import EventSerializer, event_serializer, to_json_data
from webhooks_app.capture.snapshots import (
    capture_values,
    current_m2m,
    m2m_field_names,
    m2m_fields,
    snapshot,
)
from webhooks_app.choices import PUBLIC_EVENT_NAMES
from webhooks_app.conf import conf
from webhooks_app.dispatch.enqueue import JobSpec, enqueue_jobs, job_spec
from webhooks_app.dispatch.rule_cache import enabled_rules
from webhooks_app.models import EventRule

__all__ = ["build_context", "dispatch_events", "matching_rules"]

logger = logging.getLogger(__name__)


def matching_rules(content_type_ids: Iterable[int]) -> dict[int, list[EventRule]]:
    """Enabled rules per content type id, by name, with their webhook (cached per process
    and checked against the rules' version: one primary-key lookup)."""
    rules = enabled_rules()
    return {ct: rules[ct] for ct in set(content_type_ids) if ct in rules}


def _snapshots(event: Event) -> dict[str, Any]:
    model = event.model
    if event.is_delete:
        post_m2m: dict[str, list[Any]] = {}
        postchange = None
    else:
        post_m2m = current_m2m(event.instance)
        postchange = snapshot(model, capture_values(event.instance), post_m2m)
    if event.pre_values is None:
        prechange = None
    else:
        prechange = snapshot(model, event.pre_values, {**post_m2m, **event.pre_m2m})
    return {"prechange": prechange, "postchange": postchange}


def build_context(
    event: Event, data: dict[str, Any], snapshots: dict[str, Any] | None
) -> dict[str, Any]:
    """The payload context, keys in NetBox 4.6's order."""
    context: dict[str, Any] = {
        "event": PUBLIC_EVENT_NAMES.get(event.event_type, event.event_type),
        "timestamp": event.timestamp.isoformat(),
        "object_type": event.object_type,
        "username": event.username,
        "request_id": event.request_id,
        "data": data,
    }
    if event.request is not None:
        context["request"] = event.request.as_dict()
    if snapshots is not None:
        context["snapshots"] = snapshots
    return context


def _prefetch(events: list[Event]) -> None:
    """Load the many-to-many relations of all live objects in one query per model and relation;
    objects whose relations are known to be empty get empty caches instead of a query."""
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for event in events:
        if event.is_delete:
            continue
        if event.m2m_empty:
            _cache_empty_m2m(event.instance)
        else:
            by_model[event.model].append(event.instance)
    for model, instances in by_model.items():
        names = m2m_field_names(model)
        if names:
            prefetch_related_objects(instances, *names)


def _cache_empty_m2m(instance: models.Model) -> None:
    """What ``prefetch_related_objects`` would leave for relations without rows."""
    cache: dict[str, Any] = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for field in m2m_fields(type(instance)):
        if field.name not in cache:
            related = field.related_model
            assert not isinstance(related, str)  # resolved once the app registry is ready
            empty = related._base_manager.none()
            empty._result_cache = []
            cache[field.name] = empty


def _deliveries_for(
    event: Event, rules: list[EventRule], serializer: EventSerializer
) -> list[dict[str, Any]]:
    rules = [rule for rule in rules if event.event_type in (rule.event_types or ())]
    if not rules:
        return []
    if event.data is None:
        data = to_json_data(serializer.to_representation(event.instance))
    else:
        data = event.data
    snapshots = _snapshots(event)  # plain JSON data already
    condition_data = {**data, "snapshots": snapshots}
    deliveries = []
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
    _prefetch(events)
    deliveries: list[dict[str, Any]] = []
    serializers: dict[type[models.Model], EventSerializer] = {}  # looked up once per model
    for event in events:
        rules = rules_by_ct.get(content_types[event.model].pk, [])
        if not rules:
            continue
        try:
            serializer = serializers.get(event.model)
            if serializer is None:
                serializer = serializers[event.model] = event_serializer(event.model)
            deliveries.extend(_deliveries_for(event, rules, serializer))
        except Exception:
            logger.exception("Could not build the webhook payload for %s; event skipped", event.key)
    size = max(1, conf.WEBHOOKS_BATCH_SIZE)
    return [job_spec(deliveries[start : start + size]) for start in range(0, len(deliveries), size)]


def dispatch_events(
    events: list[Event], unconfirmed: list[Callable[[], None]] | None = None
) -> None:
    """Turn committed events into queued jobs. Never raises into the caller's request. With an
    ``unconfirmed`` list, Redis's answer is read later (see :func:`~.queueing.enqueue_jobs`)."""
    try:
        jobs = build_jobs(events)
    except Exception:
        logger.exception("Webhook dispatch failed for %d event(s)", len(events))
        return
    if jobs:
        enqueue_jobs(jobs, unconfirmed)
