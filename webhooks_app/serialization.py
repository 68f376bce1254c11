"""The ``data`` of an event: the object as its REST serializer shows it.

``WEBHOOKS_MODELS`` maps ``"app_label.model"`` to the dotted path of a DRF serializer, or None
for a plain serializer of all fields. Serializer instances are built once per model and reused,
so their field set is not rebuilt for every object.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from .conf import conf

__all__ = [
    "is_registered",
    "model_label",
    "registered_models",
    "represent",
    "serialize_for_event",
    "to_json_data",
]


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


@lru_cache(maxsize=64)
def _serializer_for(label: str) -> serializers.BaseSerializer[Any]:
    path = conf.WEBHOOKS_MODELS.get(label)
    model = apps.get_model(label)
    if path is None:
        serializer_class: Any = _plain_serializer(model)
    else:
        try:
            serializer_class = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"WEBHOOKS_MODELS[{label!r}]: cannot import serializer {path!r}: {exc}"
            ) from exc
    return serializer_class(context={"request": None})  # type: ignore[no-any-return]


def represent(instance: models.Model) -> Any:
    """The object's REST representation (relative URLs, no request), not yet plain JSON data."""
    return _serializer_for(model_label(instance)).to_representation(instance)


def serialize_for_event(instance: models.Model) -> dict[str, Any]:
    """The object's REST representation as plain JSON data (relative URLs, no request)."""
    data: dict[str, Any] = to_json_data(represent(instance))
    return data


def to_json_data(value: Any) -> Any:
    """Plain JSON types only (Decimal, UUID, datetime... encoded as the REST API would)."""
    return json.loads(json.dumps(value, cls=JSONEncoder))


@receiver(setting_changed)
def _clear_caches(*, setting: str, **kwargs: Any) -> None:
    if setting == "WEBHOOKS_MODELS":
        _registered_labels.cache_clear()
        _serializer_for.cache_clear()
