"""OrderedJSONField on the database the run uses (SQLite, or PostgreSQL under
``WEBHOOKS_TEST_POSTGRES=1``): key order survives a round trip and JSON lookups still work."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.db import connection

from webhooks_app.models import Delivery, OutboxEntry

pytestmark = pytest.mark.django_db

# Deliberately not in sorted order (nor in jsonb's length-then-bytes order).
PAYLOAD: dict[str, Any] = {
    "event": "created",
    "timestamp": "2026-01-01T00:00:00+00:00",
    "data": {"zeta": 1, "name": "Site A", "alpha": {"y": [3, 1], "b": None}, "id": 7},
    "snapshots": {"prechange": None, "postchange": {"z": True, "a": False}},
}


def make_delivery(payload: dict[str, Any]) -> Delivery:
    return Delivery.objects.create(
        event_id=uuid.uuid4(),
        object_type="inventory.site",
        object_id="7",
        event_type="object_created",
        payload=payload,
    )


def test_a_stored_payload_comes_back_with_its_keys_in_their_order() -> None:
    delivery = make_delivery(PAYLOAD)
    stored = Delivery.objects.get(pk=delivery.pk).payload
    assert json.dumps(stored) == json.dumps(PAYLOAD)


def test_an_outbox_job_comes_back_with_its_keys_in_their_order() -> None:
    job = {"id": "job-1", "deliveries": [PAYLOAD], "attempt": 1, "created_at": "now"}
    entry = OutboxEntry.objects.create(job=job)
    assert json.dumps(OutboxEntry.objects.get(pk=entry.pk).job) == json.dumps(job)


def test_bulk_update_keeps_the_key_order() -> None:
    delivery = make_delivery({"a": 1})
    delivery.payload = PAYLOAD
    Delivery.objects.bulk_update([delivery], ["stored_payload"])
    assert json.dumps(Delivery.objects.get(pk=delivery.pk).payload) == json.dumps(PAYLOAD)


def test_key_lookups_filter_as_on_a_json_field() -> None:
    wanted = make_delivery(PAYLOAD)
    other = make_delivery({**PAYLOAD, "event": "deleted", "data": {"name": "Other", "id": 8}})
    assert list(Delivery.objects.filter(stored_payload__event="created")) == [wanted]
    assert list(Delivery.objects.filter(stored_payload__data__name="Site A")) == [wanted]
    assert list(Delivery.objects.filter(stored_payload__data__id__gt=7)) == [other]
    assert list(Delivery.objects.filter(stored_payload__data__alpha__has_key="y")) == [wanted]
    assert list(Delivery.objects.filter(stored_payload__data__name__icontains="site a")) == [wanted]
    assert list(Delivery.objects.filter(stored_payload__data__alpha__isnull=False)) == [wanted]
    assert Delivery.objects.filter(stored_payload__has_key="snapshots").count() == 2
    assert Delivery.objects.filter(stored_payload__has_key="missing").count() == 0


def test_key_values_can_be_selected() -> None:
    make_delivery(PAYLOAD)
    assert list(Delivery.objects.values_list("stored_payload__data__name", flat=True)) == ["Site A"]
    # Equal, but only the whole value keeps its key order: on PostgreSQL a key transform reads
    # through jsonb.
    [alpha] = Delivery.objects.values_list("stored_payload__data__alpha", flat=True)
    assert alpha == PAYLOAD["data"]["alpha"]


def test_whole_value_lookups() -> None:
    wanted = make_delivery(PAYLOAD)
    assert list(Delivery.objects.filter(stored_payload=PAYLOAD)) == [wanted]
    if connection.vendor == "postgresql":  # JSON containment does not exist on SQLite
        assert list(Delivery.objects.filter(stored_payload__contains={"event": "created"})) == [
            wanted
        ]
        assert Delivery.objects.filter(stored_payload__contains={"event": "updated"}).count() == 0


def test_the_column_keeps_the_text_as_saved() -> None:
    delivery = make_delivery(PAYLOAD)
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        pk = Delivery._meta.pk.get_db_prep_value(delivery.pk, connection)  # type: ignore[union-attr]
        cursor.execute(f"SELECT payload FROM {table} WHERE id = %s", [pk])
        [(text,)] = cursor.fetchall()
    assert text == json.dumps(PAYLOAD)
