"""Serializer fields that give the API NetBox's shape.

- ``ApiUrlField``: the object's API URL, relative when there is no request (webhook payloads),
  absolute when there is one (API responses).
- ``ValueLabelChoiceField``: reads ``{"value": ..., "label": ...}``, accepts the bare value.
- ``BriefRelatedField``: reads a related object as its brief representation, accepts an id
  (or, where allowed, an object naming one unique attribute such as ``{"slug": "lab"}``); with
  ``many=True``, a prefetched relation is read from the prefetch cache (``PrefetchedManyField``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, MultipleObjectsReturned, ObjectDoesNotExist
from django.core.signals import setting_changed
from django.db.models import Model
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS, PKOnlyObject

from webhooks_app.api import fields as webhooks_fields

M = TypeVar("M", bound=Model)


def route_basename(model: type[Model]) -> str:
    """The router basename (and URL name prefix) of a model's API endpoint."""
    return f"{model._meta.app_label}-{model._meta.model_name}"


# Stands for an integer primary key in a reversed URL, which is then reused for every object.
_PK_PLACEHOLDER = 918273645546372819


@lru_cache(maxsize=256)
def _detail_path_parts(name: str, urlconf: Any, script_prefix: str) -> tuple[str, str]:
    """What comes before and after an integer pk in the detail path (per URLconf and prefix,
    on which ``reverse`` depends)."""
    before, placeholder, after = reverse(name, kwargs={"pk": _PK_PLACEHOLDER}).partition(
        str(_PK_PLACEHOLDER)
    )
    assert placeholder, f"{name}: the pk is not in the reversed URL"
    return before, after


@receiver(setting_changed)
def _clear_paths(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _detail_path_parts.cache_clear()


def detail_path(model: type[Model], pk: Any) -> str:
    """``reverse(<basename>-detail, pk=pk)``, reversing once per model for integer pks."""
    name = f"{route_basename(model)}-detail"
    if type(pk) is not int:
        return reverse(name, kwargs={"pk": pk})
    before, after = _detail_path_parts(name, get_urlconf(), get_script_prefix())
    return f"{before}{pk}{after}"


class ApiUrlField(serializers.Field[Model, Any, str, Model]):
    """The object's detail URL; made absolute only when the context holds a request."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, value: Model) -> str:
        path = detail_path(type(value), value.pk)
        request = self.context.get("request")
        if request is None:
            return path
        return str(request.build_absolute_uri(path))


class ValueLabelChoiceField(serializers.Field[str, Any, dict[str, str] | None, Any]):
    """A choice read as ``{"value": v, "label": l}`` and written as the bare value ``v``."""

    default_error_messages = {
        "not_bare": 'Pass the value itself, such as "active"; not an object or a list.',
    }

    def __init__(
        self,
        *,
        choices: Iterable[tuple[str, str]],
        allow_blank: bool = False,
        **kwargs: Any,
    ) -> None:
        self.choices: dict[str, str] = {str(value): str(label) for value, label in choices}
        # The plain DRF field does the validation of the bare value and its error messages.
        self.bare_field = serializers.ChoiceField(
            choices=list(self.choices.items()), allow_blank=allow_blank
        )
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> dict[str, str] | None:
        if value in ("", None):
            return None
        return {"value": value, "label": self.choices.get(value, value)}

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, (Mapping, list)):
            self.fail("not_bare")
        return self.bare_field.to_internal_value(data)


@lru_cache(maxsize=256)
def _is_forward_many_to_many(model: type[Model], name: str) -> bool:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return bool(field.many_to_many) and not field.auto_created


class PrefetchedManyField(serializers.ManyRelatedField):
    """A many-to-many field that takes a prefetched relation from the object's prefetch cache.

    That is the queryset ``obj.<field>.all()`` would return, without building the related
    manager first (which costs more than reading the objects). Anything else (no prefetch, a
    dotted source, a reverse relation) is read as DRF reads it.
    """

    def get_attribute(self, instance: Any) -> Any:
        if (
            isinstance(instance, Model)
            and instance.pk is not None
            and len(self.source_attrs) == 1
            and _is_forward_many_to_many(type(instance), self.source)
        ):
            cache = instance.__dict__.get("_prefetched_objects_cache", {})
            if self.source in cache:
                return cache[self.source]
        return super().get_attribute(instance)


class BriefRelatedField(webhooks_fields.BriefRelatedField[M]):
    """A foreign key (or, with ``many=True``, a many-to-many item) in brief form.

    ``serializer`` is the brief serializer used to read the object. Writes accept the primary
    key, or an object with exactly one of ``lookups`` (``{"id": 3}``, ``{"slug": "lab"}``).
    A bare key is checked as by the webhooks API's field: an integer (or a string of digits) that
    can be an id, so that ``1.5`` or ``1e400`` is a 400 and not a match or an ``OverflowError``.
    """

    default_error_messages = {
        "bad_lookup": "Pass an id or an object with exactly one of: {lookups}.",
        "no_match": "No object matches {query}.",
        "many_match": "More than one object matches {query}.",
    }

    def __init__(
        self,
        *,
        serializer: type[serializers.Serializer[Any]],
        lookups: Sequence[str] = ("id",),
        **kwargs: Any,
    ) -> None:
        self.lookups = tuple(lookups)
        super().__init__(serializer=serializer, **kwargs)

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> PrefetchedManyField:
        """DRF's ``RelatedField.many_init``, making a ``PrefetchedManyField``."""
        list_kwargs = {key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS}
        return PrefetchedManyField(child_relation=cls(*args, **kwargs), **list_kwargs)

    @cached_property
    def brief_serializer(self) -> serializers.Serializer[Any]:
        """One brief serializer for all the objects this field reads (building one is slow)."""
        return self.serializer_class(context=self.context)

    def to_representation(self, value: M | PKOnlyObject) -> dict[str, Any]:
        data: dict[str, Any] = self.brief_serializer.to_representation(value)
        return data

    def to_internal_value(self, data: Any) -> M:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        if len(data) != 1 or next(iter(data)) not in self.lookups:
            self.fail("bad_lookup", lookups=", ".join(self.lookups))
        queryset = self.get_queryset()
        assert queryset is not None, "BriefRelatedField needs a queryset when writable"
        query = dict(data)
        try:
            return queryset.get(**query)
        # OverflowError: a number no column holds, such as {"id": 1e400}.
        except (ObjectDoesNotExist, ValueError, TypeError, OverflowError):
            self.fail("no_match", query=query)
        except MultipleObjectsReturned:
            self.fail("many_match", query=query)
