"""The delivery log: what an attempt records, the failures-only mode, and response caps."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs, make_rule, make_webhook
from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.delivery.log import AttemptResult, record_results, storable
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_attempt_records_the_request_as_sent_and_the_response(
    queue: Queue, receiver: Receiver, site_rule: EventRule, webhook: Webhook
) -> None:
    Site.objects.create(name="Logged", slug="logged")
    drain(queue)
    delivery = Delivery.objects.get()
    attempt = delivery.attempts.get()
    [request] = receiver.wait_for(1)
    assert delivery.state == DeliveryState.SUCCEEDED
    assert delivery.webhook == webhook and delivery.event_rule == site_rule
    assert delivery.object_type == "inventory.site" and delivery.event_type == "object_created"
    assert str(delivery.event_id) == request.header("X-Hook-Event-Id")
    assert attempt.request_method == "POST" and attempt.request_url == receiver.url
    assert attempt.request_body.encode() == request.body
    assert attempt.request_headers["X-Hook-Signature"] == request.header("X-Hook-Signature")
    assert "s3cret" not in str(attempt.request_headers)
    assert attempt.response_status == 200 and attempt.response_body == "Webhook received!\n"
    assert attempt.duration_ms is not None and attempt.duration_ms > 0


def test_authorization_headers_are_redacted_in_the_log(queue: Queue, receiver: Receiver) -> None:
    make_rule(make_webhook(receiver.url, additional_headers="Authorization: Bearer token-123"))
    Site.objects.create(name="Token", slug="token")
    drain(queue)
    [request] = receiver.wait_for(1)
    assert request.header("Authorization") == "Bearer token-123"
    assert Delivery.objects.get().attempts.get().request_headers["Authorization"] == "[redacted]"


def test_failures_only_mode_skips_first_time_successes(
    queue: Queue, receiver: Receiver, site_rule: EventRule, settings: Any
) -> None:
    settings.WEBHOOKS_DELIVERY_LOG = "failures"
    Site.objects.create(name="Fine", slug="fine")
    drain(queue)
    assert len(receiver.wait_for(1)) == 1
    assert not Delivery.objects.exists()
    receiver.set_status(400)
    Site.objects.create(name="Bad", slug="bad")
    drain(queue)
    assert Delivery.objects.get().state == DeliveryState.FAILED


def test_only_the_start_of_a_response_is_kept(
    queue: Queue, receiver: Receiver, site_rule: EventRule, settings: Any
) -> None:
    settings.WEBHOOKS_LOG_BODY_BYTES = 5
    Site.objects.create(name="Short", slug="short")
    drain(queue)
    assert Delivery.objects.get().attempts.get().response_body == "Webho"


def test_deliveries_of_one_transaction_to_one_webhook_share_a_job(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    from django.db import transaction

    with transaction.atomic():
        for i in range(5):
            Site.objects.create(name=f"Batch {i}", slug=f"batch-{i}")
    assert queue.count == 1
    receiver.set_responses([200, 503, 200, 200, 400])
    drain(
        queue,
        until=lambda: not Delivery.objects.exclude(state__in=["succeeded", "failed"]).exists(),
    )
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == ["failed"] + ["succeeded"] * 4
    assert len({r.header("X-Hook-Event-Id") for r in receiver.requests}) == 5
    # The delivery that failed for good waits in the failed registry as a job of its own.
    [failed_id] = failed_jobs(queue)
    [failed] = queue.fetch_job(failed_id).args[0]
    assert failed["event_id"] == str(Delivery.objects.get(state="failed").event_id)


def test_a_deleted_object_is_logged_under_its_own_id(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    site = Site.objects.create(name="Gone", slug="gone")
    pk = site.pk
    site.delete()
    drain(queue)
    receiver.wait_for(2)
    logged = dict(Delivery.objects.values_list("event_type", "object_id"))
    assert logged == {"object_created": str(pk), "object_deleted": str(pk)}


def test_text_a_database_refuses_is_stored_escaped() -> None:
    # A NUL (PostgreSQL refuses it) or a lone surrogate (not UTF-8) from a receiver, a template
    # or an error message would fail the whole batch of the job's results.
    assert storable("a\x00b\ud800c") == "a\\x00b\\ud800c"
    assert storable("東京 fine") == "東京 fine"
    delivery_id = str(uuid.uuid4())
    result = AttemptResult(
        delivery={
            "delivery_id": delivery_id,
            "event_id": str(uuid.uuid4()),
            "webhook_id": None,
            "webhook_name": "gone",
            "event_rule_id": None,
            "event_type": "object_created",
            "object_type": "inventory.site",
            "object_id": "1",
            "attempt": 1,
            "context": {},
        },
        number=1,
        started_at=timezone.now(),
        outcome=AttemptOutcome.FAILED,
        request_url="http://127.0.0.1/\ud800",
        response_status=400,
        response_headers={"X-Odd": "a\x00b"},
        response_body="nul\x00here",
        error="Error rendering body: \udcff\x00",
    )
    record_results([result], {})
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.last_error == "Error rendering body: \\udcff\\x00"
    attempt = delivery.attempts.get()
    assert attempt.request_url == "http://127.0.0.1/\\ud800"
    assert attempt.response_headers == {"X-Odd": "a\\x00b"}
    assert attempt.response_body == "nul\\x00here"
