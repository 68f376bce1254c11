"""The ``data`` of an event: the object as its REST serializer shows it.

``WEBHOOKS_MODELS`` maps ``"app_label.model"`` to the dotted path of a DRF serializer, or None
for a plain serializer of all fields. Serializer instances are built once per model and active
timezone and reused, so their field set is not rebuilt for every object, and their datetime
fields do not look the timezone up for every value (DRF's ``DateTimeField`` asks for the current
timezone on each call, a context-local lookup that cost more than the rest of the field).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import tzinfo
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from webhooks_app.conf import conf

__all__ = [
    "EventSerializer",
    "event_serializer",
    "is_registered",
    "model_label",
    "registered_models",
    "represent",
    "serialize_for_event",
    "to_json_data",
]


EventSerializer = serializers.BaseSerializer[Any]


def model_label(model: type[models.Model] | models.Model) -> str:
    opts = model._meta
    return f"{opts.app_label}.{opts.model_name}"


@lru_cache(maxsize=1)
def _registered_labels() -> frozenset[str]:
    return frozenset(label.lower() for label in conf.WEBHOOKS_MODELS)


def is_registered(model: type[models.Model]) -> bool:
    return model_label(model) in _registered_labels()


def registered_models() -> list[type[models.Model]]:
    """The models named in ``WEBHOOKS_MODELS`` that exist, in setting order."""
    result = []
    for label in conf.WEBHOOKS_MODELS:
        try:
            result.append(apps.get_model(label))
        except (LookupError, ValueError):
            continue
    return result


def _plain_serializer(model: type[models.Model]) -> type[serializers.ModelSerializer[Any]]:
    meta = type("Meta", (), {"model": model, "fields": "__all__"})
    name = f"{model.__name__}WebhookSerializer"
    return type(name, (serializers.ModelSerializer,), {"Meta": meta})


def _serializer_class(label: str, model: type[models.Model]) -> Any:
    path = conf.WEBHOOKS_MODELS.get(label)
    if path is None:
        return _plain_serializer(model)
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"WEBHOOKS_MODELS[{label!r}]: cannot import serializer {path!r}: {exc}"
        ) from exc


def _datetime_fields(field: Any) -> Iterator[serializers.DateTimeField]:
    """The datetime fields of a serializer, its nested serializers and list fields."""
    if isinstance(field, serializers.DateTimeField):
        yield field
    elif isinstance(field, serializers.Serializer):
        for child in field.fields.values():
            yield from _datetime_fields(child)
    elif isinstance(field, (serializers.ListSerializer, serializers.ListField)):
        yield from _datetime_fields(field.child)


@lru_cache(maxsize=64)
def _serializer_for(label: str, tz: tzinfo | None) -> EventSerializer:
    """A serializer whose datetime fields convert to ``tz`` (the one that would be current)."""
    serializer = _serializer_class(label, apps.get_model(label))(context={"request": None})
    for field in _datetime_fields(serializer):
        if "timezone" not in vars(field):  # a field given its own timezone keeps it
            field.timezone = tz  # type: ignore[assignment]  # None: naive, as DRF reads it
    return serializer  # type: ignore[no-any-return]


def _current_timezone() -> tzinfo | None:
    """What DRF's ``DateTimeField.default_timezone`` would give now."""
    return timezone.get_current_timezone() if settings.USE_TZ else None


def event_serializer(model: type[models.Model]) -> EventSerializer:
    """The serializer of the model's event data for the timezone active now; get it once for
    many objects (a dispatch) and call its ``to_representation`` for each."""
    return _serializer_for(model_label(model), _current_timezone())


def represent(instance: models.Model) -> Any:
    """The object's REST representation (relative URLs, no request), not yet plain JSON data."""
    return event_serializer(type(instance)).to_representation(instance)


def serialize_for_event(instance: models.Model) -> dict[str, Any]:
    """The object's REST representation as plain JSON data (relative URLs, no request)."""
    data: dict[str, Any] = to_json_data(represent(instance))
    return data


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_json_data(value: Any) -> Any:
    """Plain JSON types only (Decimal, UUID, datetime... encoded as the REST API would): what
    ``json.loads(json.dumps(value, cls=JSONEncoder))`` gives.

    Values of plain types are taken as they are, dicts with text keys and lists rebuilt, text
    and numbers of subclasses reduced to their base value, and anything else (tuples, other
    types, other keys) goes through that JSON round trip itself:
    a representation is nearly all plain already, and the round trip of a whole one cost more
    than building it.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        for key in value:
            if type(key) is not str:
                return _round_trip(value)
        return {key: to_json_data(item) for key, item in value.items()}
    if kind is list:
        return [to_json_data(item) for item in value]
    # Subclasses (text choices, safe strings, int enums) are written as their base value.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return _round_trip(value)


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


@receiver(setting_changed)
def _clear_caches(*, setting: str, **kwargs: Any) -> None:
    if setting == "WEBHOOKS_MODELS":
        _registered_labels.cache_clear()
        _serializer_for.cache_clear()
