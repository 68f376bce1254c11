"""Pages of the delivery log filtered by several values of one column, read as a merge.

``?state=failed&state=retrying`` (or two webhooks, rules, event types) is filtered by
django-filter as ``state = 'failed' OR state = 'retrying'``. Each value alone is served in the
list's order by an index ending in ``(created, id)``, but PostgreSQL cannot read two ranges of
an index as one ordered range: it counts through the heap rows (a bitmap scan of up to the
count's cap, 100,001 rows: about 80 ms of the 77-83 ms such a page took at a million rows),
and reads the page either through the index on ``created`` alone, skipping the rows of other
values (cheap when the values are common), or by fetching and sorting every matching row.

So such a list is read as one ordered index range per value: each branch is the filtered
list with one more equality (``state = 'failed'``), which that column's index serves in order.
The count adds the branches' counts, each read from the index alone, bounded together by the
cap. A page reads each branch's ``(created, id)`` up to the page's end, merges them in Python
(the values of one column are disjoint, so no row comes twice), then fetches the page's rows
by id. Python orders the ``(created, id)`` pairs as the databases do: datetimes by time, UUIDs
by their 128-bit value, which is PostgreSQL's ``uuid`` order and SQLite's (Django stores them
there as 32 lowercase hex digits).

The branches are the values the filterset itself cleaned and applied (its filters'
``get_filter_predicate``), so they are exactly its ``OR``'s terms, duplicates removed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from django.db.models import Model, QuerySet
from django_filters import MultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request
from rest_framework.views import APIView

__all__ = ["branches", "merged_count", "merged_rows"]

M = TypeVar("M", bound=Model)
R = TypeVar("R")

Key = tuple[datetime, UUID]

# At most this many branches (values): each is one query per page.
MAX_BRANCHES = 20


def value_lookups(
    request: Request, queryset: QuerySet[Any], view: APIView | None
) -> list[dict[str, Any]] | None:
    """The lookups of the values of the one multiple-choice filter given several values (one
    dict per value), as the filterset applied them; None when no filter or more than one has
    several values, or the view filters otherwise."""
    backends = getattr(view, "filter_backends", ())
    if view is None or not any(issubclass(b, DjangoFilterBackend) for b in backends):
        return None
    filterset = DjangoFilterBackend().get_filterset(request, queryset, view)
    if filterset is None or not filterset.is_valid():
        return None  # the filter backend has refused the request already
    found = []
    for name, declared in filterset.filters.items():
        if not isinstance(declared, MultipleChoiceFilter):
            continue
        # Disjoint ranges of one column only: equality on the row's own column (distinct=False
        # says so), ORed, applied by the filter itself (not a method of the filterset).
        plain = declared.lookup_expr == "exact" and declared.method is None
        if not plain or declared.conjoined or declared.exclude or declared.distinct:
            continue
        values = list(dict.fromkeys(filterset.form.cleaned_data.get(name) or ()))
        if len(values) < 2:
            continue
        found.append(
            [declared.get_filter_predicate(None if v == declared.null_value else v) for v in values]
        )
    return found[0] if len(found) == 1 else None


def branches(
    request: Request, queryset: QuerySet[M, R], view: APIView | None
) -> list[QuerySet[M, R]] | None:
    """The filtered list split into one queryset per value of the filter given several values
    (each a single range of that column's index), or None: no filter or more than one has
    several values, the values are more than :data:`MAX_BRANCHES`, or the filters are not the
    view's filterset's.

    Several filters with several values each (two states and two webhooks) are not split:
    each combination would compare two columns that no one index serves, and the branches'
    counts would read the heap rows of each value again. At a million rows such a page took
    190-240 ms split (four bitmap scans counting), 87-92 ms as one query.
    """
    lookups = value_lookups(request, queryset, view)
    if lookups is None or len(lookups) > MAX_BRANCHES:
        return None
    return [queryset.filter(**lookup) for lookup in lookups]


def merged_count(split: Sequence[QuerySet[Any, Any]], cap: int) -> int:
    """How many rows the branches hold together, counting at most ``cap`` + 1 of them in all
    (as one bounded ``COUNT`` of the whole list would): each branch counts up to what is left."""
    budget = cap + 1
    counted = 0
    for branch in split:
        if counted >= budget:
            break
        counted += int(branch.order_by()[: budget - counted].count())
    return counted


def merged_keys(
    split: Sequence[QuerySet[Any, Any]], ordering: Sequence[str], start: int, end: int
) -> list[Any]:
    """The ids of rows ``start`` to ``end`` of the branches merged in ``ordering`` (created,
    then id, in one direction)."""
    newest_first = ordering[0].startswith("-")
    ranges: list[Iterable[Key]] = [
        list(branch.order_by(*ordering).values_list("created", "pk")[:end]) for branch in split
    ]
    merged = heapq.merge(*ranges, reverse=newest_first)
    return [pk for _, pk in itertools.islice(merged, start, end)]


def merged_rows(
    queryset: QuerySet[M, R],
    split: Sequence[QuerySet[M, R]],
    ordering: Sequence[str],
    start: int,
    size: int,
) -> list[R]:
    """``size`` rows of ``queryset`` (split into ``split``) from row ``start`` on, in
    ``ordering``: the merged ids, then the rows by id (one query on the primary key). A row
    deleted in between is left out, as if it had been deleted just before."""
    keys = merged_keys(split, ordering, start, start + size)
    found: dict[Any, Any] = queryset.order_by().in_bulk(keys)
    return [found[pk] for pk in keys if pk in found]
