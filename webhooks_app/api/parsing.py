"""Request parsing and pagination that turn hostile input into 400s instead of 500s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from webhooks_app.api.bulk import ItemError, invalid_items
from webhooks_app.models.validators import (
    MAX_ID,
    MAX_JSON_DEPTH,
    TOO_DEEP,
    InvalidJSON,
    load_json,
)

__all__ = ["MAX_BODY_DEPTH", "MAX_ID", "BoundedLimitOffsetPagination", "SafeJSONParser"]

# A field's deepest value (MAX_JSON_DEPTH) inside an object, inside the list of a bulk request.
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 2
# Larger offsets overflow the database's and Redis's integer types (a job list reads Redis).
MAX_OFFSET = 2**31 - 1


def too_deep(error: InvalidJSON) -> Exception:
    """The answer to a body nested too deeply: a field error when the place is inside a field
    of the object, or of an object in a list (a bulk request's answer, ``BulkFailed``, which
    ``ApiViewMixin`` answers), as the serializer's own check of a field's depth answers; a
    parse error otherwise."""
    match error.path:
        case [str(field), *_]:
            return ValidationError({field: [TOO_DEEP]})
        case [int(index), str(field), *_]:
            return invalid_items([ItemError(index, None, {field: [TOO_DEEP]})])
    return ParseError(error.describe("JSON parse error"))


class SafeJSONParser(JSONParser):
    """A JSON parser whose every refusal is a 400 saying what and where: the body is decoded by
    ``load_json`` (the admin's JSON fields use it too), so ``NaN``, numbers out of range and
    overlong integers are parse errors, and nesting deeper than ``MAX_BODY_DEPTH`` is refused
    before decoding, as an error of the field it is in (see ``too_deep``).

    DRF's own parser lets ``json.loads``'s ``RecursionError`` through as a 500, and decodes
    ``1e400`` as infinity, which no JSON encoder writes back.
    """

    max_depth = MAX_BODY_DEPTH

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = stream.read().decode(encoding)  # refuses codecs that are not text encodings
        except LookupError as exc:
            raise ParseError(f'Unsupported charset "{encoding}" in the Content-Type.') from exc
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"JSON parse error: the body is not {encoding} text ({exc.reason} at byte "
                f"{exc.start})."
            ) from exc
        try:
            return load_json(text, max_depth=self.max_depth)
        except InvalidJSON as exc:
            if exc.path:
                raise too_deep(exc) from exc
            raise ParseError(exc.describe("JSON parse error")) from exc


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """Limit/offset pagination with a count (as NetBox), an offset the database can take and a
    largest page size."""

    max_limit = 1000

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
