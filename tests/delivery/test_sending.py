"""send_all: every delivery of a job attempted, classified and described for the log."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tests.delivery.loopback import Loopback
from webhooks_app.choices import AttemptOutcome
from webhooks_app.delivery.callbacks import register_webhook_callback, unregister_webhook_callback
from webhooks_app.delivery.sending import send_all
from webhooks_app.models import Webhook
from webhooks_app.specs import DeliverySpec


def hook(url: str, **fields: object) -> Webhook:
    return Webhook(pk=1, name="hook", payload_url=url, secret="s3cret", **fields)


def delivery(n: int = 1) -> DeliverySpec:
    return {
        "delivery_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "webhook_id": 1,
        "webhook_name": "hook",
        "event_rule_id": None,
        "event_type": "object_created",
        "object_type": "inventory.site",
        "object_id": str(n),
        "attempt": 1,
        "context": {"event": "created", "data": {"id": n}},
    }


def test_results_come_in_the_order_of_the_items_with_what_was_sent_and_answered() -> None:
    with Loopback(status=200, body=b"thanks") as server:
        items = [(delivery(n), hook(server.url()), 1) for n in range(12)]
        results = send_all(items)
    assert [r.delivery["object_id"] for r in results] == [str(n) for n in range(12)]
    first = results[0]
    assert first.outcome == AttemptOutcome.SUCCEEDED and first.number == 1
    assert first.request_method == "POST" and first.request_url == server.url()
    assert first.request_headers["X-Hook-Signature"]
    assert first.response_status == 200 and first.response_body == "thanks"
    assert first.duration_ms is not None and first.duration_ms > 0 and first.error == ""


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (204, AttemptOutcome.SUCCEEDED),
        (408, AttemptOutcome.RETRYABLE),
        (429, AttemptOutcome.RETRYABLE),
        (503, AttemptOutcome.RETRYABLE),
        (400, AttemptOutcome.FAILED),
        (404, AttemptOutcome.FAILED),
    ],
)
def test_statuses_are_classified(status: int, outcome: str) -> None:
    with Loopback(status=status, body=b"") as server:
        [result] = send_all([(delivery(), hook(server.url()), 2)])
    assert (result.outcome, result.response_status, result.number) == (outcome, status, 2)


def test_a_retry_after_header_is_kept_in_the_delivery() -> None:
    with Loopback(status=503, headers={"Retry-After": "7"}, body=b"busy") as server:
        [result] = send_all([(delivery(), hook(server.url()), 1)])
    assert result.outcome == AttemptOutcome.RETRYABLE
    assert result.delivery.get("retry_after") == 7
    assert result.error == "Status 503 returned: busy"


def test_a_redirect_fails_and_says_where_it_pointed() -> None:
    with Loopback(status=301, headers={"Location": "http://127.0.0.1:1/moved"}) as server:
        [result] = send_all([(delivery(), hook(server.url()), 1)])
    assert result.outcome == AttemptOutcome.FAILED
    assert result.error == "Status 301: redirect to http://127.0.0.1:1/moved not followed."


@override_settings(WEBHOOKS_HTTP_TIMEOUT=0.2)
def test_network_errors_and_timeouts_are_retryable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/"
    with Loopback(delay=1.0) as slow:
        refused, timed_out = send_all(
            [(delivery(1), hook(closed), 1), (delivery(2), hook(slow.url()), 1)]
        )
    assert refused.outcome == AttemptOutcome.RETRYABLE
    assert refused.error.startswith("Connection failed:") and "refused" in refused.error
    assert timed_out.outcome == AttemptOutcome.RETRYABLE
    assert timed_out.error.startswith("Timed out after 0.2s:")


@override_settings(WEBHOOKS_DENIED_NETWORKS=["127.0.0.0/8"])
def test_what_cannot_be_sent_fails_at_once() -> None:
    with Loopback() as server:
        denied, bad_template, gone = send_all(
            [
                (delivery(1), hook(server.url()), 1),
                (delivery(2), hook(server.url(), body_template="{{ data.id "), 1),
                (delivery(3), None, 1),
            ]
        )
    assert server.seen == []
    assert [r.outcome for r in (denied, bad_template, gone)] == [AttemptOutcome.FAILED] * 3
    assert "denied network" in denied.error
    assert "Error rendering body" in bad_template.error
    assert gone.error == "Webhook 1 no longer exists."


class Exploding:
    """Callback data that breaks the JSON encoder from inside: a bug, not a receiver's doing."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("boom")


def exploding_for_object_2(
    object_type: str, event_type: str, data: dict[str, Any], request: Any
) -> dict[str, Any]:
    return {"x": Exploding()} if data.get("id") == 2 else {}


@pytest.fixture
def buggy_callback() -> Iterator[None]:
    register_webhook_callback(exploding_for_object_2)
    yield
    unregister_webhook_callback(exploding_for_object_2)


def test_a_bug_fails_only_its_attempt_for_good_and_its_traceback_is_logged(
    buggy_callback: None, caplog: pytest.LogCaptureFixture
) -> None:
    with Loopback() as server, caplog.at_level(logging.ERROR, "webhooks_app"):
        first, buggy, last = send_all([(delivery(n), hook(server.url()), 1) for n in (1, 2, 3)])
    assert len(server.seen) == 2
    assert [first.outcome, last.outcome] == [AttemptOutcome.SUCCEEDED] * 2
    assert buggy.outcome == AttemptOutcome.FAILED
    assert buggy.error == (
        "Unexpected error while rendering the body (RuntimeError: boom); this is a bug, the "
        "traceback is in the log."
    )
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.message.startswith("Bug while delivering: webhook='hook'")
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
