"""Serializers of webhooks and event rules.

Validation delegates to the model: ``validate()`` applies the data to a copy of the object and
calls ``full_clean()``, so the API reports exactly the errors the admin does (template syntax
errors with their line, conditions, ...) as field errors.

The webhook's ``secret`` is write-only: it can be set, changed and cleared (``""``), and no
response ever contains it; ``secret_set`` says whether one is set. A PUT without ``secret`` keeps
the stored one, so reading a webhook and writing it back never clears it.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import serializers
from rest_framework.settings import api_settings

from webhooks_app.api.fields import (
    BriefRelatedField,
    JSONObjectField,
    ObjectTypesField,
    event_type_field,
)
from webhooks_app.models import EventRule, Webhook
from webhooks_app.models.validators import validate_json_object_or_null

__all__ = [
    "BriefConfigSerializer",
    "BriefEventRuleSerializer",
    "BriefWebhookSerializer",
    "EventRuleSerializer",
    "WebhookSerializer",
]

M = TypeVar("M", bound=Model)

BRIEF_FIELDS = ["id", "url", "display", "name", "description"]


def model_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model ``ValidationError`` as the serializer error DRF would give for the same fields."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.messages})
    errors = {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
        for field, messages in exc.message_dict.items()
    }
    return serializers.ValidationError(errors)


class ConfigSerializer(serializers.ModelSerializer[M]):
    """Adds ``display``; validates through the model's ``full_clean()``."""

    display = serializers.SerializerMethodField()

    def get_display(self, obj: M) -> str:
        return str(obj)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        model: type[M] = self.Meta.model
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        many_to_many = {field.name for field in model._meta.many_to_many}
        for name, value in attrs.items():
            if name not in many_to_many:
                setattr(candidate, name, value)
        try:
            candidate.full_clean()
        except DjangoValidationError as exc:
            raise model_errors(exc) from exc
        return attrs


class BriefConfigSerializer(ConfigSerializer[M]):
    """The brief form (``?brief=true``, and nested in other objects): read only."""


class BriefWebhookSerializer(BriefConfigSerializer[Webhook]):
    url = serializers.HyperlinkedIdentityField(view_name="webhooks_api:webhook-detail")

    class Meta:
        model = Webhook
        fields = BRIEF_FIELDS
        read_only_fields = BRIEF_FIELDS


class WebhookSerializer(ConfigSerializer[Webhook]):
    """A webhook: where and how to send the request for an event. ``secret`` is write-only;
    ``secret_set`` says whether one is set."""

    url = serializers.HyperlinkedIdentityField(view_name="webhooks_api:webhook-detail")
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=Webhook._meta.get_field("secret").max_length or 255,
        style={"input_type": "password"},
        help_text='Write-only. Set or change it, or clear it with "". Left out, it is unchanged.',
    )
    secret_set = serializers.SerializerMethodField(help_text="Whether a secret is set.")

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "display",
            "name",
            "description",
            "payload_url",
            "http_method",
            "http_content_type",
            "additional_headers",
            "body_template",
            "secret",
            "secret_set",
            "standard_webhooks",
            "ssl_verification",
            "ca_file_path",
            "created",
            "last_updated",
        ]

    def get_secret_set(self, obj: Webhook) -> bool:
        return obj.has_secret


class BriefEventRuleSerializer(BriefConfigSerializer[EventRule]):
    url = serializers.HyperlinkedIdentityField(view_name="webhooks_api:eventrule-detail")

    class Meta:
        model = EventRule
        fields = BRIEF_FIELDS
        read_only_fields = BRIEF_FIELDS


def _object_or_null_json(help_text: str) -> Any:
    return JSONObjectField(
        required=False,
        allow_null=True,
        validators=[validate_json_object_or_null],
        help_text=help_text,
    )


class EventRuleSerializer(ConfigSerializer[EventRule]):
    """An event rule: which changes (object types, event types, conditions) fire which webhook."""

    url = serializers.HyperlinkedIdentityField(view_name="webhooks_api:eventrule-detail")
    object_types = ObjectTypesField(
        help_text='The models whose changes trigger the rule, as "app_label.model".'
    )
    event_types = serializers.ListField(
        child=event_type_field(),
        allow_empty=False,
        help_text="The changes that trigger the rule.",
    )
    conditions = JSONObjectField(
        required=False,
        allow_null=True,
        help_text='Optional. For example {"attr": "status.value", "value": "active"}.',
    )
    webhook: BriefRelatedField[Webhook] = BriefRelatedField(
        serializer=BriefWebhookSerializer,
        queryset=Webhook.objects.all(),
        help_text="Written as the webhook's id; read as the brief webhook.",
    )
    action_data = _object_or_null_json(
        "A JSON object merged into the payload's data (object fields win), or null."
    )

    class Meta:
        model = EventRule
        fields = [
            "id",
            "url",
            "display",
            "name",
            "description",
            "enabled",
            "object_types",
            "event_types",
            "conditions",
            "action_type",
            "webhook",
            "action_data",
            "created",
            "last_updated",
        ]

    def validate_event_types(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def validate_conditions(self, value: Any) -> Any:
        # The model skips empty values ([], 0, "") as "no conditions"; only an object is one.
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Conditions must be a JSON object or null.")
        return value
