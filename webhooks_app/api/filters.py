"""FilterSets of the webhooks API (django-filter).

A malformed value is a 400 naming the parameter, never a 500: values are checked by the filter's
form field before any query runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django_filters.fields import IsoDateTimeField, ModelMultipleChoiceField

from webhooks_app.api.fields import (
    MALFORMED_OBJECT_TYPE,
    registered_labels,
    unregistered_object_type,
)
from webhooks_app.choices import DeliveryState, EventType, HttpMethod
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.models.validators import MAX_ID

__all__ = ["DeliveryFilterSet", "EventRuleFilterSet", "WebhookFilterSet"]

_OBJECT_TYPE = RegexValidator(r"^[^.\s]+\.[^.\s]+$", MALFORMED_OBJECT_TYPE)


class ObjectTypeFormField(forms.CharField):
    default_validators = [_OBJECT_TYPE]


class RegisteredObjectTypeFormField(ObjectTypeFormField):
    """``"app_label.model"`` of a model registered for webhooks (any letter case)."""

    def run_validators(self, value: str) -> None:
        super().run_validators(value)  # well-formed first
        if value and value.lower() not in registered_labels():
            raise forms.ValidationError(unregistered_object_type(value), code="invalid_choice")


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no, on/off); any other value is an error, not "no filter"."""

    widget = forms.TextInput

    VALUES = {"true": True, "1": True, "yes": True, "on": True}
    VALUES |= {"false": False, "0": False, "no": False, "off": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Enter true or false.", code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):  # type: ignore[misc]  # django-filter is untyped
    field_class = StrictBooleanField


class ObjectTypeFilter(django_filters.CharFilter):  # type: ignore[misc]  # django-filter is untyped
    field_class = ObjectTypeFormField


class RegisteredObjectTypeFilter(ObjectTypeFilter):
    """A model registered for webhooks; its schema lists them (see ``schema``)."""

    field_class = RegisteredObjectTypeFormField


class UtcDateTimeField(IsoDateTimeField):  # type: ignore[misc]  # django-filter is untyped
    """An ISO 8601 date-time, converted to UTC before it reaches the database.

    Python accepts UTC offsets up to ±24 h but PostgreSQL only up to ±15:59, so
    ``2026-01-01T00:00:00+20:20`` is compared as ``2025-12-31T03:40:00Z`` on every database; a
    date-time that has no UTC equivalent (year 1 minus an offset) is invalid.
    """

    def to_python(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                "Enter a date/time within years 1 to 9999 in UTC.", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):  # type: ignore[misc]  # django-filter is untyped
    field_class = UtcDateTimeField


class IdsFormField(ModelMultipleChoiceField):  # type: ignore[misc]  # django-filter is untyped
    """Object ids; a value that cannot be an id is invalid before any query (SQLite cannot even
    compare with an integer beyond 64 bits)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            for pk in value:
                text = str(pk)
                if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super().clean(value)


class IdsFilter(django_filters.ModelMultipleChoiceFilter):  # type: ignore[misc]  # django-filter is untyped
    field_class = IdsFormField


def _search(queryset: QuerySet[Any], fields: tuple[str, ...], value: str) -> QuerySet[Any]:
    value = value.strip()
    if not value:
        return queryset
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": value})
    return queryset.filter(query)


class WebhookFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    q = django_filters.CharFilter(
        method="search", label="Search in name, description and payload URL (contains)."
    )
    name = django_filters.CharFilter()
    http_method = django_filters.MultipleChoiceFilter(choices=HttpMethod.choices)
    ssl_verification = StrictBooleanFilter()

    class Meta:
        model = Webhook
        fields = ["q", "name", "http_method", "ssl_verification"]

    def search(self, queryset: QuerySet[Webhook], name: str, value: str) -> QuerySet[Webhook]:
        return _search(queryset, ("name", "description", "payload_url"), value)


class EventRuleFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    q = django_filters.CharFilter(
        method="search", label="Search in name and description (contains)."
    )
    name = django_filters.CharFilter()
    enabled = StrictBooleanFilter()
    object_type = RegisteredObjectTypeFilter(
        method="filter_object_type",
        label='Rules for this model, as "app_label.model" (a model registered for webhooks).',
    )
    event_type = django_filters.MultipleChoiceFilter(
        choices=EventType.choices,
        method="filter_event_type",
        label="Rules having any of these event types.",
    )
    webhook = IdsFilter(queryset=Webhook.objects.all())

    class Meta:
        model = EventRule
        fields = ["q", "name", "enabled", "object_type", "event_type", "webhook"]

    def search(self, queryset: QuerySet[EventRule], name: str, value: str) -> QuerySet[EventRule]:
        return _search(queryset, ("name", "description"), value)

    def filter_object_type(
        self, queryset: QuerySet[EventRule], name: str, value: str
    ) -> QuerySet[EventRule]:
        app_label, _, model = value.lower().partition(".")
        return queryset.filter(
            object_types__app_label=app_label, object_types__model=model
        ).distinct()

    def filter_event_type(
        self, queryset: QuerySet[EventRule], name: str, value: list[str]
    ) -> QuerySet[EventRule]:
        # event_types is a JSON list. JSON containment does not exist on SQLite, but the quoted
        # value appears in the stored text on every database, and no event type is a substring
        # of another quoted one.
        if not value:
            return queryset
        query = Q()
        for event_type in value:
            query |= Q(event_types__icontains=f'"{event_type}"')
        return queryset.filter(query)


class DeliveryFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    """Filters of the delivery log. Each compares a column of the log itself, so no row can
    come twice: no ``DISTINCT`` (django-filter's default for multiple values), which would make
    PostgreSQL sort every matching row, payload included, before the first page (630 ms for
    ``?webhook=`` at a million rows)."""

    state = django_filters.MultipleChoiceFilter(choices=DeliveryState.choices, distinct=False)
    webhook = IdsFilter(queryset=Webhook.objects.all(), distinct=False)
    rule = IdsFilter(
        field_name="event_rule",
        queryset=EventRule.objects.all(),
        label="Event rule (id).",
        distinct=False,
    )
    object_type = ObjectTypeFilter()
    object_id = django_filters.CharFilter()
    event_id = django_filters.UUIDFilter()
    event_type = django_filters.MultipleChoiceFilter(choices=EventType.choices, distinct=False)
    created_after = UtcDateTimeFilter(field_name="created", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created", lookup_expr="lt")

    class Meta:
        model = Delivery
        fields = [
            "state",
            "webhook",
            "rule",
            "object_type",
            "object_id",
            "event_id",
            "event_type",
            "created_after",
            "created_before",
        ]
