from __future__ import annotations

from django.apps import AppConfig


class WebhooksAppConfig(AppConfig):
    name = "webhooks_app"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks_app import checks  # noqa: F401  (registers checks)
        from webhooks_app.capture import signals  # noqa: F401  (connects receivers)
        from webhooks_app.capture.context import set_dispatcher
        from webhooks_app.dispatch import rule_cache  # noqa: F401  (connects receivers)
        from webhooks_app.dispatch.matching import dispatch_events

        # Capture hands committed events to dispatch; it never imports dispatch itself.
        set_dispatcher(dispatch_events)
