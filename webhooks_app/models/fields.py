"""Model fields of the app.

:class:`OrderedJSONField` is a ``JSONField`` that gives back its keys in the order they were
saved, on every database. PostgreSQL's ``jsonb`` (what ``JSONField`` uses there) sorts object
keys, so a payload stored in the delivery log or the outbox would come back reordered and a
redelivered or relayed body would not be byte-identical to the first one. On PostgreSQL this
field's column is therefore ``text`` holding the JSON as written; on the other databases it is
exactly ``JSONField`` (SQLite already stores JSON as text).

Lookups still work: on PostgreSQL the column is cast to ``jsonb`` for key transforms
(``payload__event``, ``payload__data__name``) and lookups (``has_key``, ``contains``, ``exact``
…), so filters behave as on a ``JSONField``. Reading the whole value skips the cast and keeps
the key order; a part selected through a key transform (``values("payload__data")``) is read
through ``jsonb``, so it is equal but its own keys may come back sorted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Combinable, Expression
from django.db.models.fields.json import KeyTransform
from django.db.models.lookups import Lookup, Transform

if TYPE_CHECKING:
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

__all__ = ["OrderedJSONField"]


class _AsJsonb(Expression):
    """The field's column, cast to ``jsonb`` on PostgreSQL (unchanged elsewhere) so that
    Django's JSON lookups and key transforms apply to it."""

    def __init__(self, column: Any) -> None:
        super().__init__(output_field=models.JSONField())
        self.column = column

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Combinable | Expression]) -> None:
        (self.column,) = exprs

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _AsSqlType:
        return compiler.compile(self.column)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _AsSqlType:
        sql, params = compiler.compile(self.column)
        return f"({sql})::jsonb", params


_ON_JSONB: dict[type[Lookup[Any]], type[Lookup[Any]]] = {}


def _on_jsonb(lookup: type[Lookup[Any]]) -> type[Lookup[Any]]:
    """``lookup``, applied to the column cast to ``jsonb`` (one subclass per lookup)."""
    if lookup not in _ON_JSONB:

        def __init__(self: Lookup[Any], lhs: Any, rhs: Any) -> None:
            lookup.__init__(self, _AsJsonb(lhs), rhs)

        _ON_JSONB[lookup] = type(lookup.__name__, (lookup,), {"__init__": __init__})
    return _ON_JSONB[lookup]


class _KeyTransformFactory:
    def __init__(self, key_name: str) -> None:
        self.key_name = key_name

    def __call__(self, lhs: Any, *args: Any, **kwargs: Any) -> KeyTransform:
        return KeyTransform(self.key_name, _AsJsonb(lhs), *args, **kwargs)


class OrderedJSONField(models.JSONField):
    """A JSONField whose objects keep their key order on PostgreSQL too (stored as text)."""

    description = "A JSON value, stored as text on PostgreSQL to keep the order of its keys"

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return "text"
        return super().db_type(connection)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        return json.dumps(value, cls=self.encoder)

    def get_transform(self, name: str) -> type[Transform] | Any:
        transform = models.Field.get_transform(self, name)
        if transform is not None:
            return transform
        return _KeyTransformFactory(name)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        lookup = super().get_lookup(lookup_name)
        if lookup is None:
            return None
        return _on_jsonb(lookup)
