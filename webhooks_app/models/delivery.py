"""The delivery log: one Delivery per (event, rule) or test send, with every attempt."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from webhooks_app.choices import AttemptOutcome, DeliveryState, EventType
from webhooks_app.models.event_rule import EventRule
from webhooks_app.models.fields import OrderedJSONField
from webhooks_app.models.payload import EventPayload
from webhooks_app.models.webhook import Webhook
from webhooks_app.specs import payload_body


class Delivery(models.Model):
    """One event sent to one webhook because of one rule; retried attempts share it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.UUIDField(db_index=True, help_text="Stable across retries and redeliveries.")
    # Indexed with the creation time (Meta.indexes), as the log is filtered and ordered.
    # Deleting a webhook or a rule leaves its deliveries as they are (no constraint, no
    # cascade): touching a long history would be work proportional to it inside the delete's
    # request. The id then names a deleted object: read these through select_related (a
    # missing row joins as None) or existing_webhook()/existing_event_rule(), never by plain
    # attribute access (DoesNotExist); the names below keep what the log shows.
    webhook = models.ForeignKey(
        Webhook,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,
    )
    event_rule = models.ForeignKey(
        EventRule,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,
    )
    webhook_name = models.CharField(max_length=150, blank=True)
    event_rule_name = models.CharField(max_length=150, blank=True, default="")
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)  # indexed: Meta.indexes
    event_type = models.CharField(max_length=30, choices=EventType.choices)
    state = models.CharField(
        max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The event context the attempts were rendered from: see the ``payload`` property.
    stored_payload = OrderedJSONField(
        null=True,
        blank=True,
        db_column="payload",
        help_text="The event context, in the row itself (deliveries logged before 0011).",
    )
    # No constraint and no index: the row is written before the deliveries that refer to it,
    # in their transaction, and deleted after the last of them (delivery.retention), which
    # finds the remaining references through the event_id index.
    event_payload = models.ForeignKey(
        EventPayload,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The event context, shared by the deliveries of one event that carry it.",
    )
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "deliveries"
        # Every list of the log is ordered by creation time (then id, for equal times): each
        # filter's index ends with them, so that a page is an index range scan at any size.
        # The unfiltered list's index holds the time alone (16 bytes an entry, not 32): a deep
        # page is found by counting entries of it (api.delivery_listing), and the few rows
        # that share a time are put in id order as they are read (an incremental sort).
        # Exact lookups: the primary key, event_id and object_id (single-column indexes; the
        # object_id one is named here, so that PostgreSQL has no varchar_pattern_ops twin for
        # LIKE, which no search uses).
        indexes = [
            models.Index(fields=["object_id"], name="webhooks_delivery_object_id"),
            models.Index(fields=["created"], name="webhooks_delivery_created"),
            models.Index(fields=["state", "created", "id"], name="webhooks_delivery_state"),
            models.Index(fields=["webhook", "created", "id"], name="webhooks_delivery_webhook"),
            models.Index(fields=["event_rule", "created", "id"], name="webhooks_delivery_rule"),
            models.Index(fields=["object_type", "created", "id"], name="webhooks_delivery_objtype"),
            models.Index(fields=["event_type", "created", "id"], name="webhooks_delivery_evtype"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.object_type}:{self.object_id} -> {self.webhook_name}"

    @property
    def payload(self) -> Any:
        """The event context the attempts were rendered from.

        A delivery logged before migration 0011 holds its own copy (``stored_payload``); later
        ones share their event's :class:`EventPayload` (``event_payload``): read deliveries
        with ``select_related("event_payload")`` wherever the payload is shown, so that this
        costs no query. None if that row is missing, which the log itself never leaves
        behind but for one race: a delivery logged in the very batch transaction in which the
        retention prunes the last other delivery of the same event with the same payload (an
        event whose deliveries are logged a retention period apart), or rows deleted by hand.

        Setting it stores a copy in the row, as deliveries were logged before 0011 (fixtures
        and tests build such rows with ``Delivery(payload=...)``); the log itself writes
        ``event_payload``.
        """
        if self.stored_payload is not None:
            return self.stored_payload
        if self.event_payload_id is None:
            return None
        try:
            return self.event_payload.data if self.event_payload is not None else None
        except EventPayload.DoesNotExist:
            return None

    @payload.setter
    def payload(self, value: Any) -> None:
        self.stored_payload = value

    def existing_webhook(self) -> Webhook | None:
        """The webhook, or None if there is none or it was deleted."""
        try:
            return self.webhook
        except Webhook.DoesNotExist:
            return None

    def existing_event_rule(self) -> EventRule | None:
        """The rule, or None if there is none (a test send) or it was deleted."""
        try:
            return self.event_rule
        except EventRule.DoesNotExist:
            return None


class DeliveryAttempt(models.Model):
    """One HTTP request (or the error that prevented it) and its response.

    ``request_body`` is the body as sent. Most bodies are the delivery's payload as JSON (a
    webhook without a body template): then ``request_body_is_payload`` is set, nothing is
    stored in ``stored_request_body`` and the body is rebuilt from the payload, byte for byte
    (the log sets it only after checking that the rebuilt text equals what was sent), instead
    of storing the payload a second time.
    """

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    request_method = models.CharField(max_length=10, blank=True)
    request_url = models.TextField(blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    stored_request_body = models.TextField(
        blank=True,
        db_column="request_body",
        help_text="The body as sent; empty when request_body_is_payload.",
    )
    request_body_is_payload = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The body was the delivery's payload as JSON (rebuilt from it, not stored).",
    )
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.outcome}"

    @property
    def request_body(self) -> str:
        """The body as sent (rebuilt from the delivery's payload when it was that payload;
        read the attempts through the delivery, as ``delivery.attempts`` or a prefetch do, so
        that the delivery is not fetched again)."""
        if self.request_body_is_payload:
            return payload_body(self.delivery.payload)
        return self.stored_request_body

    @request_body.setter
    def request_body(self, text: str) -> None:
        self.stored_request_body = text
        self.request_body_is_payload = False
