"""EventRule: which changes (object types x event types x conditions) fire which webhook."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from webhooks_app.choices import ActionType, EventType
from webhooks_app.conditions import ConditionSet, InvalidCondition
from webhooks_app.conf import conf
from webhooks_app.models.rules_version import VersionedQuerySet
from webhooks_app.models.validators import validate_json_object_or_null
from webhooks_app.models.webhook import Webhook

logger = logging.getLogger(__name__)


def validate_event_types(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Select at least one event type.", code="required")
    unknown = [v for v in value if v not in EventType.values]
    if unknown:
        raise ValidationError(
            "Unknown event type(s): %(types)s. Choose from %(choices)s.",
            params={"types": ", ".join(map(str, unknown)), "choices": ", ".join(EventType.values)},
            code="invalid_choice",
        )


class EventRuleQuerySet(VersionedQuerySet["EventRule"]):
    def enabled(self) -> EventRuleQuerySet:
        return self.filter(enabled=True)


class EventRule(models.Model):
    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    object_types = models.ManyToManyField(
        ContentType,
        related_name="event_rules",
        help_text="The models whose changes trigger this rule.",
    )
    event_types = models.JSONField(
        default=list,
        validators=[validate_event_types],
        help_text="Any of object_created, object_updated, object_deleted.",
    )
    conditions = models.JSONField(
        null=True,
        blank=True,
        help_text='Optional. For example {"attr": "status.value", "value": "active"}.',
    )
    action_type = models.CharField(
        max_length=30, choices=ActionType.choices, default=ActionType.WEBHOOK
    )
    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="event_rules")
    action_data = models.JSONField(
        null=True,
        blank=True,
        validators=[validate_json_object_or_null],
        help_text="A JSON object merged into the payload's data (object fields win).",
    )
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    objects = EventRuleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.conditions is not None:
            try:
                ConditionSet(self.conditions)
            except ValueError as exc:
                raise ValidationError({"conditions": str(exc)}) from exc

    def eval_conditions(self, data: dict[str, Any]) -> bool:
        """True when the rule has no conditions or they hold for ``data``.

        A condition that cannot be evaluated (``InvalidCondition``), or a stored ruleset that no
        longer parses, makes the rule not fire and logs a warning; it never raises.
        """
        if not self.conditions:
            return True
        try:
            return ConditionSet(self.conditions).eval(
                data, regex_timeout=conf.WEBHOOKS_CONDITION_REGEX_TIMEOUT
            )
        except (InvalidCondition, ValueError) as exc:
            logger.warning(
                "Event rule %r: conditions not evaluated, rule skipped: %s", self.name, exc
            )
            return False

    def action_data_dict(self) -> dict[str, Any]:
        """``action_data`` as a dict; a stored non-object is ignored with a warning."""
        if self.action_data is None:
            return {}
        if isinstance(self.action_data, dict):
            return self.action_data
        logger.warning(
            "Ignoring invalid action_data on event rule %r (got %s)",
            self.name,
            type(self.action_data).__name__,
        )
        return {}
