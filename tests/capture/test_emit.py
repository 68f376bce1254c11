"""Writes that bypass signals (bulk writes, raw SQL): emit_events records their events."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import queued_deliveries
from webhooks_app.capture.emit import emit_events
from webhooks_app.models import EventRule

pytestmark = pytest.mark.django_db(transaction=True)


def contexts(queue: Queue) -> list[dict[str, Any]]:
    return [d["context"] for job in queued_deliveries(queue) for d in job]


def test_queryset_update_alone_sends_nothing(queue: Queue, site_rule: EventRule) -> None:
    Site.objects.bulk_create([Site(name="A", slug="a")])
    Site.objects.update(description="silent")
    assert queue.count == 0


def test_bulk_create_then_emit_events_sends_created(queue: Queue, site_rule: EventRule) -> None:
    with transaction.atomic():
        sites = Site.objects.bulk_create([Site(name=f"B{i}", slug=f"b{i}") for i in range(3)])
        emit_events(sites, "object_created")
    assert [c["event"] for c in contexts(queue)] == ["created"] * 3
    assert [c["data"]["name"] for c in contexts(queue)] == ["B0", "B1", "B2"]


def test_queryset_update_then_emit_events_has_both_snapshots(
    queue: Queue, site_rule: EventRule
) -> None:
    Site.objects.bulk_create([Site(name="C", slug="c", description="before")])
    with transaction.atomic():
        loaded = list(Site.objects.all())
        Site.objects.update(description="after")
        emit_events(loaded, "object_updated")
    [context] = contexts(queue)
    assert context["snapshots"]["prechange"]["description"] == "before"
    assert context["snapshots"]["postchange"]["description"] == "after"
    assert context["data"]["description"] == "after"


def test_emit_deleted_before_a_queryset_delete(queue: Queue, site_rule: EventRule) -> None:
    Site.objects.bulk_create([Site(name="D", slug="d")])
    with transaction.atomic():
        doomed = list(Site.objects.all())
        emit_events(doomed, "object_deleted")
        with connection.cursor() as cursor:  # raw SQL: no signals
            cursor.execute(f"DELETE FROM {Site._meta.db_table}")
    [context] = contexts(queue)
    assert context["event"] == "deleted" and context["data"]["name"] == "D"
