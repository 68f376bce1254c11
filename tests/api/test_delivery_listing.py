"""What keeps the delivery log's API list fast on millions of rows: a bounded count, no
``DISTINCT``, deep pages read by id, and an index that serves each filter in the list's order.
Asserted on small data (the properties, not times; the times are the log benchmark's)."""

from __future__ import annotations

import uuid
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
        assert len(counts) == 1, (params, queries)
        assert "LIMIT 100001" in counts[0].upper(), counts  # count_cap + 1, never the table
        # A filter on the log's own columns cannot repeat a row: DISTINCT would sort them all.
        assert not [q for q in queries if "DISTINCT" in q.upper()], (params, queries)


def paginate(pages: DeliveryOffsetPagination, **params: Any) -> tuple[list[Delivery], Any]:
    request = Request(APIRequestFactory().get(URL, params))
    rows = pages.paginate_queryset(Delivery.objects.order_by("created", "id"), request)
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


def test_deep_pages_read_their_ids_first_and_hold_the_same_rows() -> None:
    expected = [d.pk for d in logged(12)]
    pages = DeliveryOffsetPagination()
    pages.ids_first_from = 5
    shallow, _ = paginate(pages, limit=4, offset=1)
    with CaptureQueriesContext(connection) as captured:
        deep, answer = paginate(pages, limit=4, offset=6)
    assert [d.pk for d in shallow] == expected[1:5]
    assert [d.pk for d in deep] == expected[6:10]
    assert answer["count"] == 12 and "offset=10" in answer["next"]
    selects = [q["sql"] for q in captured.captured_queries if "COUNT(" not in q["sql"].upper()]
    ids_query, rows_query = selects
    assert ids_query.upper().endswith("LIMIT 5 OFFSET 6")  # one row more: is there a next page?
    assert "OFFSET" not in rows_query.upper()
    assert_served_by(ids_query, "webhooks_delivery_created")


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
    if connection.vendor == "postgresql":
        assert "Sort" not in steps and "Seq Scan" not in steps, steps
    else:
        assert "TEMP B-TREE" not in steps, steps


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
