"""Fewer bytes per delivery: an attempt's body that is its delivery's payload as JSON is not
stored a second time, and every reader (the model, the API, the admin) shows it byte for byte
as it was sent. Payloads (stored once per event and content, see tests/models/test_payload.py)
are read only where they are shown: never by a list, with their delivery on a detail page."""

from __future__ import annotations

import html
import json
import uuid
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, make_rule, make_webhook
from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.delivery.log import AttemptResult, is_payload_body, record_results
from webhooks_app.delivery.redelivery import redeliver
from webhooks_app.models import Delivery, EventPayload, EventRule
from webhooks_app.receiver import Receiver
from webhooks_app.specs import payload_body

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_body_that_is_the_payload_as_json_is_stored_once_and_reads_back_as_sent(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    receiver.set_responses([503, 200, 200])
    Site.objects.create(name="Stored once", slug="once")
    drain(queue, until=lambda: Delivery.objects.filter(state=DeliveryState.SUCCEEDED).exists())
    redeliver(Delivery.objects.get())
    drain(queue, until=lambda: Delivery.objects.get().attempt_count == 3)
    bodies = [r.body for r in receiver.wait_for(3)]
    attempts = list(Delivery.objects.get().attempts.order_by("number"))
    # The first attempt, its retry and a redelivery: none stores the body again.
    assert [(a.request_body_is_payload, a.stored_request_body) for a in attempts] == [
        (True, "")
    ] * 3
    assert [a.request_body.encode() for a in attempts] == bodies
    assert json.loads(bodies[0])["data"]["name"] == "Stored once"


def test_a_templated_body_is_stored_as_sent(queue: Queue, receiver: Receiver) -> None:
    make_rule(make_webhook(receiver.url, name="Templated", body_template="name={{ data.name }}"))
    Site.objects.create(name="Tmpl", slug="tmpl")
    drain(queue)
    attempt = Delivery.objects.get().attempts.get()
    assert attempt.stored_request_body == attempt.request_body == "name=Tmpl"
    assert not attempt.request_body_is_payload
    assert receiver.wait_for(1)[0].body == b"name=Tmpl"


def test_only_a_body_identical_to_the_payload_rebuilt_from_storage_is_left_out() -> None:
    payload = {"event": "created", "data": {"name": "Zoë", "ratio": 0.1, "tags": [1, 2]}}
    assert is_payload_body(payload_body(payload), payload)
    assert not is_payload_body(payload_body(payload) + " ", payload)
    assert not is_payload_body(json.dumps(payload, indent=1), payload)  # same data, other text
    assert not is_payload_body(payload_body({**payload, "context": {"x": 1}}), payload)
    assert not is_payload_body("", {})  # nothing was sent: an empty body stays empty
    # Keys 1 and "1" are one key once stored as JSON: the rebuilt text would differ.
    clash: dict[Any, str] = {1: "a", "1": "b"}
    assert not is_payload_body(json.dumps(clash), clash)
    assert not is_payload_body("{}", {"when": timezone.now()})  # not storable as JSON as is


def logged_with_attempts(count: int) -> Delivery:
    """A delivery whose ``count`` attempts each sent its payload as JSON."""
    context = {"event": "updated", "data": {"id": 7, "name": "Logged <b>"}}
    spec: Any = {
        "delivery_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "webhook_id": None,
        "webhook_name": "hook",
        "event_rule_id": None,
        "event_type": "object_updated",
        "object_type": "inventory.site",
        "object_id": "7",
        "attempt": 1,
        "context": context,
    }
    results = [
        AttemptResult(
            delivery=spec,
            number=n,
            started_at=timezone.now(),
            outcome=AttemptOutcome.RETRYABLE,
            request_method="POST",
            request_url="http://127.0.0.1:9/",
            request_body=payload_body(context),
            response_status=503,
        )
        for n in range(1, count + 1)
    ]
    record_results(results, {})
    return Delivery.objects.get(pk=spec["delivery_id"])


def test_the_api_and_the_admin_show_the_body_rebuilt_without_a_query_per_attempt(
    admin_client: Client,
) -> None:
    api = APIClient()
    api.force_authenticate(User.objects.get(username="admin"))
    one, three = logged_with_attempts(1), logged_with_attempts(3)
    expected = payload_body(one.payload)
    admin_client.get(f"/admin/webhooks_app/delivery/{one.pk}/change/")  # the session, warm
    queries = {}
    for delivery in (one, three):
        assert not delivery.attempts.exclude(
            request_body_is_payload=True, stored_request_body=""
        ).exists()
        with CaptureQueriesContext(connection) as api_queries:
            body = api.get(f"/api/webhooks/deliveries/{delivery.pk}/").json()
        shown = [a["request_body"] for a in body["attempts"]]
        assert shown == [expected] * delivery.attempt_count
        with CaptureQueriesContext(connection) as admin_queries:
            page = admin_client.get(f"/admin/webhooks_app/delivery/{delivery.pk}/change/")
        assert page.content.decode().count(html.escape(expected)) == delivery.attempt_count
        queries[delivery.attempt_count] = (len(api_queries), len(admin_queries))
    assert queries[1] == queries[3]


PAYLOAD_TABLE = EventPayload._meta.db_table


def reads_a_payload(sql: str) -> bool:
    return PAYLOAD_TABLE in sql or '."payload"' in sql


def test_the_lists_read_no_payload_and_the_details_join_it(
    queue: Queue, receiver: Receiver, admin_client: Client
) -> None:
    for name in ("One", "Two"):
        make_rule(make_webhook(receiver.url, name=name))
    Site.objects.create(name="Listed", slug="listed")
    drain(queue)
    delivery = Delivery.objects.first()
    assert delivery is not None and EventPayload.objects.count() == 1
    api = APIClient()
    api.force_authenticate(User.objects.get(username="admin"))
    admin = "/admin/webhooks_app/delivery/"
    deliveries = "/api/webhooks/deliveries/"
    lists = [
        (admin_client, admin, {}),
        (admin_client, admin, {"q": str(delivery.event_id)}),
        (admin_client, admin, {"state__exact": "succeeded"}),
        (api, deliveries, {}),
        (api, deliveries, {"limit": 1, "offset": 1}),
        (api, deliveries, {"pagination": "cursor"}),
        (api, deliveries, {"event_id": str(delivery.event_id)}),
    ]
    for client, url, params in lists:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, params).status_code == 200
        sqls = [q["sql"] for q in captured.captured_queries]
        assert any("webhooks_app_delivery" in s for s in sqls)
        assert not [s for s in sqls if reads_a_payload(s)], (url, params)
    details = [
        (admin_client, f"{admin}{delivery.pk}/change/"),
        (api, f"{deliveries}{delivery.pk}/"),
    ]
    for client, url in details:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        payload_reads = [q["sql"] for q in captured.captured_queries if reads_a_payload(q["sql"])]
        # Read with the delivery (a join), never on its own (the admin reads the delivery twice).
        assert payload_reads and all("JOIN" in s for s in payload_reads), payload_reads


def test_a_list_of_deliveries_is_redelivered_with_one_query_for_their_payloads(
    queue: Queue, receiver: Receiver, admin_client: Client
) -> None:
    for name in ("One", "Two", "Three"):
        make_rule(make_webhook(receiver.url, name=name))
    Site.objects.create(name="Again", slug="again")
    drain(queue)
    receiver.clear()
    ids = [str(pk) for pk in Delivery.objects.values_list("pk", flat=True)]
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.post(
            "/admin/webhooks_app/delivery/",
            {"action": "redeliver_selected", "post": "yes", ACTION_CHECKBOX_NAME: ids},
        )
    assert response.status_code == 302
    payload_reads = [q["sql"] for q in captured.captured_queries if reads_a_payload(q["sql"])]
    assert len(payload_reads) == 1, payload_reads
    drain(queue)
    bodies = {r.body for r in receiver.wait_for(3)}
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["data"]["name"] == "Again"
