"""Matching: which rules fire for an event, and how the deliveries are grouped into jobs."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, make_rule, make_webhook, queued_deliveries
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

TAGS_TABLE = Site.tags.through._meta.db_table


def contexts(queue: Queue) -> list[dict[str, Any]]:
    return [d["context"] for job in queued_deliveries(queue) for d in job]


def test_rules_that_do_not_match_give_no_job(queue: Queue, webhook: Webhook) -> None:
    make_rule(webhook, name="disabled", enabled=False)
    make_rule(webhook, name="devices only", models=("inventory.device",))
    make_rule(webhook, name="deletes only", events=("object_deleted",))
    make_rule(webhook, name="planned only", conditions={"attr": "status.value", "value": "planned"})
    Site.objects.create(name="Active", slug="active")
    assert queue.count == 0


def test_matching_conditions_fire_and_can_see_snapshots(queue: Queue, webhook: Webhook) -> None:
    make_rule(
        webhook,
        conditions={
            "and": [
                {"attr": "status.value", "value": "active"},
                {"attr": "snapshots.postchange.slug", "value": "yes"},
            ]
        },
    )
    Site.objects.create(name="Yes", slug="yes")
    Site.objects.create(name="No", slug="no")
    assert [c["data"]["name"] for c in contexts(queue)] == ["Yes"]


def test_broken_rules_are_skipped_and_others_still_fire(queue: Queue, webhook: Webhook) -> None:
    make_rule(webhook, name="a-bad-conditions", conditions={"attr": "name.deeper", "value": "x"})
    bad_data = make_rule(webhook, name="b-bad-action-data")
    EventRule.objects.filter(pk=bad_data.pk).update(action_data="not an object")
    make_rule(webhook, name="c-good")
    Site.objects.create(name="S", slug="s")
    rules = [d["event_rule_id"] for job in queued_deliveries(queue) for d in job]
    assert len(rules) == 2  # the bad-conditions rule is skipped; bad action_data is ignored
    assert bad_data.pk in rules


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


@pytest.mark.django_db(transaction=True)
def test_the_log_keeps_the_rule_name_after_the_rule_is_deleted(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    Site.objects.create(name="Named", slug="named")
    drain(queue)
    site_rule.delete()
    delivery = Delivery.objects.get()
    assert (delivery.event_rule_name, delivery.existing_event_rule()) == ("Sites", None)
