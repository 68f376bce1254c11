"""A list filtered by several values of a column (``?state=failed&state=retrying``, two
webhooks, both): read as a merge of one index range per combination of values, whose pages,
counts and links are those of the whole sorted list, for limit/offset and cursor pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.api.test_delivery_listing import (
    URL,
    log_queries,
    plan,
    with_shared_times,
)
from tests.conftest import make_rule, make_webhook
from webhooks_app.api import delivery_merge
from webhooks_app.api.delivery_listing import DeliveryOffsetPagination
from webhooks_app.choices import DeliveryState, EventType
from webhooks_app.models import Delivery, EventRule, Webhook

pytestmark = pytest.mark.django_db(transaction=True)


STATES = [DeliveryState.FAILED, DeliveryState.RETRYING, DeliveryState.SUCCEEDED]


def mixed_log(count: int) -> tuple[Webhook, Webhook, Webhook]:
    """``count`` deliveries spread over three webhooks, two rules (and none), three states and
    two event types, whose creation times come in runs of equal values that cross the values
    (3, 3, 6, 1, 1, ...: ties between branches)."""
    hooks = tuple(make_webhook("http://127.0.0.1:9/", name=f"Hook {n}") for n in range(3))
    rules = [make_rule(hooks[0]), make_rule(hooks[1])]
    for n in range(count):
        Delivery.objects.create(
            event_id=uuid.uuid4(),
            webhook=hooks[n % 3],
            event_rule=rules[n % 2] if n % 5 else None,
            object_type="inventory.site",
            object_id=str(n),
            event_type=EventType.values[n % 2],
            state=STATES[(n // 2) % 3],
            payload={"n": n},
        )
    with_shared_times(count)
    return hooks[0], hooks[1], hooks[2]


def several(params: dict[str, Any], hooks: tuple[Webhook, ...]) -> dict[str, Any]:
    """``params`` with webhook names (``W0``...) replaced by those webhooks' ids."""
    return {
        k: [hooks[int(x[1])].pk if str(x).startswith("W") else x for x in v]
        if isinstance(v, list)
        else v
        for k, v in params.items()
    }


def expected_ids(params: dict[str, Any], ordering: str) -> list[str]:
    lookups = {f"{k}__in": v for k, v in params.items() if k in ("state", "webhook")}
    tie_breaker = "-id" if ordering.startswith("-") else "id"
    everything = Delivery.objects.filter(**lookups).order_by(ordering, tie_breaker)
    return [str(pk) for pk in everything.values_list("pk", flat=True)]


SEVERAL_VALUES = [
    {"state": ["failed", "retrying"]},
    {"state": ["failed", "retrying", "failed"]},  # a value twice: its rows once
    {"webhook": ["W0", "W1"]},
    {"webhook": ["W0", "W1", "W2"]},
    {"state": ["failed", "succeeded"], "webhook": ["W0", "W2"]},  # not split: one query
]


@pytest.mark.parametrize("ordering", ["created", "-created"])
@pytest.mark.parametrize("params", SEVERAL_VALUES)
def test_pages_of_several_values_are_the_slices_of_the_whole_sorted_list(
    api: APIClient, params: dict[str, Any], ordering: str
) -> None:
    hooks = mixed_log(24)
    params = several(params, hooks)
    expected = expected_ids(params, ordering)
    assert 6 <= len(expected) <= 24
    for limit in (1, 4):
        for offset in range(len(expected) + 2):
            page = {**params, "ordering": ordering, "limit": limit, "offset": offset}
            response = api.get(URL, page)
            assert response.status_code == 200, response.content
            answer = response.json()
            assert [d["id"] for d in answer["results"]] == expected[offset : offset + limit]
            assert answer["count"] == len(expected)
            assert bool(answer["next"]) == (offset + limit < len(expected)), (offset, limit)
            assert bool(answer["previous"]) == (offset > 0)


def assert_no_sort(sql: str) -> None:
    steps = plan(sql)
    if connection.vendor == "postgresql":
        assert not re.search(r"(?<!Incremental )Sort  \(", steps), steps
        assert "Seq Scan" not in steps, steps
    else:
        assert "TEMP B-TREE FOR ORDER BY" not in steps, steps
        assert "SCAN webhooks_app_delivery" not in steps, steps


