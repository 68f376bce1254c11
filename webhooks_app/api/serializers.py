"""Serializers of webhooks and event rules.

Validation delegates to the model: ``validate()`` applies the data to a copy of the object and
calls ``full_clean()``, so the API reports exactly the errors the admin does (template syntax
errors with their line, conditions, ...) as field errors.

The webhook's credentials are write-only: ``secret``, ``secret_headers`` and ``client_key`` can
be set, changed and cleared (``""``), and no response ever contains them (nor the previous
secret); ``secret_set``, ``secret_headers_set`` and ``client_key_set`` say whether one is set. A
PUT without them keeps the stored ones, so reading a webhook and writing it back never clears
them. ``generate_secret: true`` sets a new random secret, which the answer to that request (and
only it) holds in ``generated_secret``. ``end_secret_overlap: true`` forgets the previous
secret now (``previous_secret_expires_at`` says until when it is valid otherwise).
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
from webhooks_app.models.validators import validate_json_object_or_null, validate_not_a_token
from webhooks_app.signing import new_secret

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


def write_only_text(help_text: str, *, max_length: int | None = None, area: bool = False) -> Any:
    """A write-only credential: set or changed by a value, cleared by ``""``, kept when left
    out; never in a response. DRF's messages about it never quote the value."""
    options: dict[str, Any] = {} if max_length is None else {"max_length": max_length}
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"} if not area else {"base_template": "textarea.html"},
        help_text=help_text,
        validators=[validate_not_a_token],
        **options,
    )


class WebhookSerializer(ConfigSerializer[Webhook]):
    """A webhook: where and how to send the request for an event. Credentials (``secret``,
    ``secret_headers``, ``client_key``) are write-only; ``*_set`` says whether one is set."""

    url = serializers.HyperlinkedIdentityField(view_name="webhooks_api:webhook-detail")
    secret = write_only_text(
        'Write-only. Set or change it, or clear it with "". Left out, it is unchanged. A new '
        "secret does not end the old one at once: see previous_secret_expires_at.",
        max_length=Webhook._meta.get_field("secret").max_length or 255,
    )
    secret_set = serializers.SerializerMethodField(help_text="Whether a secret is set.")
    generate_secret = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Write-only. true: set a new random secret (whsec_ base64 when "
        "standard_webhooks is on), returned once in generated_secret. Not with secret.",
    )
    generated_secret = serializers.SerializerMethodField(
        help_text="The secret generated by this request's generate_secret, shown this once; "
        "null in every other answer."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Until then the previous secret (never shown) is still signed with: "
        "X-Hook-Signature with the previous secret, X-Hook-Signature-Next with the new one. "
        "Null when there is no previous secret.",
    )
    end_secret_overlap = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Write-only. true: forget the previous secret now (only the current secret "
        "signs from now on, also when this request changes the secret).",
    )
    secret_headers = write_only_text(
        "Write-only. Headers for credentials (Authorization, X-Api-Key...): Name: Value lines, "
        "a Jinja2 template like additional_headers; a name here replaces the same name there. "
        'Shown as [hidden] in the delivery log and previews. Clear with "".',
        area=True,
    )
    secret_headers_set = serializers.SerializerMethodField(
        help_text="Whether secret headers are set."
    )
    client_key = write_only_text(
        "Write-only. The PEM private key (unencrypted) of client_certificate, for receivers "
        'that require a client certificate. Clear with "" (with the certificate).',
        area=True,
    )
    client_key_set = serializers.SerializerMethodField(help_text="Whether a client key is set.")

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
            "secret_headers",
            "secret_headers_set",
            "body_template",
            "secret",
            "secret_set",
            "generate_secret",
            "generated_secret",
            "secret_overlap_hours",
            "previous_secret_expires_at",
            "end_secret_overlap",
            "standard_webhooks",
            "ssl_verification",
            "ca_file_path",
            "client_certificate",
            "client_key",
            "client_key_set",
            "created",
            "last_updated",
        ]

    def get_secret_set(self, obj: Webhook) -> bool:
        return obj.has_secret

    def get_secret_headers_set(self, obj: Webhook) -> bool:
        return obj.has_secret_headers

    def get_client_key_set(self, obj: Webhook) -> bool:
        return obj.has_client_key

    def get_generated_secret(self, obj: Webhook) -> str | None:
        generated: str | None = getattr(obj, "generated_secret", None)
        if generated is None:  # a bulk request's webhooks are read back: the view kept it
            kept: dict[int, str] = getattr(self.context.get("view"), "generated_secrets", {})
            generated = kept.get(obj.pk)
        return generated

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        generate = attrs.pop("generate_secret", False)
        end_overlap = attrs.pop("end_secret_overlap", False)
        if generate:
            if "secret" in attrs:
                raise serializers.ValidationError(
                    {"generate_secret": "Give a secret or generate one, not both."}
                )
            standard = attrs.get("standard_webhooks")
            if standard is None:
                standard = self.instance.standard_webhooks if self.instance else False
            attrs["secret"] = new_secret(standard=bool(standard))
        attrs = super().validate(attrs)
        if generate:
            attrs["generate_secret"] = attrs["secret"]
        if end_overlap:
            attrs["end_secret_overlap"] = True
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Webhook:
        generated = validated_data.pop("generate_secret", None)
        validated_data.pop("end_secret_overlap", None)  # nothing to end yet
        webhook = super().create(validated_data)
        if generated:
            webhook.generated_secret = generated
        return webhook

    def update(self, instance: Webhook, validated_data: dict[str, Any]) -> Webhook:
        generated = validated_data.pop("generate_secret", None)
        if validated_data.pop("end_secret_overlap", False):
            instance.end_secret_overlap()
        webhook = super().update(instance, validated_data)
        if generated:
            webhook.generated_secret = generated
        return webhook


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
