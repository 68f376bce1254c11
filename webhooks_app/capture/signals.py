"""Model signal receivers: glue from Django's signals to recorded events.

Only models named in ``WEBHOOKS_MODELS`` are looked at. ``post_init`` remembers the stored
values of loaded objects, so an update's prechange is right even when the instance was changed
in memory before ``save()``; ``pre_delete`` serializes the object while its row still exists.
Events are recorded with :func:`webhooks_app.capture.context.record_event`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import (
    m2m_changed,
    post_init,
    post_save,
    pre_delete,
    pre_save,
)
from django.dispatch import receiver

from webhooks_app.capture.context import pending_event, record_event
from webhooks_app.capture.events import Event, object_key
from webhooks_app.capture.serialization import is_registered, serialize_for_event
from webhooks_app.capture.snapshots import LOADED_VALUES, capture_values, current_m2m, m2m_values
from webhooks_app.choices import EventType

# Kept in the instance's __dict__ between the signals of one change (our own names).
PRE = "_webhooks_pre"
PRE_M2M = "_webhooks_pre_m2m"


def _stored_values(instance: models.Model, using: str) -> dict[str, Any] | None:
    """The row as stored now, or None if there is none."""
    model = type(instance)
    attnames = [f.attname for f in model._meta.concrete_fields]
    return model._base_manager.using(using).filter(pk=instance.pk).values(*attnames).first()


@receiver(post_init)
def remember_loaded_values(
    sender: type[models.Model], instance: models.Model, **kwargs: Any
) -> None:
    if is_registered(sender):
        instance.__dict__[LOADED_VALUES] = capture_values(instance)


@receiver(pre_save)
def capture_prechange(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    if raw or not is_registered(sender) or instance.pk is None:
        return
    if instance._state.adding:
        # An instance built in memory with a primary key: ask the database what it replaces.
        instance.__dict__[PRE] = _stored_values(instance, using)
        return
    loaded: dict[str, Any] | None = instance.__dict__.get(LOADED_VALUES)
    if loaded is None or len(loaded) < len(sender._meta.concrete_fields):
        stored = _stored_values(instance, using)
        loaded = {**(stored or {}), **(loaded or {})} if stored else loaded
    instance.__dict__[PRE] = loaded


@receiver(post_save)
def record_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    if raw or not is_registered(sender):
        return
    pre_values = None if created else instance.__dict__.pop(PRE, None)
    event_type = (
        EventType.OBJECT_CREATED if created or pre_values is None else EventType.OBJECT_UPDATED
    )
    # save() writes no many-to-many rows, so a created object starts with none.
    event = Event(
        object_key(instance), instance, event_type, pre_values, m2m_empty=created, writes_m2m=False
    )
    record_event(event, using)
    instance.__dict__[LOADED_VALUES] = capture_values(instance)


def _m2m_field(
    model: type[models.Model], through: type[models.Model]
) -> models.ManyToManyField[Any, Any] | None:
    for field in model._meta.many_to_many:
        if field.remote_field.through is through:
            return field
    return None


def _record_m2m_change(
    instance: models.Model,
    field: models.ManyToManyField[Any, Any],
    action: str,
    changed: bool,
    using: str,
) -> None:
    pre_m2m: dict[str, list[Any]] = instance.__dict__.setdefault(PRE_M2M, {})
    if action.startswith("pre_"):
        if field.name in pre_m2m:
            return
        pending = pending_event(instance, using)
        if pending is not None and (pending.pre_values is None or field.name in pending.pre_m2m):
            return  # created in this transaction (no prechange), or already captured
        pre_m2m[field.name] = m2m_values(instance, field)
        return
    if not changed:
        return
    captured = {field.name: pre_m2m.pop(field.name)} if field.name in pre_m2m else {}
    pre_values = instance.__dict__.get(LOADED_VALUES) or capture_values(instance)
    event = Event(
        object_key(instance), instance, EventType.OBJECT_UPDATED, dict(pre_values), captured
    )
    record_event(event, using)


@receiver(m2m_changed)
def record_m2m_change(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[Any] | None,
    using: str = "default",
    **kwargs: Any,
) -> None:
    if not reverse:
        field = _m2m_field(type(instance), sender) if is_registered(type(instance)) else None
        if field is None:
            return
        if action == "post_clear":
            changed = bool(instance.__dict__.get(PRE_M2M, {}).get(field.name))
        else:
            changed = bool(pk_set)
        _record_m2m_change(instance, field, action, changed, using)
        return
    # Reverse side (tag.site_set.add(site)): the objects of ``model`` changed.
    if not is_registered(model):
        return
    field = _m2m_field(model, sender)
    if field is None:
        return
    if action == "pre_clear":
        pk_set = set(
            model._base_manager.using(using)
            .filter(**{field.name: instance})
            .values_list("pk", flat=True)
        )
        instance.__dict__.setdefault(PRE_M2M + "_reverse", {})[field.name] = pk_set
    elif action == "post_clear":
        pk_set = instance.__dict__.get(PRE_M2M + "_reverse", {}).pop(field.name, set())
    if not pk_set or action not in {
        "pre_add",
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    }:
        return
    objects = getattr(instance, "_webhooks_reverse_objects", {})
    if action.startswith("pre_"):
        objects = model._base_manager.using(using).in_bulk(list(pk_set))
        instance.__dict__["_webhooks_reverse_objects"] = objects
    for obj in objects.values():
        _record_m2m_change(obj, field, action, True, using)
    if action.startswith("post_"):
        instance.__dict__.pop("_webhooks_reverse_objects", None)


@receiver(pre_delete)
def record_delete(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    if not is_registered(sender):
        return
    loaded = instance.__dict__.get(LOADED_VALUES)
    pre_values = loaded if loaded and not instance._state.adding else capture_values(instance)
    event = Event(
        object_key(instance),
        instance,
        EventType.OBJECT_DELETED,
        dict(pre_values),
        pre_m2m=current_m2m(instance),
        data=serialize_for_event(instance),
    )
    record_event(event, using)
