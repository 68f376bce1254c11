"""OpenAPI descriptions (drf-spectacular) of the webhooks API's fields, bulk actions and brief mode.

Importing this module registers the extensions; ``views`` imports it for ``BulkAutoSchema``.
``BulkAutoSchema`` and ``component_ref`` are generic: any API built on ``BulkModelViewSet``
(the demo's inventory API too) uses them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    Direction,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
)
from rest_framework import serializers

from webhooks_app.api.bulk import BULK_ACTIONS
from webhooks_app.api.fields import BriefRelatedField, NamedChoiceField, registered_labels

__all__ = [
    "BRIEF_PARAMETER",
    "FAILED",
    "BulkAutoSchema",
    "Schema",
    "brief_or_full",
    "component_ref",
]

Schema = dict[str, Any]

FAILED = OpenApiResponse(
    description="Invalid (400) or conflicting (409) data. For a list, nothing was applied and "
    'the answer names the failed items: {"detail": "...", "errors": [{"index": 0, "id": 7, ...}]}.'
)
BRIEF_PARAMETER = OpenApiParameter(
    "brief",
    OpenApiTypes.BOOL,
    description="Answer with the brief form (id, url, display, name, description).",
)


def component_ref(auto_schema: AutoSchema, name: str, schema: Schema) -> Schema:
    """Register ``schema`` as the component ``name`` (once) and return a reference to it."""
    component = ResolvedComponent(  # type: ignore[no-untyped-call]  # untyped upstream
        name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
    )
    auto_schema.registry.register_on_missing(component)
    ref: Schema = component.ref
    return ref


# drf-spectacular's OpenApiGeneratorExtension.__init_subclass__ has no type hints, hence the
# ignores on the class statements below.


class ObjectTypeFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "webhooks_app.api.fields.ObjectTypeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        if direction == "request":  # a model that can emit events
            return component_ref(
                auto_schema, "ObjectType", {"type": "string", "enum": registered_labels()}
            )
        return {"type": "string", "description": '"app_label.model"'}


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "webhooks_app.api.fields.NamedChoiceField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        assert isinstance(field, NamedChoiceField)
        enum = {"type": "string", "enum": [str(value) for value in field.choices]}
        return component_ref(auto_schema, field.component, enum)


class JSONObjectFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Written as an object; read as stored (older rows may hold other JSON)."""

    target_class = "webhooks_app.api.fields.JSONObjectField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        if direction == "request":
            return {"type": "object", "additionalProperties": {}}
        return {}


class BriefRelatedFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Read as the brief object; written as an id."""

    target_class = "webhooks_app.api.fields.BriefRelatedField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        assert isinstance(field, BriefRelatedField)
        if direction == "response":
            ref: Schema = auto_schema.resolve_serializer(field.serializer_class, direction).ref
            return ref
        return {"type": "integer", "minimum": 1}


class BriefSerializerExtension(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """Brief forms allow no other property, so that "brief or full" is an exact ``oneOf``."""

    target_class = "webhooks_app.api.serializers.BriefConfigSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        schema: Schema = auto_schema._map_serializer(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        schema["additionalProperties"] = False
        return schema


class BulkDeleteIdSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(min_value=1)


@cache
def bulk_item_serializer(serializer_class: type[serializers.Serializer[Any]]) -> type[Any]:
    """``serializer_class`` with a required, writable ``id``: one item of a bulk update."""
    name = serializer_class.__name__.removesuffix("Serializer")
    attrs = {"id": serializers.IntegerField(min_value=1), "__module__": __name__}
    return type(f"Bulk{name}ItemSerializer", (serializer_class,), attrs)


@cache
def one_or_many(serializer_class: type[serializers.Serializer[Any]]) -> PolymorphicProxySerializer:
    """An object of ``serializer_class`` or a list of them (POST to a list endpoint)."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return PolymorphicProxySerializer(
        component_name=f"{name}OneOrMany",
        serializers=[serializer_class, serializer_class(many=True)],
        resource_type_field_name=None,
        many=False,
    )


