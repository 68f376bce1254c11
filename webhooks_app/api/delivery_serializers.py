"""Serializers of the delivery log: deliveries and their attempts (read only)."""

from __future__ import annotations

from rest_framework import serializers

from webhooks_app.api.fields import attempt_outcome_field, delivery_state_field, event_type_field
from webhooks_app.api.serializers import BriefEventRuleSerializer, BriefWebhookSerializer
from webhooks_app.models import Delivery, DeliveryAttempt

__all__ = ["DeliveryAttemptSerializer", "DeliveryDetailSerializer", "DeliverySerializer"]


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    outcome = attempt_outcome_field(read_only=True)
    # As sent: rebuilt from the delivery's payload when it was that payload (not stored twice).
    request_body = serializers.CharField(read_only=True)
    request_headers = serializers.DictField(child=serializers.CharField(), read_only=True)
    response_headers = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "outcome",
            "request_method",
            "request_url",
            "request_headers",
            "request_body",
            "response_status",
            "response_headers",
            "response_body",
            "error",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    url = serializers.HyperlinkedIdentityField(view_name="webhooks_api:delivery-detail")
    display = serializers.SerializerMethodField()
    webhook = BriefWebhookSerializer(read_only=True, allow_null=True)
    event_rule = BriefEventRuleSerializer(read_only=True, allow_null=True)
    event_type = event_type_field(read_only=True)
    state = delivery_state_field(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "url",
            "display",
            "event_id",
            "webhook",
            "webhook_name",
            "event_rule_name",
            "event_rule",
            "object_type",
            "object_id",
            "event_type",
            "state",
            "attempt_count",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created",
            "last_updated",
        ]
        read_only_fields = fields

    def get_display(self, obj: Delivery) -> str:
        return str(obj)


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with the event context it was rendered from and every attempt."""

    # Delivery.payload: the event's shared payload, or the row's own copy (logged before 0011).
    payload = serializers.JSONField(read_only=True)
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempts"]
        read_only_fields = fields