@pytest.mark.parametrize(
    ("params", "indexes"),
    [
        ({"state": ["failed", "retrying"]}, ["webhooks_delivery_state"]),
        ({"webhook": ["W0", "W1"]}, ["webhooks_delivery_webhook"]),
        ({"rule": ["R0", "R1"]}, ["webhooks_delivery_rule"]),
        ({"event_type": ["object_created", "object_updated"]}, ["webhooks_delivery_evtype"]),
    ],
)
@pytest.mark.parametrize("ordering", ["created", "-created"])
def test_several_values_are_read_as_index_ranges_in_order_and_nothing_sorts_all_matches(
    api: APIClient, params: dict[str, Any], indexes: list[str], ordering: str
) -> None:
    hooks = mixed_log(24)
    rules = list(EventRule.objects.order_by("pk").values_list("pk", flat=True))
    params = several(params, hooks)
    if "rule" in params:
        params["rule"] = rules
    branches = 1
    for values in params.values():
        branches *= len(values)
    queries = log_queries(api, {**params, "ordering": ordering, "limit": 3, "offset": 2})
    counts = [q for q in queries if "COUNT(" in q.upper()]
    ranges = [q for q in queries if q not in counts and " IN (" not in q.upper()]
    rows = [q for q in queries if " IN (" in q.upper()]
    assert (len(counts), len(ranges), len(rows)) == (branches, branches, 1), queries
    for sql in counts + ranges:
        steps = plan(sql)
        assert any(index in steps for index in indexes), (sql, steps)
        assert_no_sort(sql)
    way = "DESC" if ordering.startswith("-") else "ASC"
    for sql in ranges:  # each range in order, up to the page's end and one row more
        assert re.match(
            r'SELECT "webhooks_app_delivery"."created".*, "webhooks_app_delivery"."id"', sql
        )
        assert re.search(rf'ORDER BY \S+ {way}, "webhooks_app_delivery"."id" {way} LIMIT 6$', sql)
    assert_no_sort(rows[0])  # the page's rows by id


@pytest.mark.parametrize(
    "bound", [{"merge_rows": 8}, {"max_branches": 1}], ids=["too deep", "too many"]
)
def test_beyond_the_bounds_several_values_are_read_as_one_query_and_still_right(
    api: APIClient, monkeypatch: pytest.MonkeyPatch, bound: dict[str, int]
) -> None:
    if "merge_rows" in bound:  # 2 values x (offset + 3 + 1) rows: offset 0 only
        monkeypatch.setattr(DeliveryOffsetPagination, "merge_rows", bound["merge_rows"])
    else:
        monkeypatch.setattr(delivery_merge, "MAX_BRANCHES", bound["max_branches"])
    hooks = mixed_log(24)
    params = several({"webhook": ["W0", "W1"]}, hooks)
    expected = expected_ids(params, "-created")
    for offset in (0, 3):
        queries = log_queries(api, {**params, "limit": 3, "offset": offset})
        answer = api.get(URL, {**params, "limit": 3, "offset": offset}).json()
        assert [d["id"] for d in answer["results"]] == expected[offset : offset + 3]
        assert answer["count"] == len(expected)
        split = "merge_rows" in bound  # the count is split at any depth, the page not
        merged = split and offset == 0
        counts = [q for q in queries if "COUNT(" in q.upper()]
        assert len(counts) == (2 if split else 1), queries
        assert len([q for q in queries if " IN (" in q.upper()]) == int(merged), queries


def test_two_filters_with_several_values_are_read_as_one_query(api: APIClient) -> None:
    hooks = mixed_log(24)
    params = several({"state": ["failed", "succeeded"], "webhook": ["W0", "W2"]}, hooks)
    queries = log_queries(api, {**params, "limit": 3})
    assert len(queries) == 2, queries  # the bounded count and the page, as before
    assert "LIMIT 100001" in queries[0].upper(), queries


def walk(api: APIClient, url: str | None, query: dict[str, Any] | None, link: str) -> list[Any]:
    """The answers from ``url`` on, following each answer's ``link`` (next or previous)."""
    answers = []
    while url:
        response = api.get(url, query)
        assert response.status_code == 200, response.content
        answers.append(response.json())
        url, query = answers[-1][link], None
    return answers


def both_ways(api: APIClient, query: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The cursor pages from the first to the last, then back from the last."""
    forward = walk(api, URL, query, "next")
    return forward, walk(api, forward[-1]["previous"], None, "previous")


def ids_of(answers: list[Any]) -> list[str]:
    return [d["id"] for answer in answers for d in answer["results"]]


@pytest.mark.parametrize("ordering", ["created", "-created"])
@pytest.mark.parametrize("params", SEVERAL_VALUES)
def test_cursor_pages_of_several_values_walk_the_whole_sorted_list_both_ways(
    api: APIClient, params: dict[str, Any], ordering: str
) -> None:
    hooks = mixed_log(24)
    params = several(params, hooks)
    expected = expected_ids(params, ordering)
    for limit in (1, 4):
        query = {**params, "ordering": ordering, "limit": limit, "pagination": "cursor"}
        forward, back = both_ways(api, query)
        assert ids_of(forward) == expected
        assert ids_of(back[::-1]) + ids_of(forward[-1:]) == expected
