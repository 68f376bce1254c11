"""Rendering a request from a webhook's templates: whatever cannot be sent is a WebhookError
that says why, and nothing else escapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from webhooks_app.delivery.callbacks import register_webhook_callback, unregister_webhook_callback
from webhooks_app.delivery.rendering import (
    DEFAULT_MAX_BODY_BYTES,
    RequestTemplate,
    encode_body,
    max_body_bytes,
    render_request,
)
from webhooks_app.delivery.request import build_request
from webhooks_app.exceptions import (
    BodyTooLargeError,
    HeaderError,
    SigningError,
    TemplateRenderError,
    UnexpectedError,
    WebhookError,
)
from webhooks_app.models import Webhook
from webhooks_app.signing import generate_signature

PAYLOAD = {"event": "created", "object_type": "inventory.site", "data": {"name": "Lyon"}}


def template(**fields: Any) -> RequestTemplate:
    defaults: dict[str, Any] = {
        "method": "POST",
        "url": "http://127.0.0.1:9/hook",
        "headers": "",
        "body": "",
        "content_type": "application/json",
        "secret": "s3cret",
        "standard_webhooks": False,
    }
    return RequestTemplate(**{**defaults, **fields})


def rendered(**fields: Any) -> Any:
    return render_request(template(**fields), PAYLOAD, event_id="e-1", attempt=2, timestamp=7)


def test_a_request_is_rendered_and_signed() -> None:
    request = rendered(headers="X-Model: {{ model }}", body="{{ data.name }}/{{ attempt }}")
    assert (request.method, request.url, request.body) == (
        "POST",
        "http://127.0.0.1:9/hook",
        b"Lyon/2",
    )
    assert request.headers["X-Model"] == "site"
    assert request.headers["X-Hook-Signature"] == generate_signature(b"Lyon/2", "s3cret")
    assert request.headers["X-Hook-Attempt"] == "2"


def test_without_a_body_template_the_body_is_the_payload_as_json() -> None:
    assert json.loads(rendered().body) == PAYLOAD


def test_the_body_cap_defaults_to_10_mib_of_encoded_bytes() -> None:
    assert max_body_bytes() == DEFAULT_MAX_BODY_BYTES == 10_485_760
    assert len(encode_body("a" * DEFAULT_MAX_BODY_BYTES)) == DEFAULT_MAX_BODY_BYTES
    with pytest.raises(BodyTooLargeError) as refused:
        encode_body("a" * (DEFAULT_MAX_BODY_BYTES - 1) + "é")  # one character, two bytes
    assert str(refused.value) == (
        "Body: 10,485,761 bytes, over the limit of 10,485,760 bytes (WEBHOOKS_MAX_BODY_BYTES)."
    )


def test_a_lone_surrogate_in_the_body_is_a_reason() -> None:
    with pytest.raises(TemplateRenderError) as refused:
        rendered(body="ok {{ '\\udfff' }}")
    assert str(refused.value) == (
        "Body: cannot be sent as UTF-8 text (lone surrogate '\\udfff' at character 4)."
    )


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"headers": "X-A: {{ '東' }}"}, HeaderError, "(non-Latin-1 character '東')"),
        ({"headers": "{{ 'X A' }}: 1"}, HeaderError, "Header 'X A': name is not a valid"),
        ({"content_type": "text/plain; charset=東"}, HeaderError, "Header Content-Type: value"),
        ({"url": "ftp://{{ 'host' }}/"}, TemplateRenderError, "which is not an http(s) URL"),
        ({"method": "GET\r\n"}, WebhookError, "The HTTP method 'GET\\r\\n' cannot be sent."),
        ({"secret": "\udc80"}, SigningError, "The secret cannot be used to sign"),
        (
            {"secret": "whsec_abc", "standard_webhooks": True},
            SigningError,
            "The secret starts with 'whsec_' but the rest is not base64",
        ),
    ],
)
def test_what_cannot_be_sent_is_refused_with_a_reason(
    fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as refused:
        rendered(**fields)
    assert message in str(refused.value)


class Exploding:
    """Callback data that breaks the JSON encoder from inside (a bug in a project's callback)."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("boom")


class Opaque:
    pass


@pytest.fixture
def callback_data() -> Iterator[dict[str, Any]]:
    data: dict[str, Any] = {}

    def callback(*args: Any) -> dict[str, Any]:
        return data

    register_webhook_callback(callback)
    yield data
    unregister_webhook_callback(callback)


def test_callback_data_json_cannot_hold_is_a_reason(callback_data: dict[str, Any]) -> None:
    callback_data["x"] = Opaque()
    hook = Webhook(name="hook", payload_url="http://127.0.0.1:9/")
    with pytest.raises(TemplateRenderError, match="The body cannot be written as JSON"):
        build_request(hook, dict(PAYLOAD), event_id="e-1", event_type="object_created")


def test_anything_unexpected_is_an_unexpected_error_naming_it_and_the_step(
    callback_data: dict[str, Any],
) -> None:
    callback_data["x"] = Exploding()
    hook = Webhook(name="hook", payload_url="http://127.0.0.1:9/")
    with pytest.raises(UnexpectedError) as refused:
        build_request(hook, dict(PAYLOAD), event_id="e-1", event_type="object_created")
    assert str(refused.value) == (
        "Unexpected error while rendering the body (RuntimeError: boom); this is a bug, the "
        "traceback is in the log."
    )
    assert isinstance(refused.value.__cause__, RuntimeError)
    assert not refused.value.retryable
