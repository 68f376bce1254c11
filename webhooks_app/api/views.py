"""Viewsets of webhooks, event rules and the delivery log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Model, Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from redis.exceptions import RedisError
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import BasePagination
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from webhooks_app.api.bulk import BulkFailed, BulkModelViewSet
from webhooks_app.api.conflicts import CONFLICT_ERRORS, Conflict, describe_conflict
from webhooks_app.api.delivery_listing import DeliveryOrderingFilter, DeliveryPagination
from webhooks_app.api.delivery_serializers import DeliveryDetailSerializer, DeliverySerializer
from webhooks_app.api.filters import DeliveryFilterSet, EventRuleFilterSet, WebhookFilterSet
from webhooks_app.api.parsing import BoundedLimitOffsetPagination, SafeJSONParser
from webhooks_app.api.permissions import ChangePermission, ModelPermissions
from webhooks_app.api.sample_serializers import (
    RenderedRequestSerializer,
    SampleEventSerializer,
    TestResultSerializer,
)
from webhooks_app.api.schema import BulkAutoSchema
from webhooks_app.api.serializers import (
    BriefEventRuleSerializer,
    BriefWebhookSerializer,
    EventRuleSerializer,
    WebhookSerializer,
)
from webhooks_app.delivery.preview import preview_request
from webhooks_app.delivery.redelivery import redeliver, send_test
from webhooks_app.models import Delivery, DeliveryAttempt, EventRule, Webhook

__all__ = ["DeliveryViewSet", "EventRuleViewSet", "WebhookViewSet"]

M = TypeVar("M", bound=Model)

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


class QueueUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The task queue (Redis) cannot be reached; try again later."
    default_code = "queue_unavailable"


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is larger than the {limit} bytes accepted.")


class ApiViewMixin(APIView):
    """What every endpoint of this API shares: JSON bodies only, model permissions, bounded
    pagination, 409 (never 500) for protected deletes and constraint violations, a JSON 413
    (not Django's HTML 400) for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, and the answer of
    a failed bulk request wherever it is raised (the parser raises one for an item nested too
    deeply). Put it first among a view's bases."""

    parser_classes: Sequence[type[BaseParser]] = [SafeJSONParser]
    pagination_class: type[BasePagination] | None = BoundedLimitOffsetPagination
    permission_classes = [ModelPermissions]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BulkFailed):
            return exc.response()
        if isinstance(exc, RequestDataTooBig):
            exc = BodyTooLarge()
        elif isinstance(exc, CONFLICT_ERRORS):
            exc = Conflict(describe_conflict(exc))
        elif isinstance(exc, RedisError):
            exc = QueueUnavailable()
        return super().handle_exception(exc)


class ConfigViewSet(ApiViewMixin, BulkModelViewSet[M]):
    """CRUD and bulk operations; ``?brief=true`` reads the brief form."""

    brief_serializer_class: type[BaseSerializer[Any]]
    schema = BulkAutoSchema()

    @property
    def brief(self) -> bool:
        request: Request | None = getattr(self, "request", None)  # None in schema generation
        if request is None or request.method not in ("GET", "HEAD"):
            return False
        return request.query_params.get("brief", "").lower() in TRUE_VALUES

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.brief and self.action in ("list", "retrieve"):
            return self.brief_serializer_class
        return super().get_serializer_class()


def _sample_event(view: WebhookViewSet, request: Request) -> tuple[Webhook, dict[str, Any]]:
    webhook = view.get_object()
    serializer = SampleEventSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return webhook, serializer.validated_data


RENDER_FAILED = OpenApiResponse(
    description='The request cannot be rendered: {"detail": "Error rendering body (line 2): ..."}.'
)


