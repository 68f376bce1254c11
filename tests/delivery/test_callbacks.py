"""Payload callbacks: their data lands in "context"; one that raises is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain
from webhooks_app.delivery.callbacks import register_webhook_callback, unregister_webhook_callback
from webhooks_app.models import EventRule
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

calls: list[tuple[str, str, dict[str, Any], Any]] = []


def add_foo(
    object_type: str, event_type: str, data: dict[str, Any], request: Any
) -> dict[str, Any]:
    calls.append((object_type, event_type, data, request))
    return {"foo": 123}


def broken(object_type: str, event_type: str, data: dict[str, Any], request: Any) -> dict[str, Any]:
    raise RuntimeError("callback bug")


@pytest.fixture
def callbacks() -> Iterator[None]:
    calls.clear()
    register_webhook_callback(broken)
    register_webhook_callback(add_foo)
    yield
    unregister_webhook_callback(broken)
    unregister_webhook_callback(add_foo)


def test_callback_data_is_merged_into_context_and_a_broken_one_is_skipped(
    queue: Queue,
    receiver: Receiver,
    site_rule: EventRule,
    callbacks: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    Site.objects.create(name="Called", slug="called")
    drain(queue)
    [request] = receiver.wait_for(1)
    body = request.json()
    assert list(body)[-1] == "context"
    assert body["context"] == {"foo": 123}
    assert calls[0][0] == "inventory.site" and calls[0][1] == "object_created"
    assert calls[0][2]["name"] == "Called"
    assert "callback bug" in caplog.text


def test_without_callbacks_there_is_no_context_key(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    Site.objects.create(name="Plain", slug="plain")
    drain(queue)
    [request] = receiver.wait_for(1)
    assert "context" not in request.json()
