"""Admin for the delivery log: read-only list and detail with every attempt, and redelivery."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from redis.exceptions import RedisError

from webhooks_app.admin.delivery_search import CappedCountPaginator, delivery_search
from webhooks_app.delivery.redelivery import redeliver_many
from webhooks_app.delivery.retention import delete_deliveries
from webhooks_app.models import Delivery

if TYPE_CHECKING:
    DeliveryAdminBase = admin.ModelAdmin[Delivery]
else:
    DeliveryAdminBase = admin.ModelAdmin

CONFIRM_TEMPLATE = "webhooks_app/admin/confirm.html"
DETAIL_FIELDS = (
    "id",
    "state_badge",
    "event_id",
    "webhook_display",
    "event_rule_display",
    "object_display",
    "event_type",
    "attempt_count",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "created",
    "last_updated",
)


def redeliver_with_message(
    request: HttpRequest, deliveries: QuerySet[Delivery] | list[Delivery]
) -> None:
    """Queue new attempts and tell the operator what happened (Redis down is a message)."""
    rows = list(deliveries)
    try:
        queued = redeliver_many(rows)
    except RedisError as exc:
        messages.error(request, f"Nothing was redelivered: Redis is unreachable ({exc}).")
        return
    if queued:
        messages.success(
            request, f"{queued} deliver{'y' if queued == 1 else 'ies'} queued for redelivery."
        )
    skipped = len(rows) - queued
    if skipped:
        messages.warning(
            request,
            f"{skipped} deliver{'y' if skipped == 1 else 'ies'} skipped: the webhook no longer exists, or the delivery was deleted meanwhile.",
        )


LIST_RELATED = ("webhook", "event_rule")


class DeliveryChangeList(ChangeList):
    """The list of deliveries reads no payload: neither the column of deliveries logged before
    payloads were shared, nor the shared payloads' table (the detail page reads them)."""

    def get_queryset(
        self, request: HttpRequest, exclude_parameters: Any = None
    ) -> QuerySet[Delivery]:
        queryset: QuerySet[Delivery] = super().get_queryset(request, exclude_parameters)
        return queryset.select_related(None).select_related(*LIST_RELATED).defer("stored_payload")


