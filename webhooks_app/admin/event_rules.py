"""Admin for EventRule: registered object types, event types as checkboxes, JSON conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst

from webhooks_app.admin.forms import EventRuleForm
from webhooks_app.capture.serialization import model_label, registered_models
from webhooks_app.choices import EventType
from webhooks_app.models import EventRule

if TYPE_CHECKING:
    EventRuleAdminBase = admin.ModelAdmin[EventRule]
else:
    EventRuleAdminBase = admin.ModelAdmin


class EventTypeListFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in EventType.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[EventRule]) -> QuerySet[EventRule]:
        value = self.value()
        if value not in EventType.values:
            return queryset
        # The JSON text holds each type as a quoted string; this works on every database.
        return queryset.filter(event_types__icontains=f'"{value}"')


class ObjectTypeListFilter(admin.SimpleListFilter):
    """Rules for one of the models registered for webhooks (``WEBHOOKS_MODELS``): the choices
    of the form's object types, not every content type of the project."""

    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [
            (model_label(model), f"{capfirst(model._meta.verbose_name)} ({model_label(model)})")
            for model in registered_models()
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[EventRule]) -> QuerySet[EventRule]:
        model = next((m for m in registered_models() if model_label(m) == self.value()), None)
        if model is None:
            return queryset
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        return queryset.filter(object_types=content_type)


@admin.register(EventRule)
class EventRuleAdmin(EventRuleAdminBase):
    form = EventRuleForm
    list_display = ["name", "enabled", "webhook", "object_type_list", "event_type_list"]
    list_filter = ["enabled", "webhook", EventTypeListFilter, ObjectTypeListFilter]
    list_select_related = ["webhook"]
    search_fields = ["name", "description", "webhook__name"]
    readonly_fields = ["created", "last_updated"]
    fieldsets = [
        ("Event rule", {"fields": ["name", "description", "enabled", "object_types"]}),
        ("Triggers", {"fields": ["event_types", "conditions"]}),
        ("Action", {"fields": ["webhook", "action_data"]}),
        ("History", {"fields": ["created", "last_updated"], "classes": ["collapse"]}),
    ]

    class Media:
        css = {"all": ["webhooks_app/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[EventRule]:
        return super().get_queryset(request).prefetch_related("object_types")

    @admin.display(description="Object types")
    def object_type_list(self, obj: EventRule) -> str:
        labels = []
        for content_type in obj.object_types.all():
            model = content_type.model_class()
            labels.append(
                model_label(model) if model else f"{content_type.app_label}.{content_type.model}"
            )
        return ", ".join(sorted(labels))

    @admin.display(description="Event types")
    def event_type_list(self, obj: EventRule) -> str:
        names = dict(EventType.choices)
        return ", ".join(str(names.get(value, value)) for value in obj.event_types or [])
