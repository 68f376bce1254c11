"""OpenAPI descriptions (drf-spectacular) of the inventory API's custom fields.

Importing this module registers the field extensions; ``views`` imports it. The bulk actions
are described by ``webhooks_app.api.schema.BulkAutoSchema``.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_object_type
from drf_spectacular.utils import Direction

from webhooks_app.api.schema import BulkAutoSchema, Schema, component_ref

from .fields import BriefRelatedField, ValueLabelChoiceField

__all__ = ["BulkAutoSchema"]

# drf-spectacular's OpenApiGeneratorExtension.__init_subclass__ has no type hints, hence the
# ignores on the three class statements below.


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
        enum_ref = component_ref(auto_schema, f"{name}Enum", enum)
        if direction == "request":
            return enum_ref
        schema = build_object_type(
            properties={
                "value": enum_ref,
                "label": {"type": "string", "enum": list(field.choices.values())},
            },
            required=["value", "label"],
        )
        return component_ref(auto_schema, name, schema)


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
