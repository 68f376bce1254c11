"""Ordering and pagination of the delivery log's list, which may hold millions of rows.

``?ordering=`` takes ``created`` or ``-created`` (the default, newest first); any other field is
a 400, never silently ignored. Every ordering ends with the id in the same direction, so that
pages are deterministic and an index on ``(created, id)`` serves them.

Pages are limit/offset by default (``count``, ``next``, ``previous``, ``results``, as NetBox
clients expect); ``?pagination=cursor`` (or following a ``next`` link that has a ``?cursor=``)
switches to keyset pagination: no count, and a deep page costs what the first one does and
stays stable while new deliveries are logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from webhooks_app.api.parsing import BoundedLimitOffsetPagination

__all__ = ["DeliveryOrderingFilter", "DeliveryPagination"]

M = TypeVar("M", bound=Model)
R = TypeVar("R")

ORDERING_FIELDS = ("created",)
DEFAULT_ORDERING = ("-created", "-id")
PAGINATION_PARAM = "pagination"
PAGINATION_STYLES = ("offset", "cursor")


class DeliveryOrderingFilter(OrderingFilter):
    """DRF's ordering filter, refusing an unknown field with a 400 naming it."""

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> Sequence[str]:
        text = request.query_params.get(self.ordering_param, "")
        fields = [part.strip() for part in text.split(",") if part.strip()]
        if not fields:
            return DEFAULT_ORDERING
        unknown = [f for f in fields if f.lstrip("-") not in ORDERING_FIELDS]
        if unknown:
            allowed = ", ".join(f"{f}, -{f}" for f in ORDERING_FIELDS)
            raise ValidationError(
                {self.ordering_param: [f"Unknown ordering {', '.join(unknown)}: use {allowed}."]}
            )
        first = fields[0]
        tie_breaker = "-id" if first.startswith("-") else "id"
        return (first, tie_breaker)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        choices = [o for f in ORDERING_FIELDS for o in (f, f"-{f}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Order of the results: newest first (-created, the default) or "
                "oldest first (created).",
                "schema": {"type": "string", "enum": choices},
            }
        ]


class DeliveryCursorPagination(CursorPagination):
    """Keyset pagination on ``created`` (the ordering filter chooses the direction)."""

    ordering = DEFAULT_ORDERING[0]
    page_size = api_settings.PAGE_SIZE or 50
    page_size_query_param = "limit"
    max_page_size = BoundedLimitOffsetPagination.max_limit


def wants_cursor(request: Request) -> bool:
    style = request.query_params.get(PAGINATION_PARAM, "")
    if style and style not in PAGINATION_STYLES:
        raise ValidationError(
            {PAGINATION_PARAM: [f"Unknown pagination {style!r}: use offset or cursor."]}
        )
    cursor = DeliveryCursorPagination.cursor_query_param
    return style == "cursor" or (not style and cursor in request.query_params)


class DeliveryPagination(BasePagination):
    """Limit/offset (the default) or, on request, keyset pagination."""

    def __init__(self) -> None:
        self.offset_pages = BoundedLimitOffsetPagination()
        self.cursor_pages = DeliveryCursorPagination()
        self.active: BasePagination = self.offset_pages
        self.display_page_controls = False

    def paginate_queryset(  # type: ignore[override, type-var, unused-ignore]
        self, queryset: QuerySet[M, R], request: Request, view: APIView | None = None
    ) -> list[R] | None:
        self.active = self.cursor_pages if wants_cursor(request) else self.offset_pages
        self.display_page_controls = self.active.display_page_controls
        # drf-stubs before 3.18 type the queryset's model loosely here.
        return self.active.paginate_queryset(queryset, request, view)  # type: ignore[type-var, return-value, unused-ignore]

    def get_paginated_response(self, data: Any) -> Response:
        return self.active.get_paginated_response(data)

    def to_html(self) -> str:
        return str(self.active.to_html())

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = self.offset_pages.get_paginated_response_schema(schema)
        response["required"] = ["results"]
        response["properties"]["count"]["description"] = (
            "How many results in all; absent with cursor pagination."
        )
        return response

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        style = {
            "name": PAGINATION_PARAM,
            "required": False,
            "in": "query",
            "description": "offset (the default: limit/offset with a count) or cursor (keyset "
            "pages without a count, as fast at any depth; follow the next link).",
            "schema": {"type": "string", "enum": list(PAGINATION_STYLES)},
        }
        params = [
            *self.offset_pages.get_schema_operation_parameters(view),
            style,
            *[
                p
                for p in self.cursor_pages.get_schema_operation_parameters(view)
                if p["name"] != "limit"
            ],
        ]
        return params
