"""The delivery log over REST, and redelivery through the real queue, worker and receiver."""

from __future__ import annotations

import uuid
from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, make_rule, make_webhook, queued_deliveries
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.receiver import Receiver

from .conftest import API, results

pytestmark = pytest.mark.django_db(transaction=True)

URL = f"{API}/deliveries/"


def deliver_sites(queue: Queue, *names: str) -> list[Site]:
    sites = [Site.objects.create(name=name, slug=name.lower()) for name in names]
    drain(queue)
    return sites


def test_list_shows_each_delivery_with_its_counts_and_links(
    api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [site] = deliver_sites(queue, "Paris")
    page = api.get(URL).json()
    assert page["count"] == 1
    [item] = page["results"]
    delivery = Delivery.objects.get()
    assert item["id"] == str(delivery.pk)
    assert item["url"] == f"http://testserver{URL}{delivery.pk}/"
    assert item["event_id"] == str(delivery.event_id)
    assert item["webhook"]["name"] == "Receiver" and item["webhook_name"] == "Receiver"
    assert item["event_rule"]["name"] == "Sites"
    assert (item["object_type"], item["object_id"]) == ("inventory.site", str(site.pk))
    assert (item["event_type"], item["state"]) == ("object_created", "succeeded")
    assert (item["attempt_count"], item["last_status_code"]) == (1, 200)
    assert "attempts" not in item and "payload" not in item


def test_detail_has_the_payload_and_every_attempt(
    api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    receiver.set_responses([503])
    Site.objects.create(name="Flaky", slug="flaky")
    drain(queue, until=lambda: Delivery.objects.filter(state=DeliveryState.SUCCEEDED).exists())
    delivery = Delivery.objects.get()
    body = api.get(f"{URL}{delivery.pk}/").json()
    assert body["payload"]["data"]["name"] == "Flaky"
    first, second = body["attempts"]
    assert list(first) == [
        "number", "started_at", "duration_ms", "outcome", "request_method", "request_url",
        "request_headers", "request_body", "response_status", "response_headers",
        "response_body", "error",
    ]  # fmt: skip
    assert (first["number"], first["outcome"], first["response_status"]) == (1, "retryable", 503)
    assert (second["number"], second["outcome"], second["response_status"]) == (2, "succeeded", 200)
    assert first["request_method"] == "POST" and first["request_url"] == receiver.url
    assert first["request_headers"]["X-Hook-Event-Id"] == str(delivery.event_id)
    assert '"name": "Flaky"' in first["request_body"]
    assert first["error"].startswith("Status 503")


def test_filters_by_state_webhook_rule_object_event_and_time(
    api: APIClient, queue: Queue, receiver: Receiver, webhook: Webhook
) -> None:
    other = make_webhook(receiver.url + "other", name="Other")
    sites_rule = make_rule(webhook, name="Sites")
    make_rule(other, models=("inventory.device",), name="Devices")
    receiver.set_responses([400])
    first, second = deliver_sites(queue, "One", "Two")
    failed = Delivery.objects.get(state=DeliveryState.FAILED)
    succeeded = Delivery.objects.get(state=DeliveryState.SUCCEEDED)

    def ids(**params: Any) -> set[str]:
        return {item["id"] for item in results(api.get(URL, params))}

    everything = {str(failed.pk), str(succeeded.pk)}
    assert ids(state="failed") == {str(failed.pk)}
    assert ids(state=["failed", "succeeded"]) == everything
    assert ids(webhook=webhook.pk) == everything
    assert ids(webhook=other.pk) == set()
    assert ids(rule=sites_rule.pk) == everything
    assert ids(object_type="inventory.site", object_id=str(second.pk)) == {
        str(Delivery.objects.get(object_id=str(second.pk)).pk)
    }
    assert ids(object_type="inventory.device") == set()
    assert ids(event_id=str(failed.event_id)) == {str(failed.pk)}
    assert ids(event_type="object_created") == everything
    now = timezone.now()
    assert ids(created_after=(now - timedelta(minutes=5)).isoformat()) == everything
    assert ids(created_before=(now - timedelta(minutes=5)).isoformat()) == set()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"state": "lost"}, "state"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "0001-01-01T00:00:00+20:20"}, "created_before"),  # before year 1 UTC
        ({"webhook": "-1"}, "webhook"),
        ({"rule": str(2**70)}, "rule"),
        ({"object_type": "site"}, "object_type"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_parameter(
    api: APIClient, params: dict[str, str], name: str
) -> None:
    response = api.get(URL, params)
    assert response.status_code == 400
    assert name in response.json()


def test_date_filters_take_any_utc_offset_python_accepts(api: APIClient) -> None:
    # PostgreSQL refuses offsets beyond ±15:59 (a 500 if passed through); they are compared in UTC.
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(), object_type="inventory.site", event_type="object_created", payload={}
    )
    far_east = dt_timezone(timedelta(hours=20, minutes=20))
    before = (delivery.created - timedelta(minutes=1)).astimezone(far_east).isoformat()
    after = (delivery.created + timedelta(minutes=1)).astimezone(far_east).isoformat()
    assert "+20:20" in before

    def ids(**params: Any) -> set[str]:
        response = api.get(URL, params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in results(response)}

    assert ids(created_after=before) == {str(delivery.pk)}
    assert ids(created_after=after) == set()
    assert ids(created_before=after) == {str(delivery.pk)}
    assert ids(created_before="2026-01-01T00:00:00-23:59", created_after=after) == set()


