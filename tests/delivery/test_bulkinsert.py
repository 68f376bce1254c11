"""insert_rows: many rows in one statement, stored exactly as the ORM stores them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from webhooks_app.delivery.bulkinsert import insert_rows
from webhooks_app.models import Delivery, DeliveryAttempt, Webhook

pytestmark = pytest.mark.django_db

COLUMNS = (
    "id",
    "event_id",
    "webhook_id",
    "webhook_name",
    "object_type",
    "object_id",
    "event_type",
    "state",
    "attempt_count",
    "last_error",
    "next_attempt_at",
    "payload",
    "created",
    "last_updated",
)


def _row(webhook: Webhook | None, payload: dict[str, object], when: datetime) -> tuple[object, ...]:
    return (
        uuid.uuid4(),
        uuid.uuid4(),
        None if webhook is None else webhook.pk,
        "" if webhook is None else webhook.name,
        "inventory.site",
        "7",
        "object_created",
        "succeeded",
        1,
        "",
        None,
        payload,
        when,
        when,
    )


def test_rows_read_back_as_the_orm_wrote_them() -> None:
    webhook = Webhook.objects.create(name="w", payload_url="http://127.0.0.1:9/")
    when = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=UTC)
    payload = {"zeta": 1, "alpha": {"b": [1, 2], "a": None}, "text": "é"}
    first, second = _row(webhook, payload, when), _row(None, {}, when)
    with transaction.atomic():
        insert_rows(Delivery, COLUMNS, [first, second])
    stored = Delivery.objects.get(pk=first[0])
    assert stored.event_id == first[1] and stored.webhook == webhook
    assert stored.created == when and stored.next_attempt_at is None
    assert list(stored.payload) == ["zeta", "alpha", "text"] and stored.payload == payload
    assert Delivery.objects.get(pk=second[0]).webhook is None
    # Lookups the ORM builds match what was stored this way.
    assert Delivery.objects.filter(event_id=first[1], created__gte=when).count() == 1


def test_all_rows_go_in_one_executemany_and_no_rows_in_none() -> None:
    when = datetime.now(UTC)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        insert_rows(Delivery, COLUMNS, [_row(None, {"n": n}, when) for n in range(50)])
        insert_rows(DeliveryAttempt, ("delivery_id", "number"), [])
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    # One executemany (Django logs it once, as "50 times: INSERT ...").
    assert len(inserts) == 1 and inserts[0].startswith("50 times: INSERT")
    assert Delivery.objects.count() == 50


def test_defaults_are_not_filled_in() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Delivery, ("id", "event_id"), [(uuid.uuid4(), uuid.uuid4())])


def test_a_name_that_is_not_a_column_is_refused() -> None:
    with pytest.raises(TypeError, match="attempts is not a column"):
        insert_rows(Delivery, ("attempts",), [(1,)])
