"""Rendering with credentials: the signatures during and after a secret's overlap (the
rotation rule), and secret headers (templates, precedence, hidden wherever shown, errors that
never quote them)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from webhooks_app.delivery.http import HIDDEN
from webhooks_app.delivery.rendering import RequestTemplate, render_request
from webhooks_app.exceptions import HeaderError, TemplateRenderError
from webhooks_app.signing import (
    check_request_signatures,
    generate_signature,
    standard_secret,
    verify_hook_signatures,
)

PAYLOAD = {"event": "created", "object_type": "inventory.site", "data": {"name": "Lyon"}}
TOKEN = "tok-9f2c-very-secret"


def rendered(*, timestamp: int = 1700000000, **fields: Any) -> Any:
    defaults: dict[str, Any] = {
        "method": "POST",
        "url": "http://127.0.0.1:9/hook",
        "headers": "",
        "body": "{{ data.name }}",
        "content_type": "application/json",
        "secret": "new-secret",
        "standard_webhooks": False,
    }
    template = RequestTemplate(**{**defaults, **fields})
    return render_request(template, PAYLOAD, event_id="e-1", attempt=1, timestamp=timestamp)


def test_during_the_overlap_the_previous_secret_signs_x_hook_signature_and_the_new_one_next() -> (
    None
):
    request = rendered(previous_secret="old-secret")
    assert request.headers["X-Hook-Signature"] == generate_signature(b"Lyon", "old-secret")
    assert request.headers["X-Hook-Signature-Next"] == generate_signature(b"Lyon", "new-secret")
    # A receiver that has not switched, and one that has: both accept.
    for secret in ("old-secret", "new-secret"):
        assert verify_hook_signatures(
            request.body,
            secret,
            request.headers["X-Hook-Signature"],
            request.headers["X-Hook-Signature-Next"],
        )
    assert not verify_hook_signatures(
        request.body,
        "other",
        request.headers["X-Hook-Signature"],
        request.headers["X-Hook-Signature-Next"],
    )


def test_without_a_previous_secret_only_x_hook_signature_with_the_secret() -> None:
    request = rendered()
    assert request.headers["X-Hook-Signature"] == generate_signature(b"Lyon", "new-secret")
    assert "X-Hook-Signature-Next" not in request.headers
    assert check_request_signatures("new-secret", request.headers, request.body) == (True, None)
    assert check_request_signatures("old-secret", request.headers, request.body) == (False, None)


def test_standard_webhooks_carries_both_signatures_new_first_during_the_overlap() -> None:
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    request = rendered(
        secret=new,
        previous_secret="old-secret",
        standard_webhooks=True,
        timestamp=int(time.time()),
        body="{{ data | tojson }}",
    )
    new_sig, old_sig = request.headers["webhook-signature"].split(" ")
    assert new_sig.startswith("v1,") and old_sig.startswith("v1,")
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    # The reference library, configured with either secret, accepts the request.
    for secret in (new, standard_secret("old-secret")):
        StandardWebhook(secret).verify(request.body, headers)
    assert check_request_signatures(["other", new], request.headers, request.body) == (True, True)


def test_secret_headers_are_templates_merged_after_the_additional_headers_and_hidden() -> None:
    request = rendered(
        headers="Authorization: public\nX-Model: {{ model }}",
        secret_headers=f"authorization: Bearer {TOKEN}\nX-Api-Key: k-{{{{ data.name }}}}",
    )
    # The secret header replaces the additional header of the same name (any case).
    assert "Authorization" not in request.headers
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Api-Key"] == "k-Lyon"
    assert request.headers["X-Model"] == "site"
    assert request.hidden == frozenset({"authorization", "x-api-key"})
    shown = request.shown_headers()
    assert shown["authorization"] == shown["X-Api-Key"] == HIDDEN
    assert shown["X-Model"] == "site"
    assert TOKEN not in repr(shown)


@pytest.mark.parametrize(
    ("secret_headers", "error"),
    [
        (f"X-Key: {{{{ '{TOKEN}' ~ undefined_thing.x }}}}", TemplateRenderError),
        (f"X-Key: {{{{ '{TOKEN}' + 1 }}}}", TemplateRenderError),
        (f"X-Key: {{{{ '{TOKEN}\\n' }}}}", HeaderError),
        (f"X-Key: {{{{ '{TOKEN}東' }}}}", HeaderError),
        (f"{{{{ '{TOKEN} x' }}}}: 1", HeaderError),
    ],
)
def test_errors_in_secret_headers_never_quote_them(secret_headers: str, error: type) -> None:
    with pytest.raises(error) as refused:
        rendered(secret_headers=secret_headers)
    message = str(refused.value)
    assert TOKEN not in message and "東" not in message
    assert "not shown" in message or "it holds" in message or "not a valid" in message
    # No chained exception carries the text into a traceback either.
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None or refused.value.__suppress_context__


def test_a_request_template_never_shows_its_credentials() -> None:
    template = RequestTemplate(
        method="POST",
        url="http://127.0.0.1:9/",
        headers="",
        body="",
        content_type="application/json",
        secret="s3cret-x",
        standard_webhooks=False,
        previous_secret="prev-y",
        secret_headers=f"X-Key: {TOKEN}",
    )
    assert "s3cret-x" not in repr(template) and TOKEN not in repr(template)
