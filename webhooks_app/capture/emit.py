"""Events for writes that bypass model signals (``QuerySet.update()``, ``bulk_create()``,
``bulk_update()``, raw SQL): the caller names the objects and what happened to them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, models

from webhooks_app.capture.context import record_event
from webhooks_app.capture.events import Event, object_key
from webhooks_app.capture.serialization import serialize_for_event
from webhooks_app.capture.snapshots import LOADED_VALUES, capture_values, current_m2m
from webhooks_app.choices import EventType

__all__ = ["emit_events"]


def emit_events(
    objects: Iterable[models.Model], event_type: str, *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Record events for writes that bypass model signals.

    - ``object_created``: pass the created objects (with their primary keys) after the write.
    - ``object_updated``: pass the objects as loaded *before* the write; their stored state is
      the prechange, and the current rows are read back (one query) for the postchange.
    - ``object_deleted``: pass the objects *before* deleting them, while their rows exist.

    Events follow the same rules as signal-driven ones: released on commit, coalesced per object.
    """
    items = [obj for obj in objects if obj.pk is not None]
    if event_type == EventType.OBJECT_UPDATED and items:
        model = type(items[0])
        fresh = model._base_manager.using(using).in_bulk([obj.pk for obj in items])
        for obj in items:
            pre_values = obj.__dict__.get(LOADED_VALUES) or capture_values(obj)
            current = fresh.get(obj.pk)
            if current is not None:
                record_event(Event(object_key(obj), current, event_type, dict(pre_values)), using)
        return
    for obj in items:
        if event_type == EventType.OBJECT_DELETED:
            event = Event(
                object_key(obj),
                obj,
                event_type,
                capture_values(obj),
                current_m2m(obj),
                data=serialize_for_event(obj),
            )
        else:
            event = Event(object_key(obj), obj, event_type, None)
        record_event(event, using)
