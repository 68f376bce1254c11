"""Request parsing and pagination that turn hostile input into 400s instead of 500s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

__all__ = ["MAX_ID", "BoundedLimitOffsetPagination", "SafeJSONParser"]

# Ids beyond a 64-bit integer cannot exist, and some databases refuse them in queries.
MAX_ID = 2**63 - 1
# Larger offsets overflow the database's and Redis's integer types (a job list reads Redis).
MAX_OFFSET = 2**31 - 1


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, also answering 400 for JSON nested too deeply to decode.

    ``json.loads`` raises ``RecursionError`` (not a ``ValueError``) for very deep nesting, which
    DRF's parser lets through as a 500.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """Limit/offset pagination with a count (as NetBox), an offset the database can take and a
    largest page size."""

    max_limit = 1000

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
