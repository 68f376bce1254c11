"""Inputs and outputs of ``webhooks/{id}/test/`` and ``webhooks/{id}/render/``."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import serializers

from webhooks_app.api.fields import (
    ObjectTypeField,
    attempt_outcome_field,
    delivery_state_field,
    event_type_field,
    find_object,
)
from webhooks_app.choices import EventType

__all__ = ["RenderedRequestSerializer", "SampleEventSerializer", "TestResultSerializer"]


class ModelLabelField(ObjectTypeField):
    """``"app_label.model"`` of a registered model, validated to the model class."""

    def to_internal_value(self, data: Any) -> Any:
        return self.to_model(data)


class SampleEventSerializer(serializers.Serializer[Any]):
    """The sample event: an object (``object_type`` and ``object_id``), or none for a
    synthetic object, and the event type."""

    object_type = ModelLabelField(
        required=False, help_text='The object\'s model, as "app_label.model". Optional.'
    )
    object_id = serializers.CharField(
        required=False, max_length=64, help_text="The object's id; needed with object_type."
    )
    event_type = event_type_field(default=EventType.OBJECT_CREATED)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        model: type[Model] | None = attrs.get("object_type")
        object_id = attrs.get("object_id")
        if model is None:
            if object_id:
                raise serializers.ValidationError({"object_type": "Give the object's type too."})
            attrs["instance"] = None
            return attrs
        if not object_id:
            raise serializers.ValidationError({"object_id": "Give the object's id too."})
        instance = find_object(model, object_id)
        if instance is None:
            label = f"{model._meta.app_label}.{model._meta.model_name}"
            raise serializers.ValidationError({"object_id": f"No {label} with id {object_id!r}."})
        attrs["instance"] = instance
        return attrs


class RenderedRequestSerializer(serializers.Serializer[Any]):
    """An HTTP request as it is (or would be) sent."""

    method = serializers.CharField()
    url = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(allow_blank=True, help_text="The body as text (UTF-8).")


class ReceivedResponseSerializer(serializers.Serializer[Any]):
    status = serializers.IntegerField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(allow_blank=True, help_text="The start of the body.")


class TestResultSerializer(serializers.Serializer[Any]):
    """What happened when the sample event was sent."""

    delivery_id = serializers.UUIDField(help_text="The test send's entry in the delivery log.")
    state = delivery_state_field()
    outcome = attempt_outcome_field()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.FloatField(allow_null=True)
    request = RenderedRequestSerializer(
        allow_null=True, help_text="Null when the request could not be rendered."
    )
    response = ReceivedResponseSerializer(
        allow_null=True, help_text="Null when no response came back."
    )