@admin.register(Delivery)
class DeliveryAdmin(DeliveryAdminBase):
    change_form_template = "webhooks_app/admin/delivery/change_form.html"
    # Narrow columns, the key ones first (when, state, what, where), so that the list fits
    # beside the admin's menu and filters at 1366 px, and its key columns at 1024 px. The rule
    # and the last change are on the detail page.
    list_display = [
        "when",
        "state_badge",
        "what",
        "where",
        "attempts_display",
        "status_display",
    ]
    list_display_links = ["when"]
    list_filter = ["state", "webhook", "event_type", ("created", admin.DateFieldListFilter)]
    list_select_related = list(LIST_RELATED)
    # Exact matches through indexes (see get_search_results); no date hierarchy (its MIN/MAX
    # and DISTINCT dates scan the log), the "Created" filter narrows by date instead.
    search_fields = ["=event_id"]
    search_help_text = (
        "Search by delivery ID, event ID or object ID (exact), or by webhook name (contains)."
    )
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    actions = ["redeliver_selected"]
    fieldsets = [
        (None, {"fields": DETAIL_FIELDS}),
        ("Payload", {"fields": ["payload_pretty"], "classes": ["collapse"]}),
    ]
    readonly_fields = (*DETAIL_FIELDS, "payload_pretty")

    class Media:
        css = {"all": ["webhooks_app/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        # Joined (LEFT OUTER): a deleted webhook or rule reads as None, on the detail page too,
        # and the payload comes with its delivery (the list leaves it out: DeliveryChangeList).
        return super().get_queryset(request).select_related(*LIST_RELATED, "event_payload")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return DeliveryChangeList

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        """As the retention deletes (batches of plain SQL, no delete signals), with the
        payloads no other delivery refers to."""
        delete_deliveries(queryset)

    def delete_model(self, request: HttpRequest, obj: Delivery) -> None:
        delete_deliveries(Delivery.objects.filter(pk=obj.pk))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str
    ) -> tuple[QuerySet[Delivery], bool]:
        query = delivery_search(search_term)
        return (queryset if query is None else queryset.filter(query)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_redeliver_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return request.user.has_perm("webhooks_app.change_delivery")

    @admin.display(description="Created", ordering="created")
    def when(self, obj: Delivery) -> SafeString:
        """The date above the time (narrow), in the current time zone."""
        created = timezone.localtime(obj.created)
        return format_html(
            '<time datetime="{}">{}<br>{}</time>',
            created.isoformat(),
            date_format(created, "Y-m-d"),
            date_format(created, "H:i:s"),
        )

    @admin.display(description="Event", ordering="event_type")
    def what(self, obj: Delivery) -> SafeString:
        """The event type (created, updated, deleted) above the object."""
        event = obj.get_event_type_display().removeprefix("Object ")
        return format_html(
            '{}<br><span class="webhooks-object">{}</span>', event, self.object_display(obj)
        )

    @admin.display(description="State", ordering="state")
    def state_badge(self, obj: Delivery) -> SafeString:
        return format_html(
            '<span class="webhooks-state webhooks-state-{}">{}</span>',
            obj.state,
            obj.get_state_display(),
        )

    @admin.display(description="Webhook", ordering="webhook_name")
    def webhook_display(self, obj: Delivery) -> str:
        # A deleted webhook's id stays in the log (no constraint): it is shown by its name.
        webhook = obj.existing_webhook()
        if webhook is not None:
            url = reverse("admin:webhooks_app_webhook_change", args=[webhook.pk])
            return format_html('<a href="{}">{}</a>', url, webhook)
        return f"{obj.webhook_name} (deleted)" if obj.webhook_name else "(deleted)"

    @admin.display(description="Event rule", empty_value="–")
    def event_rule_display(self, obj: Delivery) -> str | None:
        rule = obj.existing_event_rule()
        if rule is not None:
            url = reverse("admin:webhooks_app_eventrule_change", args=[rule.pk])
            return format_html('<a href="{}">{}</a>', url, rule)
        if obj.event_rule_id is None:  # a test send
            return None
        return f"{obj.event_rule_name} (deleted)" if obj.event_rule_name else "(deleted)"

    @admin.display(description="Webhook", ordering="webhook_name")
    def where(self, obj: Delivery) -> str:
        """The webhook, and below it the rule that chose it."""
        rule = self.event_rule_display(obj)
        if rule is None:
            return self.webhook_display(obj)
        return format_html('{}<br><span class="quiet">{}</span>', self.webhook_display(obj), rule)

    @admin.display(description="Attempts", ordering="attempt_count")
    def attempts_display(self, obj: Delivery) -> int:
        return obj.attempt_count

    @admin.display(description="Last status", ordering="last_status_code", empty_value="–")
    def status_display(self, obj: Delivery) -> int | None:
        return obj.last_status_code

    @admin.display(description="Object", ordering="object_type")
    def object_display(self, obj: Delivery) -> str:
        return f"{obj.object_type}:{obj.object_id}" if obj.object_id else obj.object_type

    @admin.display(description="Payload")
    def payload_pretty(self, obj: Delivery) -> SafeString:
        text = json.dumps(obj.payload, indent=2, ensure_ascii=False)
        return format_html('<pre class="webhooks-code">{}</pre>', text)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_redeliver"
        return [
            path(
                "<path:object_id>/redeliver/",
                self.admin_site.admin_view(self.redeliver_view),
                name=name,
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        delivery = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if delivery is not None:
            extra["attempts"] = list(delivery.attempts.all())
            extra["can_redeliver"] = self.has_redeliver_permission(request, delivery)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def redeliver_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks to confirm; POST queues a new attempt of this delivery."""
        delivery = self.get_object(request, object_id)
        if delivery is None:
            raise Http404(f"Delivery {object_id!r} does not exist.")
        if not self.has_redeliver_permission(request, delivery):
            raise PermissionDenied
        detail_url = reverse("admin:webhooks_app_delivery_change", args=[delivery.pk])
        if request.method == "POST":
            redeliver_with_message(request, [delivery])
            return HttpResponseRedirect(detail_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Redeliver this delivery?",
            "question": "Send this delivery again, with the same event ID and payload?",
            "items": [delivery],
            "confirm_label": "Yes, redeliver",
            "cancel_url": detail_url,
        }
        return TemplateResponse(request, CONFIRM_TEMPLATE, context)

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver_selected(
        self, request: HttpRequest, queryset: QuerySet[Delivery]
    ) -> HttpResponse | None:
        """First a confirmation page; its POST (``post=yes``) queues the redeliveries."""
        if request.POST.get("post") == "yes":
            redeliver_with_message(request, queryset)
            return None
        items = list(queryset[:100])
        hidden = [(ACTION_CHECKBOX_NAME, str(pk)) for pk in queryset.values_list("pk", flat=True)]
        hidden += [("action", "redeliver_selected"), ("post", "yes")]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Redeliver the selected deliveries?",
            "question": f"Send these {len(hidden) - 2} deliveries again, each with its own event ID "
            "and payload?",
            "items": items,
            "more": max(0, len(hidden) - 2 - len(items)),
            "hidden": hidden,
            "confirm_label": "Yes, redeliver",
            "cancel_url": reverse("admin:webhooks_app_delivery_changelist"),
        }
        return TemplateResponse(request, CONFIRM_TEMPLATE, context)