def test_an_unknown_or_malformed_delivery_id_is_a_404(api: APIClient) -> None:
    assert api.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert api.get(f"{URL}not-a-uuid/").status_code == 404
    assert api.post(f"{URL}{uuid.uuid4()}/redeliver/").status_code == 404


def test_a_failed_delivery_redelivered_succeeds_with_the_same_event_and_a_new_attempt(
    api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    receiver.set_status(400)
    deliver_sites(queue, "Rejected")
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    receiver.set_status(200)
    response = api.post(f"{URL}{delivery.pk}/redeliver/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "pending" and response.json()["id"] == str(delivery.pk)
    drain(queue)
    first, second = receiver.wait_for(2)
    assert (
        first.header("X-Hook-Event-Id")
        == second.header("X-Hook-Event-Id")
        == str(delivery.event_id)
    )
    assert (first.header("X-Hook-Attempt"), second.header("X-Hook-Attempt")) == ("1", "2")
    body = api.get(f"{URL}{delivery.pk}/").json()
    assert body["state"] == "succeeded" and body["attempt_count"] == 2
    assert [a["response_status"] for a in body["attempts"]] == [400, 200]


def test_redelivery_with_redis_down_is_a_503_and_changes_nothing(
    api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule, redis_down: None
) -> None:
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(),
        webhook=site_rule.webhook,
        object_type="inventory.site",
        event_type="object_created",
        state=DeliveryState.FAILED,
        payload={},
    )
    response = api.post(f"{URL}{delivery.pk}/redeliver/")
    assert response.status_code == 503
    assert "Redis" in response.json()["detail"]
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED


def test_redelivery_of_a_delivery_whose_webhook_is_gone_is_a_409(
    api: APIClient, queue: Queue
) -> None:
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(),
        webhook=None,
        object_type="inventory.site",
        event_type="object_created",
        payload={},
    )
    response = api.post(f"{URL}{delivery.pk}/redeliver/")
    assert response.status_code == 409
    assert "no longer exists" in response.json()["detail"]


def logged(count: int, **fields: Any) -> list[Delivery]:
    """``count`` deliveries in the log, oldest first (one microsecond or more apart)."""
    return [
        Delivery.objects.create(
            event_id=uuid.uuid4(),
            object_type="inventory.site",
            object_id=str(n),
            event_type="object_created",
            payload={},
            **fields,
        )
        for n in range(count)
    ]


def test_ordering_by_created_either_way_and_an_unknown_field_is_a_400(api: APIClient) -> None:
    oldest_first = [str(d.pk) for d in logged(3)]
    assert [d["id"] for d in results(api.get(URL))] == oldest_first[::-1]
    assert [d["id"] for d in results(api.get(URL, {"ordering": "created"}))] == oldest_first
    newest = results(api.get(URL, {"ordering": "-created"}))
    assert [d["id"] for d in newest] == oldest_first[::-1]
    for unknown in ("payload", "created,payload", "webhook__secret"):
        response = api.get(URL, {"ordering": unknown})
        assert response.status_code == 400, unknown
        assert "ordering" in response.json()


