"""One event's payload is stored once for all the deliveries that carry it (EventPayload), and
the log shows and redelivers each delivery as before: through the pipeline (capture, dispatch,
a real RQ worker, the receiver on loopback), the API and the admin."""

from __future__ import annotations

import html
import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs, make_rule, make_webhook
from tests.worker_processes import WorkerPool, wait_until
from webhooks_app.choices import DeliveryState
from webhooks_app.delivery.redelivery import redeliver
from webhooks_app.models import Delivery, DeliveryAttempt, EventPayload, Webhook
from webhooks_app.models.payload import payload_id
from webhooks_app.receiver import Receiver
from webhooks_app.specs import payload_body

pytestmark = pytest.mark.django_db(transaction=True)


def api_client() -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.filter(is_superuser=True).first())
    return api


def shown(admin_client: Client, api: APIClient, delivery: Delivery) -> tuple[Any, str]:
    """The payload as the API detail gives it, and the admin detail page's HTML."""
    body = api.get(f"/api/webhooks/deliveries/{delivery.pk}/").json()
    page = admin_client.get(f"/admin/webhooks_app/delivery/{delivery.pk}/change/")
    assert page.status_code == 200
    return body["payload"], page.content.decode()


def admin_shows(page: str, payload: Any) -> bool:
    return html.escape(json.dumps(payload, indent=2, ensure_ascii=False)) in page


def test_one_event_to_two_webhooks_stores_its_payload_once(
    queue: Queue, receiver: Receiver, admin_client: Client
) -> None:
    for name in ("First", "Second"):
        make_rule(make_webhook(receiver.url, name=name))
    Site.objects.create(name="Stored once", slug="stored-once")
    drain(queue)
    first, second = Delivery.objects.order_by("webhook_name")
    sent = {json.loads(r.body)["data"]["name"] for r in receiver.wait_for(2)}
    assert sent == {"Stored once"}
    [stored] = EventPayload.objects.all()
    assert first.event_id == second.event_id
    assert first.event_payload_id == second.event_payload_id == stored.pk
    assert first.stored_payload is None and second.stored_payload is None
    body = receiver.requests[0].body.decode()
    assert stored.pk == payload_id(first.event_id, json.dumps(json.loads(body)))
    api = api_client()
    for delivery in (first, second):
        payload, page = shown(admin_client, api, delivery)
        assert payload_body(payload) == body  # as sent, keys in their order
        assert admin_shows(page, delivery.payload)
    # Redelivered, each sends the very same body again, and no payload is stored again.
    for delivery in (first, second):
        assert redeliver(Delivery.objects.get(pk=delivery.pk))
    drain(queue)
    assert [r.body.decode() for r in receiver.wait_for(4)] == [body] * 4
    assert EventPayload.objects.count() == 1
    assert (
        list(DeliveryAttempt.objects.values_list("request_body_is_payload", flat=True))
        == [True] * 4
    )


def test_rules_with_different_action_data_store_one_payload_each(
    queue: Queue, receiver: Receiver, admin_client: Client
) -> None:
    webhook = make_webhook(receiver.url, name="Hook")
    make_rule(webhook, name="Eu", action_data={"region": "eu"})
    make_rule(webhook, name="Us", action_data={"region": "us"})
    Site.objects.create(name="Split", slug="split")
    drain(queue)
    eu, us = Delivery.objects.order_by("event_rule_name")
    assert eu.event_id == us.event_id
    assert EventPayload.objects.count() == 2
    assert eu.event_payload_id != us.event_payload_id
    bodies = {json.loads(r.body)["data"]["region"]: r.body for r in receiver.wait_for(2)}
    api = api_client()
    for delivery, region in ((eu, "eu"), (us, "us")):
        payload, page = shown(admin_client, api, delivery)
        assert payload["data"]["region"] == region
        assert payload_body(payload).encode() == bodies[region]
        assert admin_shows(page, payload)
        redeliver(Delivery.objects.get(pk=delivery.pk))
    drain(queue)
    again = receiver.wait_for(4)[2:]
    assert [r.body for r in again] == [bodies["eu"], bodies["us"]]


def test_a_delivery_logged_with_its_own_copy_still_shows_and_redelivers(
    queue: Queue, receiver: Receiver, webhook: Webhook, admin_client: Client
) -> None:
    # As deliveries were logged before payloads were shared (migration 0011): the payload in
    # the delivery's own column, an attempt whose body was that payload as JSON.
    context = {"event": "updated", "data": {"zeta": 1, "name": "Before", "alpha": 2}}
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(),
        webhook=webhook,
        webhook_name=webhook.name,
        object_type="inventory.site",
        object_id="1",
        event_type="object_updated",
        state=DeliveryState.FAILED,
        attempt_count=1,
        stored_payload=context,
    )
    delivery.attempts.create(
        number=1,
        started_at=timezone.now(),
        outcome="failed",
        request_body_is_payload=True,
        response_status=500,
    )
    payload, page = shown(admin_client, api_client(), delivery)
    assert json.dumps(payload) == json.dumps(context)
    assert admin_shows(page, context)
    assert redeliver(Delivery.objects.get(pk=delivery.pk))
    drain(queue)
    [request] = receiver.wait_for(1)
    assert request.body.decode() == payload_body(context)
    logged = Delivery.objects.get(pk=delivery.pk)
    assert (logged.state, logged.event_payload_id) == (DeliveryState.SUCCEEDED, None)
    assert [a.request_body for a in logged.attempts.order_by("number")] == [
        payload_body(context)
    ] * 2
    assert not EventPayload.objects.exists()


def test_deliveries_of_one_event_logged_at_once_by_different_workers_share_one_payload(
    queue: Queue, receiver: Receiver, pool: WorkerPool, settings: Any
) -> None:
    # One delivery per job: an event's deliveries to four webhooks are four jobs, run by three
    # worker processes at the same time, each inserting the payload in its own transaction.
    settings.WEBHOOKS_BATCH_SIZE = 1
    for n in range(4):
        make_rule(make_webhook(receiver.url, name=f"hook-{n}"))
    pool.start(3)
    for n in range(6):
        Site.objects.create(name=f"Site {n}", slug=f"site-{n}", description=f"number {n}")
    wait_until(
        lambda: Delivery.objects.filter(state=DeliveryState.SUCCEEDED).count() == 24,
        120,
        "24 deliveries to succeed",
    )
    assert not failed_jobs(queue), pool.logs()
    payloads: dict[uuid.UUID, set[uuid.UUID | None]] = {}
    for event, reference in Delivery.objects.values_list("event_id", "event_payload_id"):
        payloads.setdefault(event, set()).add(reference)
    assert len(payloads) == 6
    assert all(len(references) == 1 for references in payloads.values())
    assert EventPayload.objects.count() == 6
    descriptions = {str(pk): text for pk, text in Site.objects.values_list("pk", "description")}
    for delivery in Delivery.objects.select_related("event_payload"):
        assert delivery.payload["data"]["description"] == descriptions[delivery.object_id]
