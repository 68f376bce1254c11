"""Inserting many rows of one model in one ``executemany``, without building model instances.

The delivery log writes two rows per delivery; through ``bulk_create`` most of the cost is
Django building and compiling model instances, not the database. Here each value is converted
by its own field (``get_db_prep_save``, so UUIDs, datetimes and JSON are stored exactly as the
ORM stores them, on every backend) and only where the field needs it. No signals are sent and
no defaults are filled in: callers give every column they want written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import connections, models, router

__all__ = ["insert_rows"]

# Field types whose Python values the database drivers take as they are.
_AS_IS = frozenset(
    {
        "BooleanField",
        "CharField",
        "FloatField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


@cache
def _statement(model: type[models.Model], names: tuple[str, ...], alias: str) -> str:
    quote = connections[alias].ops.quote_name
    fields = [_field(model, name) for name in names]
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"


@cache
def _converting(model: type[models.Model], names: tuple[str, ...]) -> tuple[Any, ...]:
    """Per column: the field that converts its values, or None to pass them as they are."""
    fields = [_field(model, name) for name in names]
    return tuple(None if f.get_internal_type() in _AS_IS else f for f in fields)


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in the order of the field ``names``) into ``model``'s table,
    on the database the router picks for writing it; call inside a transaction."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    key = tuple(names)
    fields = _converting(model, key)
    params = [
        [
            value if field is None else field.get_db_prep_save(value, connection)
            for field, value in zip(fields, row, strict=True)
        ]
        for row in rows
    ]
    if not params:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_statement(model, key, alias), params)
