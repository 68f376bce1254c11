"""Dispatch: what it reads from the database and how it groups deliveries into jobs."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rq import Queue

from demo.inventory.models import Site, Tag
from tests.conftest import drain, make_rule, make_webhook, queued_deliveries
from webhooks_app.capture.events import emit_events
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, EventRule
from webhooks_app.receiver import Receiver

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


def test_deliveries_to_several_webhooks_share_one_job_and_each_arrives(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    other = make_webhook(f"{receiver.url}other", name="Other", secret="s3cret")
    make_rule(other, name="Sites too")
    with transaction.atomic():
        Site.objects.create(name="A", slug="a")
        Site.objects.create(name="B", slug="b")
    [job] = queue.get_jobs()
    deliveries = job.args[0]
    assert [(d["webhook_id"], d["context"]["data"]["name"]) for d in deliveries] == [
        (site_rule.webhook_id, "A"),
        (other.pk, "A"),
        (site_rule.webhook_id, "B"),
        (other.pk, "B"),
    ]
    assert job.description.startswith("2 webhooks: ")
    drain(queue)
    received = receiver.wait_for(4)
    assert sorted((r.path, r.json()["data"]["name"]) for r in received) == [
        ("/", "A"),
        ("/", "B"),
        ("/other", "A"),
        ("/other", "B"),
    ]
    assert all(r.signature_valid for r in received)
    assert Delivery.objects.filter(state=DeliveryState.SUCCEEDED).count() == 4
