"""Payloads: what a delivery carries, and what building it reads from the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rq import Queue

from demo.inventory.models import Site, Tag
from tests.conftest import queued_deliveries
from webhooks_app.capture.emit import emit_events
from webhooks_app.models import EventRule

pytestmark = pytest.mark.django_db(transaction=True)

TAGS_TABLE = Site.tags.through._meta.db_table


def contexts(queue: Queue) -> list[dict[str, Any]]:
    return [d["context"] for job in queued_deliveries(queue) for d in job]


def test_an_object_created_by_save_is_sent_without_reading_its_relations(
    queue: Queue, site_rule: EventRule
) -> None:
    with CaptureQueriesContext(connection) as queries:
        Site.objects.create(name="New", slug="new")
    assert not [q for q in queries.captured_queries if TAGS_TABLE in q["sql"]]
    [context] = contexts(queue)
    assert context["data"]["tags"] == []
    assert context["snapshots"]["postchange"]["tags"] == []


def test_relations_added_after_the_create_are_sent(queue: Queue, site_rule: EventRule) -> None:
    tag = Tag.objects.create(name="Red", slug="red")
    with transaction.atomic():
        site = Site.objects.create(name="New", slug="new")
        site.description = "changed"
        site.save()
        site.tags.add(tag)
    [context] = contexts(queue)
    assert context["event"] == "created"
    assert [t["name"] for t in context["data"]["tags"]] == ["Red"]
    assert context["snapshots"]["postchange"]["tags"] == ["Red"]


def test_relations_written_past_the_signals_are_sent_once_recorded(
    queue: Queue, site_rule: EventRule
) -> None:
    tag = Tag.objects.create(name="Red", slug="red")
    with transaction.atomic():
        site = Site.objects.create(name="New", slug="new")
        Site.tags.through.objects.create(site=site, tag=tag)  # no m2m_changed signal
        emit_events([site], "object_updated")
    [context] = contexts(queue)
    assert context["event"] == "created"
    assert [t["name"] for t in context["data"]["tags"]] == ["Red"]
