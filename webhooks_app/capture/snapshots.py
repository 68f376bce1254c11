"""Before/after snapshots in NetBox's format.

A snapshot holds the model's fields by name (no primary key, no ``last_updated``), foreign keys
as raw ids, many-to-many relations as lists of ids, ``tags`` as sorted tag names, and values as
Django's JSON encoder writes them (datetimes at millisecond precision with ``Z``). A snapshot is
plain JSON data already: lists and dicts in it (JSON fields, relations) are made plain as the
event data is (:func:`webhooks_app.capture.serialization.to_json_data`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from webhooks_app.capture.serialization import to_json_data

__all__ = [
    "LOADED_VALUES",
    "capture_values",
    "current_m2m",
    "m2m_field_names",
    "m2m_fields",
    "m2m_values",
    "snapshot",
]

EXCLUDED_FIELDS = frozenset({"last_updated"})
# Where an instance keeps its field values as loaded (set by the ``post_init`` receiver).
LOADED_VALUES = "_webhooks_loaded"
_encoder = DjangoJSONEncoder()


@cache
def _snapshot_names(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    """(name, attname) of the fields a snapshot holds; fixed once the models are loaded."""
    fields = model._meta.concrete_fields
    return tuple(
        (f.name, f.attname) for f in fields if not f.primary_key and f.name not in EXCLUDED_FIELDS
    )


def m2m_fields(model: type[models.Model]) -> list[models.ManyToManyField[Any, Any]]:
    return list(model._meta.many_to_many)


def capture_values(instance: models.Model) -> dict[str, Any]:
    """The instance's concrete field values by attname, as loaded (deferred fields are absent)."""
    state = instance.__dict__
    values: dict[str, Any] = {}
    for f in instance._meta.concrete_fields:
        if f.attname in state:
            values[f.attname] = state[f.attname]
    return values


def m2m_values(instance: models.Model, field: models.ManyToManyField[Any, Any]) -> list[Any]:
    """A many-to-many relation as a snapshot holds it: sorted tag names or related ids (from
    the prefetched rows when the relation was prefetched, without a query)."""
    related = getattr(instance, field.name).all()
    if field.name == "tags":
        return sorted(str(getattr(obj, "name", obj)) for obj in related)
    return [obj.pk for obj in related]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    if not isinstance(value, (str, int, float, bool, list, dict)):
        value = _encoder.default(value)
    return to_json_data(value)


def snapshot(
    model: type[models.Model],
    values: Mapping[str, Any],
    m2m: Mapping[str, Iterable[Any]],
) -> dict[str, Any]:
    """Build a snapshot from raw field values (by attname) and m2m values (by field name)."""
    result: dict[str, Any] = {}
    for name, attname in _snapshot_names(model):
        value = values.get(attname)
        result[name] = value if type(value) in _SCALARS else _encode(value)
    for m2m_field in m2m_fields(model):
        result[m2m_field.name] = to_json_data(list(m2m.get(m2m_field.name, ())))
    return result


def current_m2m(instance: models.Model) -> dict[str, list[Any]]:
    return {f.name: m2m_values(instance, f) for f in m2m_fields(type(instance))}


def m2m_field_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in m2m_fields(model)]
