"""webhooks_by_id: a job's webhooks from the process cache, fresh after every change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webhooks_app.delivery.webhook_cache import webhooks_by_id
from webhooks_app.dispatch.rule_cache import rules_changed
from webhooks_app.models import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook() -> Webhook:
    rules_changed()  # a version row, as any installation that has rules has
    return Webhook.objects.create(name="cached", payload_url="http://127.0.0.1:9/", secret="one")


def test_unchanged_webhooks_cost_only_the_version_lookup(webhook: Webhook) -> None:
    assert webhooks_by_id([webhook.pk])[webhook.pk].secret == "one"
    with CaptureQueriesContext(connection) as queries:
        again = webhooks_by_id([webhook.pk])
    assert again[webhook.pk].secret == "one"
    assert len(queries) == 1 and "webhooks_app_rulesversion" in queries[0]["sql"]


def test_a_saved_change_applies_to_the_next_lookup(webhook: Webhook) -> None:
    webhooks_by_id([webhook.pk])
    webhook.secret = "two"
    webhook.save()
    assert webhooks_by_id([webhook.pk])[webhook.pk].secret == "two"


def test_a_bulk_update_applies_too(webhook: Webhook) -> None:
    webhooks_by_id([webhook.pk])
    Webhook.objects.filter(pk=webhook.pk).update(payload_url="http://127.0.0.1:10/")
    assert webhooks_by_id([webhook.pk])[webhook.pk].payload_url == "http://127.0.0.1:10/"


def test_deleted_and_unknown_webhooks_are_left_out(webhook: Webhook) -> None:
    other = Webhook.objects.create(name="other", payload_url="http://127.0.0.1:9/")
    assert set(webhooks_by_id([webhook.pk, other.pk, 999_999])) == {webhook.pk, other.pk}
    other.delete()
    assert set(webhooks_by_id([webhook.pk, other.pk])) == {webhook.pk}
