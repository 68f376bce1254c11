"""System checks: each bad setting gives its own error id; the checks are registered."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from webhooks_app.checks import check_middleware, check_removed_settings, check_settings


def ids(**overrides: Any) -> set[str]:
    with override_settings(**overrides):
        return {message.id for message in check_settings() if message.id}


def test_the_demo_configuration_passes() -> None:
    assert ids() == set()
    assert check_middleware() == []
    assert check_removed_settings() == []


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"WEBHOOKS_MODELS": ["inventory.site"]}, "webhooks_app.E001"),
        ({"WEBHOOKS_MODELS": {"inventory.nothing": None}}, "webhooks_app.E002"),
        ({"WEBHOOKS_MODELS": {"inventory.site": "no.such.Serializer"}}, "webhooks_app.E003"),
        ({"WEBHOOKS_QUEUE": "missing"}, "webhooks_app.E004"),
        ({"WEBHOOKS_HTTP_TIMEOUT": 0}, "webhooks_app.E005"),
        ({"WEBHOOKS_HTTP_TIMEOUT": "10"}, "webhooks_app.E005"),
        ({"WEBHOOKS_RETRY_SCHEDULE": [10, -1]}, "webhooks_app.E006"),
        ({"WEBHOOKS_RETRY_SCHEDULE": 60}, "webhooks_app.E006"),
        ({"WEBHOOKS_DELIVERY_RETENTION_DAYS": 0}, "webhooks_app.E007"),
        ({"WEBHOOKS_DELIVERY_LOG": "some"}, "webhooks_app.E008"),
        ({"WEBHOOKS_DENIED_NETWORKS": ["10.0.0.0/33"]}, "webhooks_app.E009"),
        ({"WEBHOOKS_ALLOWED_NETWORKS": "10.0.0.0/8"}, "webhooks_app.E009"),
        ({"WEBHOOKS_BATCH_SIZE": 0}, "webhooks_app.E010"),
        ({"WEBHOOKS_CONCURRENCY": True}, "webhooks_app.E010"),
        ({"WEBHOOKS_TEMPLATE_MAX_SIZE": 0}, "webhooks_app.E010"),
        ({"WEBHOOKS_CONDITION_REGEX_TIMEOUT": "fast"}, "webhooks_app.E010"),
        ({"WEBHOOKS_CONDITION_REGEX_TIMEOUT": 0}, "webhooks_app.E010"),
        ({"WEBHOOKS_JINJA2_FILTERS": {"x": "no.such.filter"}}, "webhooks_app.E011"),
        ({"WEBHOOKS_JINJA2_FILTERS": {"x": 3}}, "webhooks_app.E011"),
        ({"WEBHOOKS_HTTP_PROXIES": ["http://proxy"]}, "webhooks_app.E012"),
        ({"WEBHOOKS_HTTP_TIMEOUT": 120.0}, "webhooks_app.E013"),
    ],
)
def test_bad_setting_is_reported_with_its_id(overrides: dict[str, Any], expected: str) -> None:
    assert expected in ids(**overrides)


def test_missing_middleware_is_a_warning(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "webhooks_app" not in m]
    assert [m.id for m in check_middleware()] == ["webhooks_app.W001"]


@pytest.mark.django_db  # Django 6.1's checks read the database
def test_checks_are_registered_with_manage_py_check() -> None:
    with override_settings(WEBHOOKS_QUEUE="missing"), pytest.raises(SystemCheckError, match="E004"):
        call_command("check")


def test_the_removed_worker_concurrency_setting_is_a_warning_pointing_to_more_processes() -> None:
    with override_settings(WEBHOOKS_WORKER_CONCURRENCY=8):
        [message] = check_removed_settings()
    assert message.id == "webhooks_app.W002"
    assert message.hint is not None and "rqworker-pool" in message.hint
