"""Admin for Webhook: grouped form with write-only credentials, plus Preview and Send test.

A secret generated on save is shown once, on the page that answers the save (no redirect, so
it is never stored in a message or a session), with headers that forbid caching it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.timesince import timeuntil

from webhooks_app.admin.forms import SampleEventForm
from webhooks_app.admin.webhook_form import WebhookForm
from webhooks_app.choices import AttemptOutcome
from webhooks_app.delivery.preview import preview_request
from webhooks_app.delivery.redelivery import send_test
from webhooks_app.models import Delivery, Webhook
from webhooks_app.models.certificates import describe_certificate

# django-stubs makes ModelAdmin generic, but Django's class cannot be subscripted at run time.
if TYPE_CHECKING:
    WebhookAdminBase = admin.ModelAdmin[Webhook]
else:
    WebhookAdminBase = admin.ModelAdmin

CSS = {"all": ["webhooks_app/admin.css"]}
TEMPLATE_HELP = (
    "URL, headers and body may be Jinja2 templates over the event: <code>{{ event }}</code>, "
    "<code>{{ model }}</code>, <code>{{ data }}</code>, <code>{{ snapshots }}</code>, "
    "<code>{{ username }}</code>, <code>{{ timestamp }}</code>."
)
# Typed by django-stubs' private _FieldOpts, which we do not import: Any.
REQUEST_FIELDSETS: list[Any] = [
    ("Webhook", {"fields": ["name", "description"]}),
    (
        "HTTP request",
        {
            "fields": [
                "payload_url",
                "http_method",
                "http_content_type",
                "additional_headers",
                "body_template",
            ],
            "description": TEMPLATE_HELP,
        },
    ),
]


@admin.register(Webhook)
class WebhookAdmin(WebhookAdminBase):
    form = WebhookForm
    change_form_template = "webhooks_app/admin/webhook/change_form.html"
    list_display = [
        "name",
        "http_method",
        "payload_url",
        "secret_set",
        "ssl_verification",
        "rule_count",
        "last_updated",
    ]
    list_filter = ["http_method", "ssl_verification", "standard_webhooks", "http_content_type"]
    search_fields = ["name", "description", "payload_url"]
    readonly_fields = ["created", "last_updated"]
    readonly_fields = ["created", "last_updated", "previous_secret_expiry", "certificate_summary"]
    fieldsets = [
        *REQUEST_FIELDSETS,
        (
            "Signing",
            {
                "fields": [
                    "secret",
                    "generate_secret",
                    "clear_secret",
                    "secret_overlap_hours",
                    "previous_secret_expiry",
                    "end_secret_overlap",
                    "standard_webhooks",
                ]
            },
        ),
        ("Secret headers", {"fields": ["secret_headers", "clear_secret_headers"]}),
        (
            "SSL",
            {
                "fields": [
                    "ssl_verification",
                    "ca_file_path",
                    "client_certificate",
                    "certificate_summary",
                    "client_key",
                    "clear_client_key",
                ]
            },
        ),
        ("History", {"fields": ["created", "last_updated"], "classes": ["collapse"]}),
    ]
    # On the add page there is nothing stored to clear or end, and no history yet.
    add_fieldsets = [
        *REQUEST_FIELDSETS,
        (
            "Signing",
            {"fields": ["secret", "generate_secret", "secret_overlap_hours", "standard_webhooks"]},
        ),
        ("Secret headers", {"fields": ["secret_headers"]}),
        (
            "SSL",
            {"fields": ["ssl_verification", "ca_file_path", "client_certificate", "client_key"]},
        ),
    ]

    class Media:
        css = CSS

    def get_fieldsets(self, request: HttpRequest, obj: Webhook | None = None) -> Any:
        return self.fieldsets if obj is not None else self.add_fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[Webhook]:
        return super().get_queryset(request).annotate(rule_count=Count("event_rules"))

    @admin.display(boolean=True, description="Secret set")
    def secret_set(self, obj: Webhook) -> bool:
        return obj.has_secret

    @admin.display(description="Previous secret expires at")
    def previous_secret_expiry(self, obj: Webhook) -> str:
        """When the previous secret (never shown) stops being signed with."""
        expires = obj.previous_secret_expires_at
        if expires is None:
            return "No previous secret: only the current secret signs."
        when = timezone.localtime(expires).strftime("%Y-%m-%d %H:%M %Z")
        if not obj.previous_secret_active():
            return f"{when} (expired: no longer signed with)"
        return (
            f"{when} (in {timeuntil(expires)}): until then X-Hook-Signature is made with the "
            "previous secret and X-Hook-Signature-Next with the current one."
        )

    @admin.display(description="Certificate")
    def certificate_summary(self, obj: Webhook) -> str:
        summary = describe_certificate(obj.client_certificate)
        if summary is None:
            return "No client certificate." if not obj.client_certificate else "Unreadable."
        return f"{summary} (SHA-256 {summary.sha256_fingerprint})"

    def response_add(
        self, request: HttpRequest, obj: Webhook, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self.generated_secret_page(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request: HttpRequest, obj: Webhook) -> HttpResponse:
        return self.generated_secret_page(request, obj) or super().response_change(request, obj)

    def generated_secret_page(self, request: HttpRequest, obj: Webhook) -> HttpResponse | None:
        """The page showing a secret generated by this save, once; None when none was."""
        generated = getattr(obj, "generated_secret", None)
        if not generated:
            return None
        self.message_user(request, f"The webhook “{obj}” was saved with a new secret.")
        context = self.tool_context(request, obj, f"New secret of {obj}")
        context["generated_secret"] = generated
        response = TemplateResponse(
            request, "webhooks_app/admin/webhook/generated_secret.html", context
        )
        add_never_cache_headers(response)
        return response

    @admin.display(description="Rules", ordering="rule_count")
    def rule_count(self, obj: Webhook) -> int:
        return int(getattr(obj, "rule_count", 0))

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview/",
                wrap(self.preview_view),
                name="{}_{}_preview".format(*info),
            ),
            path(
                "<path:object_id>/send-test/",
                wrap(self.send_test_view),
                name="{}_{}_send_test".format(*info),
            ),
            *super().get_urls(),
        ]

    def webhook_for_tool(self, request: HttpRequest, object_id: str) -> Webhook:
        """The webhook a tool acts on; only users who may change it may render or send it,
        since the output can hold header values such as tokens."""
        webhook = self.get_object(request, object_id)
        if webhook is None:
            raise Http404(f"Webhook with ID {object_id!r} does not exist.")
        if not self.has_change_permission(request, webhook):
            raise PermissionDenied
        return webhook

    def tool_context(self, request: HttpRequest, webhook: Webhook, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": webhook,
            "webhook": webhook,
            "title": title,
            "media": self.media,
        }

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET only: render the request for a chosen (or synthetic) object and event type."""
        webhook = self.webhook_for_tool(request, object_id)
        form = SampleEventForm(request.GET if "event_type" in request.GET else None)
        preview = None
        if not form.is_bound or form.is_valid():
            preview = preview_request(
                webhook,
                form.chosen_instance,
                form.chosen_event_type,
                username=request.user.get_username(),
            )
        context = self.tool_context(request, webhook, f"Preview of {webhook}")
        context.update(form=form, preview=preview)
        return TemplateResponse(request, "webhooks_app/admin/webhook/preview.html", context)

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET shows what will be sent and asks to confirm; POST sends now, through the real
        delivery path, and shows the outcome."""
        webhook = self.webhook_for_tool(request, object_id)
        form = SampleEventForm(request.POST if request.method == "POST" else None)
        context = self.tool_context(request, webhook, f"Send a test event to {webhook}")
        if request.method == "POST" and form.is_valid():
            logged, result = send_test(
                webhook,
                form.chosen_instance,
                form.chosen_event_type,
                username=request.user.get_username(),
            )
            delivery_url = None
            if Delivery.objects.filter(pk=logged.pk).exists():
                delivery_url = reverse("admin:webhooks_app_delivery_change", args=[logged.pk])
            context.update(
                result=result,
                outcome_label=AttemptOutcome(result.outcome).label,
                delivery=logged,
                delivery_url=delivery_url,
            )
        context["form"] = form
        return TemplateResponse(request, "webhooks_app/admin/webhook/send_test.html", context)
