"""Pruning the delivery log: in bounded batches, each in its own transaction, with memory that
does not grow with the number of rows pruned."""

from __future__ import annotations

import tracemalloc
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webhooks_app.delivery.retention import prune_deliveries, prune_older_than
from webhooks_app.models import Delivery, DeliveryAttempt

pytestmark = pytest.mark.django_db

PAYLOAD = {"data": {"description": "x" * 1500}}


def log(count: int, days_old: int, first: int = 0) -> list[Delivery]:
    """``count`` deliveries created ``days_old`` days ago, each with one attempt."""
    created = timezone.now() - timedelta(days=days_old)
    rows = Delivery.objects.bulk_create(
        Delivery(
            event_id=uuid.uuid4(),
            object_type="inventory.site",
            object_id=str(first + n),
            event_type="object_created",
            payload=PAYLOAD,
        )
        for n in range(count)
    )
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(created=created)
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=d, number=1, started_at=created, outcome="succeeded", request_body="y" * 500
        )
        for d in rows
    )
    return rows


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


def test_prune_reads_no_attempt_and_no_delivery_beyond_its_id() -> None:
    # A QuerySet.delete() would load every attempt (bodies included) to send delete signals,
    # as receivers listen to all models (the app's event capture among them).
    log(30, days_old=10)
    with CaptureQueriesContext(connection) as captured:
        assert prune_older_than(timezone.now(), batch_size=10) == 30
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 4  # three batches, then none left
    assert all(s.startswith('SELECT "webhooks_app_delivery"."id"') for s in selects), selects
    assert not DeliveryAttempt.objects.exists()
