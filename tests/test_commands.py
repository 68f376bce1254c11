"""Changes made by management commands dispatch too; redeliver and prune commands."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rq import Queue

from demo.inventory.models import Site
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, EventRule
from webhooks_app.receiver import Receiver

from .conftest import drain, queued_deliveries

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_change_made_in_a_management_command_dispatches_with_null_username(
    queue: Queue, site_rule: EventRule
) -> None:
    call_command(
        "shell",
        command="from demo.inventory.models import Site; Site.objects.create(name='From shell', slug='shell')",
    )
    [[delivery]] = queued_deliveries(queue)
    assert delivery["context"]["data"]["name"] == "From shell"
    assert delivery["context"]["username"] is None


def test_redeliver_command_sends_a_failed_delivery_again(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    receiver.set_status(400)
    Site.objects.create(name="Retry me", slug="retry-me")
    drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    receiver.set_status(200)
    out = StringIO()
    call_command("webhooks_redeliver", str(delivery.pk), stdout=out)
    assert "Queued 1" in out.getvalue()
    drain(queue)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert delivery.attempt_count == 2
    first, second = receiver.wait_for(2)
    assert (
        first.header("X-Hook-Event-Id")
        == second.header("X-Hook-Event-Id")
        == str(delivery.event_id)
    )
    assert second.header("X-Hook-Attempt") == "2"
    assert first.body == second.body


def test_redeliver_command_rejects_bad_input() -> None:
    with pytest.raises(CommandError, match="Give delivery ids"):
        call_command("webhooks_redeliver")
    with pytest.raises(CommandError, match="not a delivery id"):
        call_command("webhooks_redeliver", "nope")
    with pytest.raises(CommandError, match="No delivery"):
        call_command("webhooks_redeliver", "6f1c1b0e-0000-4000-8000-000000000000")


def test_prune_deletes_deliveries_older_than_the_retention(
    queue: Queue, receiver: Receiver, site_rule: EventRule, settings: Any
) -> None:
    Site.objects.create(name="Old", slug="old")
    Site.objects.create(name="New", slug="new")
    drain(queue)
    old = Delivery.objects.get(event_payload__data__data__name="Old")
    Delivery.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=31))
    out = StringIO()
    call_command("webhooks_prune", stdout=out)
    assert "Deleted 1" in out.getvalue()
    assert list(Delivery.objects.values_list("event_payload__data__data__name", flat=True)) == [
        "New"
    ]
