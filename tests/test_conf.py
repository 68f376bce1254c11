"""Settings are read at access time, with the documented defaults."""

from __future__ import annotations

from django.test import override_settings

from webhooks_app.conf import DEFAULT_RETRY_SCHEDULE, conf


def test_defaults() -> None:
    with override_settings():
        from django.conf import settings

        for name in ("WEBHOOKS_RETRY_SCHEDULE", "WEBHOOKS_HTTP_TIMEOUT"):
            if hasattr(settings, name):
                delattr(settings, name)
        assert list(DEFAULT_RETRY_SCHEDULE) == conf.WEBHOOKS_RETRY_SCHEDULE
        assert conf.WEBHOOKS_HTTP_TIMEOUT == 10.0
    assert conf.WEBHOOKS_QUEUE == "default"
    assert conf.WEBHOOKS_DELIVERY_RETENTION_DAYS == 30
    assert conf.WEBHOOKS_DELIVERY_LOG == "all"
    assert conf.WEBHOOKS_BATCH_SIZE == 100


def test_values_are_read_at_access_time() -> None:
    with override_settings(WEBHOOKS_QUEUE="other", WEBHOOKS_BATCH_SIZE=1):
        assert conf.WEBHOOKS_QUEUE == "other"
        assert conf.WEBHOOKS_BATCH_SIZE == 1
    assert conf.WEBHOOKS_QUEUE == "default"
