"""EventRule: conditions are checked when saved and evaluated without ever raising."""

from __future__ import annotations

import logging

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings

from webhooks_app.models import EventRule, Webhook

pytestmark = pytest.mark.django_db


def rule_with(conditions: dict[str, object]) -> EventRule:
    webhook = Webhook.objects.create(name="hook", payload_url="http://127.0.0.1:9/")
    rule = EventRule.objects.create(
        name="names", webhook=webhook, event_types=["object_created"], conditions=conditions
    )
    rule.object_types.set([ContentType.objects.get_for_model(Webhook)])
    return rule


@override_settings(WEBHOOKS_CONDITION_REGEX_TIMEOUT=0.01)
def test_a_regex_condition_out_of_time_does_not_fire_and_logs_a_warning(caplog):
    rule = rule_with({"attr": "name", "value": "(a|aa)+$", "op": "regex"})
    with caplog.at_level(logging.WARNING, logger="webhooks_app.models.event_rule"):
        assert rule.eval_conditions({"name": "a" * 60 + "b"}) is False
    assert "ran out of time (0.01 s)" in caplog.text
    assert rule.eval_conditions({"name": "aaaa"}) is True
