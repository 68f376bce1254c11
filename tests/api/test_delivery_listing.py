"""What keeps the delivery log's API list fast on millions of rows: a bounded count, no
``DISTINCT``, deep pages found by their creation time, and an index that serves each filter in the list's order.
Asserted on small data (the properties, not times; the times are the log benchmark's)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from tests.conftest import make_webhook
from webhooks_app.api.delivery_listing import DeliveryOffsetPagination
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, Webhook

from .conftest import API

pytestmark = pytest.mark.django_db(transaction=True)

URL = f"{API}/deliveries/"


def logged(count: int, webhook: Webhook | None = None, **fields: Any) -> list[Delivery]:
    """``count`` deliveries, oldest first; every third one failed."""
    return [
        Delivery.objects.create(
            event_id=uuid.uuid4(),
            webhook=webhook,
            webhook_name=webhook.name if webhook else "",
            object_type="inventory.site",
            object_id=str(n),
            event_type="object_created",
            state=DeliveryState.FAILED if n % 3 == 0 else DeliveryState.SUCCEEDED,
            payload={"n": n},
            **fields,
        )
        for n in range(count)
    ]


def log_queries(api: APIClient, params: dict[str, Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(URL, params)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in captured.captured_queries if "webhooks_app_delivery" in q["sql"]]


def filters(webhook: Webhook) -> list[dict[str, Any]]:
    return [
        {},
        {"state": "failed"},
        {"state": ["failed", "retrying"]},
        {"webhook": webhook.pk},
        {"event_type": "object_created"},
        {"ordering": "created"},
        {"offset": 20, "limit": 5},
    ]


def test_no_list_counts_more_than_the_bound_nor_asks_for_distinct_rows(api: APIClient) -> None:
    webhook = make_webhook("http://127.0.0.1:9/", name="Hook")
    logged(30, webhook)
    for params in filters(webhook):
        queries = log_queries(api, params)
        counts = [q for q in queries if "COUNT(" in q.upper()]
        # One count; several values of a filter: one per value, each bounded by what the
        # ones before left of the bound.
        several = any(isinstance(v, list) for v in params.values())
        assert len(counts) == (2 if several else 1), (params, queries)
        assert "LIMIT 100001" in counts[0].upper(), counts  # count_cap + 1, never the table
        limits = [int(re.findall(r"LIMIT (\d+)", q.upper())[-1]) for q in counts]
        assert limits == sorted(limits, reverse=True), counts
        # A filter on the log's own columns cannot repeat a row: DISTINCT would sort them all.
        assert not [q for q in queries if "DISTINCT" in q.upper()], (params, queries)


def paginate(pages: DeliveryOffsetPagination, **params: Any) -> tuple[list[Delivery], Any]:
    params.setdefault("ordering", "created")
    request = Request(APIRequestFactory().get(URL, params))
    rows = pages.paginate_queryset(Delivery.objects.all(), request)
    assert rows is not None
    return rows, pages.get_paginated_response([str(d.pk) for d in rows]).data


def test_above_the_count_bound_count_is_a_lower_bound_and_next_links_reach_the_end() -> None:
    expected = [d.pk for d in logged(11)]
    pages = DeliveryOffsetPagination()
    pages.count_cap = 4
    rows, first = paginate(pages, limit=3)
    assert [d.pk for d in rows] == expected[:3]
    assert first["count"] == 4 and first["previous"] is None  # at least 4
    seen, page = [d.pk for d in rows], first
    while page["next"]:
        offset = int(page["next"].split("offset=")[1].split("&")[0])
        rows, page = paginate(pages, limit=3, offset=offset)
        seen += [d.pk for d in rows]
        assert page["count"] >= min(offset + 3, 11)
    assert seen == expected
    assert page["count"] == 11  # exact on the last page
    rows, beyond = paginate(pages, limit=3, offset=50)
    assert (rows, beyond["count"], beyond["next"]) == ([], 4, None)


def test_deep_pages_are_found_by_time_and_hold_the_same_rows() -> None:
    expected = [d.pk for d in logged(12)]
    pages = DeliveryOffsetPagination()
    pages.by_time_from = 5
    shallow, _ = paginate(pages, limit=4, offset=1)
    with CaptureQueriesContext(connection) as captured:
        deep, answer = paginate(pages, limit=4, offset=6)
    assert [d.pk for d in shallow] == expected[1:5]
    assert [d.pk for d in deep] == expected[6:10]
    assert answer["count"] == 12 and "offset=10" in answer["next"]
    selects = [q["sql"] for q in captured.captured_queries if "COUNT(" not in q["sql"].upper()]
    times_query, rows_query = selects
    # The times of the rows before the page (created alone: the narrowest index), then the
    # page from its first row's time on, one row more than asked (is there a next page?).
    assert re.match(
        r'SELECT "webhooks_app_delivery"."created"( AS "created")? FROM', times_query
    ), times_query
    assert times_query.upper().endswith("LIMIT 7"), times_query
    assert '"created" >=' in rows_query and rows_query.upper().endswith("LIMIT 5"), rows_query
    assert_served_by(times_query, "webhooks_delivery_created")
    assert_served_by(rows_query, "webhooks_delivery_created")


def with_shared_times(count: int) -> None:
    """``count`` deliveries whose creation times come in runs of equal values (as the
    deliveries that one job logs share theirs): 3, 3, 6, 1, 1, ..."""
    start = Delivery.objects.order_by("created").values_list("created", flat=True)[0]
    runs = [3, 3, 6] + [1] * count
    second = 0
    pks = list(Delivery.objects.order_by("created", "id").values_list("pk", flat=True))
    while pks:
        run, runs = runs[0], runs[1:]
        same, pks = pks[:run], pks[run:]
        Delivery.objects.filter(pk__in=same).update(created=start + timedelta(seconds=second))
        second += 1


@pytest.mark.parametrize("ordering", ["created", "-created"])
@pytest.mark.parametrize("window", [1000, 2])
def test_deep_pages_hold_what_a_plain_offset_holds_when_times_are_equal(
    ordering: str, window: int
) -> None:
    logged(16)
    with_shared_times(16)
    tie_breaker = "-id" if ordering.startswith("-") else "id"
    everything = list(Delivery.objects.order_by(ordering, tie_breaker).values_list("pk", flat=True))
    pages = DeliveryOffsetPagination()
    pages.by_time_from = 0
    pages.tie_window = window  # 2: shorter than a run of equal times (a plain offset then)
    for offset in range(18):
        rows, answer = paginate(pages, limit=4, offset=offset, ordering=ordering)
        assert [d.pk for d in rows] == everything[offset : offset + 4], (offset, window)
        assert bool(answer["next"]) == (offset + 4 < 16)


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The statistics of a small table favour reading it all; what matters is that an
            # index can serve the filter in the list's order, without a sort.
            cursor.execute("SET enable_seqscan = off")
            try:
                cursor.execute(f"EXPLAIN {sql}")
                rows = cursor.fetchall()
            finally:
                cursor.execute("RESET enable_seqscan")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            rows = cursor.fetchall()
        return "\n".join(str(row[-1]) for row in rows)


def assert_served_by(sql: str, index: str) -> None:
    """The query reads the log through ``index``, already in the order it asks for."""
    steps = plan(sql)
    assert index in steps, (sql, steps)
    # Rows with the same creation time may be put in id order among themselves (PostgreSQL's
    # incremental sort, SQLite's "right part" of the order), never the whole range sorted.
    if connection.vendor == "postgresql":
        assert not re.search(r"(?<!Incremental )Sort  \(", steps), steps
        assert "Seq Scan" not in steps, steps
    else:
        assert "TEMP B-TREE FOR ORDER BY" not in steps, steps


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "webhooks_delivery_created"),
        ({"ordering": "created"}, "webhooks_delivery_created"),
        ({"state": "failed"}, "webhooks_delivery_state"),
        ({"webhook": "WEBHOOK"}, "webhooks_delivery_webhook"),
        ({"event_type": "object_created"}, "webhooks_delivery_evtype"),
        ({"offset": 20, "limit": 5}, "webhooks_delivery_created"),
    ],
)
def test_each_filtered_page_is_read_through_an_index_in_the_lists_order(
    api: APIClient, params: dict[str, Any], index: str
) -> None:
    webhook = make_webhook("http://127.0.0.1:9/", name="Hook")
    logged(30, webhook)
    params = {k: (webhook.pk if v == "WEBHOOK" else v) for k, v in params.items()}
    [page] = [q for q in log_queries(api, params) if "COUNT(" not in q.upper()]
    assert_served_by(page, index)
