"""Ordering and pagination of the delivery log's list, which may hold millions of rows.

``?ordering=`` takes ``created`` or ``-created`` (the default, newest first); any other field is
a 400, never silently ignored. Every ordering ends with the id in the same direction, so that
pages are deterministic and an index on ``(created, id)`` serves them.

Pages are limit/offset by default (``count``, ``next``, ``previous``, ``results``, as NetBox
clients expect); ``?pagination=cursor`` (or following a ``next`` link that has a ``?cursor=``)
switches to keyset pagination: no count, and a deep page costs what the first one does and
stays stable while new deliveries are logged. Cursor pages are the way to walk a large log.

Limit/offset pages stay cheap on a log of millions of rows:

- ``count`` is exact up to :attr:`DeliveryOffsetPagination.count_cap` (100,000) matching
  deliveries: it counts at most that many (a ``COUNT`` over a ``LIMIT`` subquery), never the
  whole table. Above the cap it is a lower bound: the cap, or ``offset`` + the results (+ 1 when
  there is a next page) if that is more, which makes it exact on the last page. ``next`` and
  ``previous`` are always right (the page is read with one row more than asked, to know).
- A deep page first finds where it starts: the creation times of the rows before it, read
  through an index-only scan of the narrowest index that serves the list's order (``created``
  alone when unfiltered: 16 bytes an entry), then the page itself from that time on, through
  the same index (``created <= t``, skipping only the rows that share that time and come
  before it). Skipping five million rows costs about 150 ms on PostgreSQL; it still grows
  with the offset, cursor pages do not.
- A list filtered by several values of one column (``?state=failed&state=retrying``) is
  read as one index range per value (``delivery_merge``): the count adds each value's count
  (from its index alone, bounded together by the cap: the same answer), and a page that
  ends within :attr:`DeliveryOffsetPagination.merge_rows` rows of the ranges is their merge.
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

from webhooks_app.api.delivery_merge import branches, merged_count, merged_rows
from webhooks_app.api.parsing import BoundedLimitOffsetPagination

__all__ = ["DeliveryOffsetPagination", "DeliveryOrderingFilter", "DeliveryPagination"]

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


class DeliveryOffsetPagination(BoundedLimitOffsetPagination):
    """Limit/offset pages with a count bounded by ``count_cap`` and deep pages found by time."""

    count_cap = 100_000
    # From this offset on, a page is found by its creation time (below, one query is as fast).
    by_time_from = 1000
    # How many rows before a deep page are read to find the rows that share its first time
    # (rows logged by one job share it: at most WEBHOOKS_BATCH_SIZE). A longer run of equal
    # times is read with a plain offset.
    tie_window = 1000
    # A page of a list filtered by several values of a column (delivery_merge) is a merge of
    # one index range per value, each read from its start to the page's end, while that is at
    # most this many rows in all (about 35 ms of Python: 2 values up to row 5,000, 10 up to
    # row 1,000); a deeper page is read as one query, as before (PostgreSQL reads it through
    # the index on created, skipping other values' rows, or sorts every matching row).
    merge_rows = 10_000

    def __init__(self) -> None:
        super().__init__()
        self.has_next = False

    def paginate_queryset(  # type: ignore[override, type-var, unused-ignore]
        self, queryset: QuerySet[M, R], request: Request, view: APIView | None = None
    ) -> list[R] | None:
        self.request = request
        limit = self.get_limit(request)
        if limit is None:
            return None
        self.limit = limit
        self.offset = offset = self.get_offset(request)
        # Several values of a filter: one index range per value (delivery_merge).
        split = branches(request, queryset, view)
        if split is None:
            counted = int(queryset.order_by()[: self.count_cap + 1].count())
        else:
            counted = merged_count(split, self.count_cap)
        if counted <= offset and counted <= self.count_cap:
            rows: list[R] = []
        else:
            ordering = DeliveryOrderingFilter().get_ordering(request, queryset, view)  # type: ignore[arg-type, unused-ignore]
            if split is not None and len(split) * (offset + limit + 1) <= self.merge_rows:
                rows = merged_rows(queryset, split, ordering, offset, limit + 1)
            else:
                rows = self.rows(queryset.order_by(*ordering), ordering, offset, limit + 1)
        self.has_next = len(rows) > limit
        rows = rows[:limit]
        if counted <= self.count_cap:
            self.count = counted
        else:  # a lower bound, exact on the last page
            reached = offset + len(rows) + int(self.has_next) if rows else 0
            self.count = max(self.count_cap, reached)
        if self.count > limit and self.template is not None:
            self.display_page_controls = True
        return rows

    def rows(
        self, queryset: QuerySet[M, R], ordering: Sequence[str], start: int, size: int
    ) -> list[R]:
        """``size`` rows of ``queryset`` (ordered by ``ordering``: created, then id, in one
        direction) from row ``start`` on."""
        if start < self.by_time_from:
            return list(queryset[start : start + size])
        newest_first = ordering[0].startswith("-")
        first = max(0, start - self.tie_window)
        times = list(
            queryset.order_by(ordering[0]).values_list("created", flat=True)[first : start + 1]
        )
        if len(times) <= start - first:
            return []  # the page starts after the last row
        when = times[-1]
        # The rows before the page that share its first row's time: the page starts that many
        # rows into ``created <= when`` (or >= when), in the list's order.
        group = len(times) - 1
        while group > 0 and times[group - 1] == when:
            group -= 1
        if group == 0 and first > 0:  # more equal times than the window holds
            return list(queryset[start : start + size])
        skip = len(times) - 1 - group
        since = queryset.filter(**{"created__lte" if newest_first else "created__gte": when})
        return list(since[skip : skip + size])

    def get_next_link(self) -> str | None:
        return super().get_next_link() if self.has_next else None


class DeliveryCursorPagination(CursorPagination):
    """Keyset pagination on ``created`` (the ordering filter chooses the direction). A list
    filtered by several values of a column is DRF's one query here (a merge of the ranges
    measured no faster: 12 ms against 13-14 ms at a million rows)."""

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
        self.offset_pages = DeliveryOffsetPagination()
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
            f"How many results in all, exact up to {DeliveryOffsetPagination.count_cap:,}; above, "
            "a lower bound (exact on the last page: follow next). Absent with cursor pagination."
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