def brief_or_full(
    full: type[serializers.Serializer[Any]],
    brief: type[serializers.Serializer[Any]],
    *,
    many: bool = False,
) -> PolymorphicProxySerializer:
    """The full form, or the brief one when ``?brief=true``."""
    name = full.__name__.removesuffix("Serializer")
    return PolymorphicProxySerializer(
        component_name=f"{name}OrBrief",
        serializers=[full, brief],
        resource_type_field_name=None,
        many=many,
    )


class BulkAutoSchema(AutoSchema):
    """Describes a ``BulkModelViewSet``: the bulk actions of its list URL, its 409s, and the
    ``brief`` form of reads when the view has a ``brief_serializer_class``.

    Descriptions come from the actions' docstrings, as for any view.
    """

    def _action(self) -> str:
        return str(getattr(self.view, "action", ""))

    def _model_serializer(self) -> type[serializers.Serializer[Any]]:
        view: Any = self.view  # a GenericAPIView: the schema is only set on BulkModelViewSet
        serializer_class: type[serializers.Serializer[Any]] = view.serializer_class
        return serializer_class

    def _brief_serializer(self) -> type[serializers.Serializer[Any]] | None:
        brief: type[serializers.Serializer[Any]] | None
        brief = getattr(self.view, "brief_serializer_class", None)
        return brief if self._action() in ("list", "retrieve") else None

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        action = self._action()
        if action in BULK_ACTIONS.values():
            # The list and detail URLs tokenize alike: "..._update" would collide.
            standard = self.method_mapping[self.method.lower()]
            return operation_id.removesuffix(standard) + action
        return operation_id

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = super().get_override_parameters()
        if self._brief_serializer() is not None:
            parameters.append(BRIEF_PARAMETER)
        return parameters

    def get_filter_backends(self) -> list[Any]:
        if self._action() in BULK_ACTIONS.values():
            return []  # the bulk actions act on the listed ids, not on a filtered list
        return super().get_filter_backends()

    def _get_paginator(self) -> Any:
        # Not public, but the only hook: bulk answers are plain lists, never paginated.
        if self._action() in BULK_ACTIONS.values():
            return None
        return super()._get_paginator()  # type: ignore[no-untyped-call]

    def _get_request_body(self, direction: Direction = "request") -> Any:
        # Not public either: drf-spectacular documents bodies of PUT, PATCH and POST only, but a
        # bulk delete has one. Describe it as if the method were PUT.
        if self._action() != "bulk_destroy":
            return super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        method, self.method = self.method, "PUT"
        try:
            return super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        finally:
            self.method = method

    def get_request_serializer(self) -> Any:
        action = self._action()
        if action == "create":
            return one_or_many(self._model_serializer())
        if action in ("bulk_update", "bulk_partial_update"):
            partial = action == "bulk_partial_update"
            return bulk_item_serializer(self._model_serializer())(many=True, partial=partial)
        if action == "bulk_destroy":
            return BulkDeleteIdSerializer(many=True)
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        # A dict of status code -> serializer or OpenApiResponse, as @extend_schema accepts.
        action = self._action()
        brief = self._brief_serializer()
        if brief is not None:
            return brief_or_full(self._model_serializer(), brief, many=action == "list")
        if action == "create":
            return {201: one_or_many(self._model_serializer()), 400: FAILED, 409: FAILED}
        if action in ("bulk_update", "bulk_partial_update"):
            return {200: self._model_serializer()(many=True), 400: FAILED, 409: FAILED}
        if action == "bulk_destroy":
            return {204: None, 400: FAILED, 409: FAILED}
        if action == "destroy":
            return {204: None, 409: FAILED}
        if action in ("update", "partial_update"):
            return {200: self._model_serializer(), 400: FAILED}
        return super().get_response_serializers()
