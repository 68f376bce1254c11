"""Serializer fields of the webhooks API.

- ``ObjectTypeField`` / ``ObjectTypesField``: a content type written and read as
  ``"app_label.model"``, limited to the models in ``WEBHOOKS_MODELS``.
- ``BriefRelatedField``: a foreign key written as an id and read as the target's brief form.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import serializers
from rest_framework.relations import PKOnlyObject

from webhooks_app.capture.serialization import model_label, registered_models
from webhooks_app.choices import AttemptOutcome, DeliveryState, EventType
from webhooks_app.models.validators import MAX_ID, validate_storable_json

__all__ = [
    "BriefRelatedField",
    "JSONObjectField",
    "NamedChoiceField",
    "attempt_outcome_field",
    "delivery_state_field",
    "event_type_field",
    "ObjectTypeField",
    "ObjectTypesField",
    "find_object",
    "registered_labels",
    "unregistered_object_type",
]

M = TypeVar("M", bound=Model)

MALFORMED_OBJECT_TYPE = "Specify an object type as '<app_label>.<model>'."
UNREGISTERED_OBJECT_TYPE = (
    "'{value}' is not a model registered for webhooks (WEBHOOKS_MODELS); choose one of: {choices}."
)


def registered_labels() -> list[str]:
    """``"app_label.model"`` of every model that can emit events, in setting order."""
    return [model_label(model) for model in registered_models()]


def unregistered_object_type(value: str) -> str:
    """Why ``value`` is refused as an object type (it names no registered model)."""
    return UNREGISTERED_OBJECT_TYPE.format(value=value, choices=", ".join(registered_labels()))


def _registered_model(label: str) -> type[Model] | None:
    return next((m for m in registered_models() if model_label(m) == label), None)


class ObjectTypeField(serializers.Field[ContentType, str, str, Any]):
    """A content type as ``"app_label.model"``; only models registered for webhooks."""

    default_error_messages = {
        "malformed": MALFORMED_OBJECT_TYPE,
        "invalid": UNREGISTERED_OBJECT_TYPE,
    }

    def to_representation(self, value: ContentType) -> str:
        return f"{value.app_label}.{value.model}"

    def to_internal_value(self, data: Any) -> ContentType:
        return ContentType.objects.get_for_model(self.to_model(data))

    def to_model(self, data: Any) -> type[Model]:
        if not isinstance(data, str):
            self.fail("malformed")
        app_label, dot, model_name = data.partition(".")
        if not dot or not app_label or not model_name or "." in model_name:
            self.fail("malformed")
        model = _registered_model(data.lower())
        if model is None:
            self.fail("invalid", value=data, choices=", ".join(registered_labels()))
        return model


class ObjectTypesField(serializers.ListField):
    """The ``object_types`` many-to-many relation as a non-empty list of ``"app_label.model"``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", ObjectTypeField())
        kwargs.setdefault("allow_empty", False)
        super().__init__(**kwargs)
        self.error_messages["empty"] = "Select at least one object type."

    def get_attribute(self, instance: Any) -> list[ContentType]:
        return list(getattr(instance, str(self.source)).all())

    def to_internal_value(self, data: Any) -> list[ContentType]:
        values: list[ContentType] = super().to_internal_value(data)
        return list(dict.fromkeys(values))  # each type once, in the order given


class JSONObjectField(serializers.JSONField):
    """Written as a JSON object (or null, with ``allow_null``), as the schema says; validate the
    type with a validator, so that the error message is the model's. Read as stored.

    Only JSON that every database stores is accepted (``validate_storable_json``, as in the
    admin), checked first: DRF's own check answers "Value must be valid JSON." for ``1e400``.
    """

    def to_internal_value(self, data: Any) -> Any:
        try:
            validate_storable_json(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return super().to_internal_value(data)  # type: ignore[arg-type, unused-ignore]


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose choices are one named enum in the OpenAPI schema (``component``),
    wherever the field appears."""

    def __init__(self, *, component: str, **kwargs: Any) -> None:
        self.component = component
        super().__init__(**kwargs)


def event_type_field(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(component="EventType", choices=EventType.choices, **kwargs)


def delivery_state_field(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(component="DeliveryState", choices=DeliveryState.choices, **kwargs)


def attempt_outcome_field(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(component="AttemptOutcome", choices=AttemptOutcome.choices, **kwargs)


class BriefRelatedField(serializers.PrimaryKeyRelatedField[M]):
    """A foreign key written as the target's id and read as its brief representation."""

    def __init__(self, *, serializer: type[serializers.Serializer[Any]], **kwargs: Any) -> None:
        self.serializer_class = serializer
        super().__init__(**kwargs)

    def use_pk_only_optimization(self) -> bool:
        return False

    def to_representation(self, value: M | PKOnlyObject) -> dict[str, Any]:
        data: dict[str, Any] = self.serializer_class(value, context=self.context).data
        return data

    def to_internal_value(self, data: Any) -> M:
        # DRF would let 1.5 match id 1, and raise OverflowError (a 500) for 1e400.
        if isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)  # type: ignore[arg-type, unused-ignore]


def find_object(model: type[Model], object_id: Any) -> Model | None:
    """The object of ``model`` with primary key ``object_id``, or None if there is none (or the
    id cannot be one of that model's keys)."""
    try:
        return model._default_manager.filter(pk=object_id).first()
    except (ValueError, TypeError, OverflowError, DjangoValidationError):
        return None