def test_cursor_pages_have_no_count_and_stay_stable_while_deliveries_are_logged(
    api: APIClient,
) -> None:
    expected = [str(d.pk) for d in logged(5)][::-1]
    first = api.get(URL, {"pagination": "cursor", "limit": "2"}).json()
    assert "count" not in first and first["previous"] is None
    logged(3)  # newer deliveries arrive between two pages
    seen = [d["id"] for d in first["results"]]
    page = first
    while page["next"]:
        assert "cursor=" in page["next"]
        page = api.get(page["next"]).json()
        seen += [d["id"] for d in page["results"]]
    assert seen == expected
    # Limit/offset stays the default, with its count.
    assert api.get(URL, {"limit": 2}).json()["count"] == 8
    response = api.get(URL, {"pagination": "pages"})
    assert response.status_code == 400 and "pagination" in response.json()


def test_cursor_pages_follow_the_ordering(api: APIClient) -> None:
    expected = [str(d.pk) for d in logged(3)]
    page = api.get(URL, {"pagination": "cursor", "limit": "2", "ordering": "created"}).json()
    seen = [d["id"] for d in page["results"]]
    seen += [d["id"] for d in api.get(page["next"]).json()["results"]]
    assert seen == expected


def test_redelivering_a_delivery_pruned_meanwhile_is_a_404(
    api: APIClient, queue: Queue, site_rule: EventRule
) -> None:
    [delivery] = logged(1, webhook=site_rule.webhook, state=DeliveryState.FAILED)

    def prune_right_after_the_update(
        execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if sql.startswith("UPDATE") and "webhooks_app_delivery" in sql:
            context["cursor"].execute(
                "DELETE FROM webhooks_app_delivery WHERE id = %s", [delivery.pk.hex]
            )
        return result

    with connection.execute_wrapper(prune_right_after_the_update):
        response = api.post(f"{URL}{delivery.pk}/redeliver/")
    assert response.status_code == 404, response.content
    assert not Delivery.objects.filter(pk=delivery.pk).exists()


def history(name: str, count: int) -> tuple[Webhook, EventRule]:
    """A webhook and its rule with ``count`` deliveries in the log."""
    webhook = make_webhook("http://127.0.0.1:9/", name=name)
    rule = make_rule(webhook, name=f"{name} rule")
    Delivery.objects.bulk_create(
        Delivery(
            event_id=uuid.uuid4(),
            webhook=webhook,
            webhook_name=webhook.name,
            event_rule=rule,
            event_rule_name=rule.name,
            object_type="inventory.site",
            object_id=str(n),
            event_type="object_created",
            state=DeliveryState.FAILED,
            payload={},
        )
        for n in range(count)
    )
    return webhook, rule


def delete_through_api(api: APIClient, webhook: Webhook, rule: EventRule) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert api.delete(f"{API}/event-rules/{rule.pk}/").status_code == 204
        assert api.delete(f"{API}/webhooks/{webhook.pk}/").status_code == 204
    return [q["sql"] for q in captured.captured_queries]


def test_deleting_a_webhook_and_its_rule_leaves_their_history_untouched(api: APIClient) -> None:
    small = delete_through_api(api, *history("Small", 2))
    large = delete_through_api(api, *history("Large", 60))
    # The deletes do not touch the log: the same queries whatever its size, none on the log.
    assert len(small) == len(large)
    assert not [sql for sql in large if "webhooks_app_delivery" in sql]
    assert Delivery.objects.filter(webhook_name="Large", event_rule_name="Large rule").count() == 60


def test_the_history_of_a_deleted_webhook_is_listed_by_name_and_not_redeliverable(
    api: APIClient, queue: Queue
) -> None:
    webhook, rule = history("Gone", 3)
    delete_through_api(api, webhook, rule)
    items = results(api.get(URL))
    assert len(items) == 3
    assert {(i["webhook"], i["webhook_name"], i["event_rule"]) for i in items} == {
        (None, "Gone", None)
    }
    assert len(results(api.get(URL, {"state": "failed"}))) == 3
    delivery = Delivery.objects.first()
    assert delivery is not None and delivery.existing_webhook() is None
    detail = api.get(f"{URL}{delivery.pk}/")
    assert detail.status_code == 200
    assert (detail.json()["webhook"], detail.json()["webhook_name"]) == (None, "Gone")
    response = api.post(f"{URL}{delivery.pk}/redeliver/")
    assert response.status_code == 409
    assert "no longer exists" in response.json()["detail"]
    assert not queued_deliveries(queue)
