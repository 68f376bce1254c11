"""Pruning the delivery log: in bounded batches, each in its own transaction, with memory that
does not grow with the number of rows pruned; a shared payload goes with the last delivery that
refers to it, whether the retention or the admin deletes it."""

from __future__ import annotations

import tracemalloc
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webhooks_app.choices import AttemptOutcome
from webhooks_app.delivery.log import AttemptResult, record_results
from webhooks_app.delivery.retention import prune_deliveries, prune_older_than
from webhooks_app.models import Delivery, DeliveryAttempt, EventPayload
from webhooks_app.specs import payload_body

pytestmark = pytest.mark.django_db

PAYLOAD = {"data": {"description": "x" * 1500}}
PAYLOADS = EventPayload._meta.db_table


def log(count: int, days_old: int, first: int = 0) -> list[Delivery]:
    """``count`` deliveries created ``days_old`` days ago, each with one attempt and its own
    payload (one webhook per event, as the log writes them)."""
    created = timezone.now() - timedelta(days=days_old)
    payloads = EventPayload.objects.bulk_create(
        EventPayload(id=uuid.uuid4(), data=PAYLOAD) for _ in range(count)
    )
    rows = Delivery.objects.bulk_create(
        Delivery(
            event_id=uuid.uuid4(),
            object_type="inventory.site",
            object_id=str(first + n),
            event_type="object_created",
            event_payload=payload,
        )
        for n, payload in enumerate(payloads)
    )
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(created=created)
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=d, number=1, started_at=created, outcome="succeeded", request_body="y" * 500
        )
        for d in rows
    )
    return rows


def logged(event_id: str, context: dict[str, Any], webhook: str, days_old: int = 40) -> Delivery:
    """A delivery of event ``event_id`` to ``webhook``, written by the log as a worker does."""
    spec: Any = {
        "delivery_id": str(uuid.uuid4()),
        "event_id": event_id,
        "webhook_id": None,
        "webhook_name": webhook,
        "event_rule_id": None,
        "event_type": "object_updated",
        "object_type": "inventory.site",
        "object_id": "7",
        "attempt": 1,
        "context": context,
    }
    body = payload_body(context)
    attempt = AttemptResult(
        spec, 1, timezone.now(), AttemptOutcome.SUCCEEDED, request_body=body, response_status=200
    )
    record_results([attempt], {})
    created = timezone.now() - timedelta(days=days_old)
    Delivery.objects.filter(pk=spec["delivery_id"]).update(created=created)
    return Delivery.objects.select_related("event_payload").get(pk=spec["delivery_id"])


