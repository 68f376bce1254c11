"""OpenAPI descriptions (drf-spectacular) of the webhooks API's fields, bulk actions and brief mode.

Importing this module registers the extensions; ``views`` imports it for ``BulkAutoSchema``.
``BulkAutoSchema`` and ``component_ref`` are generic: any API built on ``BulkModelViewSet``
(the demo's inventory API too) uses them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent, build_array_type
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
from webhooks_app.api.filters import RegisteredObjectTypeFilter

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


class FilterExtension(DjangoFilterExtension):  # type: ignore[no-untyped-call]
    """drf-spectacular's description of django-filter's filters, with the models registered for
    webhooks (read when the schema is generated) as the choices of an object type filter."""

    priority = 1

    def resolve_filter_field(
        self,
        auto_schema: AutoSchema,
        model: Any,
        filterset_class: Any,
        field_name: str,
        filter_field: Any,
    ) -> list[Schema]:
        parameters: list[Schema] = super().resolve_filter_field(  # type: ignore[no-untyped-call]
            auto_schema, model, filterset_class, field_name, filter_field
        )
        if isinstance(filter_field, RegisteredObjectTypeFilter):
            for parameter in parameters:
                parameter["schema"]["enum"] = registered_labels()
        return parameters


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


class ClosedBriefExtension(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """Brief forms allow no other property, so that "brief or full" is an exact ``oneOf``.

    drf-spectacular's own mapping (the base ``map_serializer``) with ``additionalProperties``
    set to false. ``target_class`` is one concrete brief serializer: the base maps that class.
    """

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        schema: Schema = super().map_serializer(auto_schema, direction)
        schema["additionalProperties"] = False
        return schema


class BriefWebhookExtension(ClosedBriefExtension):  # type: ignore[no-untyped-call]
    target_class = "webhooks_app.api.serializers.BriefWebhookSerializer"


class BriefEventRuleExtension(ClosedBriefExtension):  # type: ignore[no-untyped-call]
    target_class = "webhooks_app.api.serializers.BriefEventRuleSerializer"


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


def view_action(view: Any) -> str:
    """The viewset action being described ("" for a plain view)."""
    return str(getattr(view, "action", ""))


def model_serializer(view: Any) -> type[serializers.Serializer[Any]]:
    """The view's serializer class (the schema is only set on ``BulkModelViewSet``)."""
    serializer_class: type[serializers.Serializer[Any]] = view.serializer_class
    return serializer_class


def brief_serializer(view: Any) -> type[serializers.Serializer[Any]] | None:
    """The brief form a read of ``view`` may answer with (``?brief=true``), if any."""
    brief: type[serializers.Serializer[Any]] | None
    brief = getattr(view, "brief_serializer_class", None)
    return brief if view_action(view) in ("list", "retrieve") else None


def list_of(auto_schema: AutoSchema, serializer_class: type[serializers.Serializer[Any]]) -> Schema:
    """A plain (never paginated) array of ``serializer_class``'s response form."""
    return build_array_type(auto_schema.resolve_serializer(serializer_class, "response").ref)


class BulkAutoSchema(AutoSchema):
    """Describes a ``BulkModelViewSet``: the bulk actions of its list URL, its 409s, and the
    ``brief`` form of reads when the view has a ``brief_serializer_class``.

    Descriptions come from the actions' docstrings, as for any view. Only drf-spectacular's
    public methods are overridden; two things its public surface does not cover are written
    into the operation: a bulk answer is a plain list, never paginated (a raw schema, which
    the list mechanics leave alone), and a bulk delete has a body (drf-spectacular describes
    bodies of PUT, PATCH and POST only: added in ``get_operation``).
    """

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> Schema | None:
        operation: Schema | None = super().get_operation(
            path, path_regex, path_prefix, method, registry
        )
        if operation is not None and view_action(self.view) == "bulk_destroy":
            operation["requestBody"] = self.bulk_delete_body()
        return operation

    def bulk_delete_body(self) -> Schema:
        """The body of a bulk delete: a list of ``{"id": n}``, required."""
        items = self.resolve_serializer(BulkDeleteIdSerializer, "request").ref
        schema = build_array_type(items)
        return {
            "content": {media_type: {"schema": schema} for media_type in self.map_parsers()},
            "required": True,
        }

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        action = view_action(self.view)
        if action in BULK_ACTIONS.values():
            # The list and detail URLs tokenize alike: "..._update" would collide.
            standard = self.method_mapping[self.method.lower()]
            return operation_id.removesuffix(standard) + action
        return operation_id

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = super().get_override_parameters()
        if brief_serializer(self.view) is not None:
            parameters.append(BRIEF_PARAMETER)
        return parameters

    def get_filter_backends(self) -> list[Any]:
        if view_action(self.view) in BULK_ACTIONS.values():
            return []  # the bulk actions act on the listed ids, not on a filtered list
        return super().get_filter_backends()

    def get_request_serializer(self) -> Any:
        action = view_action(self.view)
        if action == "create":
            return one_or_many(model_serializer(self.view))
        if action in ("bulk_update", "bulk_partial_update"):
            partial = action == "bulk_partial_update"
            return bulk_item_serializer(model_serializer(self.view))(many=True, partial=partial)
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        # A dict of status code -> serializer, OpenApiResponse or raw schema, as
        # @extend_schema accepts.
        action = view_action(self.view)
        full = model_serializer(self.view)
        brief = brief_serializer(self.view)
        if brief is not None:
            return brief_or_full(full, brief, many=action == "list")
        if action == "create":
            return {201: one_or_many(full), 400: FAILED, 409: FAILED}
        if action in ("bulk_update", "bulk_partial_update"):
            return {200: list_of(self, full), 400: FAILED, 409: FAILED}
        if action == "bulk_destroy":
            return {204: None, 400: FAILED, 409: FAILED}
        if action == "destroy":
            return {204: None, 409: FAILED}
        if action in ("update", "partial_update"):
            return {200: full, 400: FAILED}
        return super().get_response_serializers()
