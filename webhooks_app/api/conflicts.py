"""Database conflicts (protected deletes, constraint violations) as HTTP 409 answers."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError
from django.db.models import Model, ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.exceptions import APIException

__all__ = ["CONFLICT_ERRORS", "Conflict", "describe_conflict"]

CONFLICT_ERRORS = (IntegrityError, ProtectedError, RestrictedError)

# How many dependent objects a message names before it says "and N more".
NAMED_DEPENDENTS = 5


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the data already stored."
    default_code = "conflict"


def _describe_dependents(objects: Iterable[Model]) -> str:
    names = sorted(f"{obj._meta.verbose_name} {obj}" for obj in objects)
    shown = ", ".join(names[:NAMED_DEPENDENTS])
    if len(names) > NAMED_DEPENDENTS:
        shown += f" and {len(names) - NAMED_DEPENDENTS} more"
    return f"Cannot delete: {len(names)} dependent object(s) refer to it: {shown}."


def describe_conflict(exc: Exception) -> str:
    """A message for the API client saying what conflicted."""
    if isinstance(exc, ProtectedError):
        return _describe_dependents(exc.protected_objects)
    if isinstance(exc, RestrictedError):
        return _describe_dependents(exc.restricted_objects)
    return f"A database constraint failed: {exc}"