def test_prune_deletes_only_expired_deliveries_and_their_attempts() -> None:
    log(5, days_old=40)
    kept = log(3, days_old=1, first=100)
    assert prune_deliveries(30, batch_size=2) == 5
    assert set(Delivery.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert set(DeliveryAttempt.objects.values_list("delivery_id", flat=True)) == {
        d.pk for d in kept
    }
    assert prune_deliveries(30) == 0


def test_prune_deletes_in_bounded_batches_each_in_its_own_transaction() -> None:
    log(25, days_old=10)
    with CaptureQueriesContext(connection) as captured:
        assert prune_older_than(timezone.now(), batch_size=10) == 25
    sqls = [q["sql"] for q in captured.captured_queries]
    deletes = [s for s in sqls if s.startswith('DELETE FROM "webhooks_app_delivery"')]
    assert len(deletes) == 3  # 10 + 10 + 5
    for sql in deletes:
        assert sql.count(",") < 10  # at most 10 ids in each
    # Each batch deletes the payloads its deliveries referred to, in its transaction.
    payload_deletes = [s for s in sqls if s.startswith(f'DELETE FROM "{PAYLOADS}"')]
    assert len(payload_deletes) == 3
    assert not EventPayload.objects.exists()
    # Ids are read without the payload, and each batch commits before the next is read.
    selects = [s for s in sqls if s.startswith("SELECT") and "webhooks_app_delivery" in s]
    assert not any('"payload"' in s for s in selects)
    assert sum(1 for s in sqls if s.startswith("SAVEPOINT") or s == "BEGIN") >= 3


def peak_memory_of_pruning(count: int) -> int:
    log(count, days_old=10)
    tracemalloc.start()
    try:
        assert prune_older_than(timezone.now(), batch_size=200) == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_of_a_prune_does_not_grow_with_the_rows_pruned() -> None:
    small = peak_memory_of_pruning(1000)
    large = peak_memory_of_pruning(2000)
    assert large < small * 1.3, (small, large)


def test_prune_reads_no_attempt_and_no_delivery_beyond_its_keys() -> None:
    # A QuerySet.delete() would load every attempt (bodies included) to send delete signals,
    # as receivers listen to all models (the app's event capture among them).
    log(30, days_old=10)
    with CaptureQueriesContext(connection) as captured:
        assert prune_older_than(timezone.now(), batch_size=10) == 30
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 4  # three batches, then none left
    assert all(s.startswith('SELECT "webhooks_app_delivery"."id"') for s in selects), selects
    assert not any('."payload"' in s or f'"{PAYLOADS}"."data"' in s for s in selects), selects
    assert not DeliveryAttempt.objects.exists()


def test_a_shared_payload_is_kept_until_its_last_delivery_is_pruned() -> None:
    event = str(uuid.uuid4())
    context = {"event": "updated", "data": {"name": "Shared", "id": 7}}
    older = logged(event, context, "first", days_old=40)
    newer = logged(event, context, "second", days_old=35)
    other = logged(str(uuid.uuid4()), context, "other event", days_old=1)
    assert older.event_payload_id == newer.event_payload_id != other.event_payload_id
    assert EventPayload.objects.count() == 2
    assert prune_deliveries(38) == 1
    assert Delivery.objects.get(pk=newer.pk).payload == context
    assert EventPayload.objects.filter(pk=older.event_payload_id).exists()
    assert prune_deliveries(30) == 1
    assert not EventPayload.objects.filter(pk=older.event_payload_id).exists()
    assert list(EventPayload.objects.values_list("pk", flat=True)) == [other.event_payload_id]
    assert Delivery.objects.get().payload == context


def test_a_batch_prunes_payloads_and_deliveries_that_hold_their_own_copy_alike() -> None:
    event = str(uuid.uuid4())
    eu, us = ({"data": {"region": region}} for region in ("eu", "us"))
    # One event, two payloads (rules with other action data): one pruned, one still used.
    pruned, kept = logged(event, eu, "eu", days_old=40), logged(event, us, "us", days_old=40)
    still = logged(event, us, "us again", days_old=1)
    before = Delivery.objects.create(  # logged with its own copy (before payloads were shared)
        event_id=event,
        object_type="inventory.site",
        event_type="object_updated",
        stored_payload=eu,
    )
    Delivery.objects.filter(pk=before.pk).update(created=timezone.now() - timedelta(days=40))
    assert prune_deliveries(30, batch_size=10) == 3
    assert list(Delivery.objects.values_list("pk", flat=True)) == [still.pk]
    assert list(EventPayload.objects.values_list("pk", flat=True)) == [kept.event_payload_id]
    assert pruned.event_payload_id != kept.event_payload_id


def test_the_admin_deletes_a_payload_with_the_last_delivery_that_refers_to_it(
    admin_client: Client,
) -> None:
    event = str(uuid.uuid4())
    context = {"event": "updated", "data": {"name": "Deleted in the admin"}}
    first, second = logged(event, context, "first"), logged(event, context, "second")
    response = admin_client.post(
        "/admin/webhooks_app/delivery/",
        {"action": "delete_selected", "post": "yes", ACTION_CHECKBOX_NAME: [str(first.pk)]},
    )
    assert response.status_code == 302
    assert list(Delivery.objects.values_list("pk", flat=True)) == [second.pk]
    assert not DeliveryAttempt.objects.filter(delivery_id=first.pk).exists()
    assert EventPayload.objects.filter(pk=second.event_payload_id).exists()
    url = f"/admin/webhooks_app/delivery/{second.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Delivery.objects.exists() and not DeliveryAttempt.objects.exists()
    assert not EventPayload.objects.exists()