class WebhookViewSet(ConfigViewSet[Webhook]):
    """Webhooks: where and how to send a request for an event. The secret is write-only."""

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    brief_serializer_class = BriefWebhookSerializer
    filterset_class = WebhookFilterSet

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Secrets generated by this request (generate_secret), by webhook id: a bulk request
        # reads the saved webhooks back, and its answer shows them from here (this once).
        self.generated_secrets: dict[int, str] = {}

    def perform_bulk_save(
        self, serializer: BaseSerializer[Webhook], instance: Webhook | None, validated_data: Any
    ) -> Webhook:
        webhook = super().perform_bulk_save(serializer, instance, validated_data)
        generated = getattr(webhook, "generated_secret", None)
        if generated:
            self.generated_secrets[webhook.pk] = generated
        return webhook

    @extend_schema(
        operation_id="webhooks_webhooks_test",
        request=SampleEventSerializer,
        responses={
            200: TestResultSerializer,
            400: OpenApiResponse(
                description="Invalid input, or the request could not be built (the reason in "
                "`detail`; nothing was sent, the failed attempt is in the delivery log)."
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangePermission])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a sample event for an object (or a synthetic one) now, through the real
        delivery path (rendering, signature, transport, delivery log; no retries), and answer
        with the attempt's outcome. Needs the change permission on webhooks."""
        webhook, sample = _sample_event(self, request)
        delivery, result = send_test(
            webhook, sample["instance"], sample["event_type"], request.user.get_username()
        )
        sent = bool(result.request_method)
        if not sent:  # rendering, encoding or signing failed: the same reason as render's 400
            return Response(
                {"detail": result.error, "delivery_id": delivery.pk},
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = {
            "delivery_id": delivery.pk,
            "state": result.state,
            "outcome": result.outcome,
            "status_code": result.response_status,
            "error": result.error,
            "duration_ms": result.duration_ms,
            "request": {
                "method": result.request_method,
                "url": result.request_url,
                "headers": result.request_headers,
                "body": result.request_body,
            },
            "response": {
                "status": result.response_status,
                "headers": result.response_headers,
                "body": result.response_body,
            }
            if result.response_status is not None
            else None,
        }
        return Response(TestResultSerializer(data).data)

    @extend_schema(
        operation_id="webhooks_webhooks_render",
        request=SampleEventSerializer,
        responses={200: RenderedRequestSerializer, 400: RENDER_FAILED},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangePermission])
    def render(self, request: Request, pk: str | None = None) -> Response:
        """Render the request this webhook would send for a sample event (URL, headers with
        the signature, body) without sending it. Needs the change permission on webhooks."""
        webhook, sample = _sample_event(self, request)
        preview = preview_request(
            webhook, sample["instance"], sample["event_type"], request.user.get_username()
        )
        if preview.request is None:
            return Response({"detail": preview.error}, status=status.HTTP_400_BAD_REQUEST)
        outgoing = preview.request
        data = {
            "method": outgoing.method,
            "url": outgoing.url,
            "headers": preview.headers,  # secret headers' values as [hidden]
            "body": preview.body_text,
        }
        return Response(RenderedRequestSerializer(data).data)


class EventRuleViewSet(ConfigViewSet[EventRule]):
    """Event rules: which changes (object types, event types, conditions) fire which webhook."""

    queryset = EventRule.objects.select_related("webhook").prefetch_related("object_types")
    serializer_class = EventRuleSerializer
    brief_serializer_class = BriefEventRuleSerializer
    filterset_class = EventRuleFilterSet


UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class DeliveryViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet[Delivery]):
    """The delivery log: one delivery per event and rule (or test send), with its attempts."""

    queryset = Delivery.objects.select_related("webhook", "event_rule")
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilterSet
    filter_backends = [DjangoFilterBackend, DeliveryOrderingFilter]
    pagination_class = DeliveryPagination
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> QuerySet[Delivery]:
        queryset = super().get_queryset()
        if self.action == "list":  # no payload (neither column nor table) in a list
            return queryset.defer("stored_payload")
        attempts = DeliveryAttempt.objects.order_by("number", "id")
        queryset = queryset.select_related("event_payload")
        return queryset.prefetch_related(Prefetch("attempts", queryset=attempts))

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "list":
            return DeliverySerializer
        return DeliveryDetailSerializer

    @extend_schema(
        operation_id="webhooks_deliveries_redeliver",
        request=None,
        responses={
            202: DeliveryDetailSerializer,
            409: OpenApiResponse(description="The delivery's webhook no longer exists."),
            503: OpenApiResponse(description="The task queue (Redis) cannot be reached."),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangePermission])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        """Queue a new attempt of this delivery: the same event (same event id and payload),
        numbered after the last attempt. Needs the change permission on deliveries."""
        delivery = self.get_object()
        queued_one = redeliver(delivery)
        # Pruned meanwhile: the delivery is gone, as for any other missing one.
        queued = self.get_queryset().filter(pk=delivery.pk).first()
        if queued is None:
            raise NotFound("No Delivery matches the given query.")
        if not queued_one:
            raise Conflict("The delivery's webhook no longer exists; it cannot be redelivered.")
        serializer = DeliveryDetailSerializer(queued, context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_202_ACCEPTED)
