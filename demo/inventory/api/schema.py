"""OpenAPI descriptions (drf-spectacular) of the inventory API's custom fields and bulk actions.

Importing this module registers the field extensions; ``views`` imports it for
``BulkAutoSchema``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_object_type
from drf_spectacular.utils import Direction, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from .bulk import BULK_ACTIONS
from .fields import BriefRelatedField, ValueLabelChoiceField

Schema = dict[str, Any]

FAILED = OpenApiResponse(
    description="Invalid (400) or conflicting (409) data. For a list, nothing was applied and "
    'the answer names the failed items: {"detail": "...", "errors": [{"index": 0, "id": 7, ...}]}.'
)


def _component(auto_schema: AutoSchema, name: str, schema: Schema) -> Schema:
    """Register ``schema`` as the component ``name`` (once) and return a reference to it."""
    component = ResolvedComponent(  # type: ignore[no-untyped-call]  # untyped upstream
        name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
    )
    auto_schema.registry.register_on_missing(component)
    ref: Schema = component.ref
    return ref


# drf-spectacular's OpenApiGeneratorExtension.__init_subclass__ has no type hints, hence the
# ignores on the three class statements below (as for ResolvedComponent above).


class ApiUrlFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "demo.inventory.api.fields.ApiUrlField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        return {"type": "string", "format": "uri"}


class ValueLabelChoiceFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Read as ``{"value", "label"}``; written as the bare value."""

    target_class = "demo.inventory.api.fields.ValueLabelChoiceField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        assert isinstance(field, ValueLabelChoiceField)
        # Named after model and field ("SiteStatus"): "status" alone would be ambiguous.
        model = getattr(getattr(field.parent, "Meta", None), "model", None)
        prefix = model.__name__ if model is not None else ""
        name = prefix + "".join(part.title() for part in str(field.field_name).split("_"))
        enum = {"type": "string", "enum": list(field.choices)}
        enum_ref = _component(auto_schema, f"{name}Enum", enum)
        if direction == "request":
            return enum_ref
        schema = build_object_type(
            properties={
                "value": enum_ref,
                "label": {"type": "string", "enum": list(field.choices.values())},
            },
            required=["value", "label"],
        )
        return _component(auto_schema, name, schema)


class BriefRelatedFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Read as the brief object; written as an id (or an object naming one lookup)."""

    target_class = "demo.inventory.api.fields.BriefRelatedField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        assert isinstance(field, BriefRelatedField)
        if direction == "response":
            ref: Schema = auto_schema.resolve_serializer(field.serializer_class, direction).ref
            return ref
        by_id: Schema = {"type": "integer"}
        if field.lookups == ("id",):
            return by_id
        lookups = [
            build_object_type(properties={name: {}}, required=[name]) for name in field.lookups
        ]
        return {"oneOf": [by_id, *lookups]}


class BulkDeleteItemSerializer(serializers.Serializer[Any]):
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


class BulkAutoSchema(AutoSchema):
    """Describes a ``BulkModelViewSet``: the bulk actions of its list URL and its 409s.

    Descriptions come from the actions' docstrings, as for any view.
    """

    def _action(self) -> str:
        return str(getattr(self.view, "action", ""))

    def _model_serializer(self) -> type[serializers.Serializer[Any]]:
        view: Any = self.view  # a GenericAPIView: the schema is only set on BulkModelViewSet
        serializer_class: type[serializers.Serializer[Any]] = view.get_serializer_class()
        return serializer_class

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        action = self._action()
        if action in BULK_ACTIONS.values():
            # The list and detail URLs tokenize alike: "..._update" would collide.
            standard = self.method_mapping[self.method.lower()]
            return operation_id.removesuffix(standard) + action
        return operation_id

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
            return BulkDeleteItemSerializer(many=True)
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        # A dict of status code -> serializer or OpenApiResponse, as @extend_schema accepts.
        action = self._action()
        if action == "create":
            return {201: one_or_many(self._model_serializer()), 400: FAILED, 409: FAILED}
        if action in ("bulk_update", "bulk_partial_update"):
            return {200: self._model_serializer()(many=True), 400: FAILED, 409: FAILED}
        if action == "bulk_destroy":
            return {204: None, 400: FAILED, 409: FAILED}
        if action == "destroy":
            return {204: None, 409: FAILED}
        return super().get_response_serializers()
