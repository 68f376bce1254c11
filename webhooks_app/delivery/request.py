"""Building the exact request for a delivery: URL, headers and body from templates, signed.

Used by the worker, by test sends, and by the preview in the admin and the API, so what is
previewed is what is sent.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from rest_framework.utils.encoders import JSONEncoder

from webhooks_app.choices import ATTEMPT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from webhooks_app.delivery.callbacks import run_callbacks
from webhooks_app.delivery.http import OutgoingRequest
from webhooks_app.exceptions import TemplateRenderError
from webhooks_app.models import Webhook
from webhooks_app.signing import generate_signature, generate_standard_signature
from webhooks_app.templating import parse_headers, render

__all__ = ["build_request", "template_context"]


def template_context(context: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The payload context plus callback data (``context``) as the body will hold it."""
    request = context.get("request")
    extra = run_callbacks(
        context.get("object_type", ""), event_type, context.get("data", {}), request
    )
    if extra:
        return {**context, "context": extra}
    return context


def render_body(webhook: Webhook, context: dict[str, Any], variables: dict[str, Any]) -> bytes:
    if webhook.body_template:
        return render(webhook.body_template, variables, what="body").encode("utf-8")
    return json.dumps(context, cls=JSONEncoder).encode("utf-8")


def render_url(webhook: Webhook, variables: dict[str, Any]) -> str:
    url = render(webhook.payload_url, variables, what="URL").strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise TemplateRenderError(
            f"The URL rendered to {url[:200]!r}, which is not an http(s) URL."
        )
    return url


def build_request(
    webhook: Webhook,
    context: dict[str, Any],
    *,
    event_id: str,
    event_type: str,
    attempt: int = 1,
    timestamp: int | None = None,
) -> OutgoingRequest:
    """Render and sign the request for ``context``; raises ``TemplateRenderError``/``HeaderError``."""
    payload = template_context(context, event_type)
    model = str(payload.get("object_type", "")).rpartition(".")[2]
    variables = {**payload, "model": model, "event_id": event_id, "attempt": attempt}
    headers = {"Content-Type": webhook.http_content_type}
    if webhook.additional_headers:
        rendered = render(webhook.additional_headers, variables, headers=True, what="headers")
        headers.update(parse_headers(rendered))
    body = render_body(webhook, payload, variables)
    url = render_url(webhook, variables)
    sent_at = int(time.time()) if timestamp is None else timestamp
    headers[EVENT_ID_HEADER] = event_id
    headers[TIMESTAMP_HEADER] = str(sent_at)
    headers[ATTEMPT_HEADER] = str(attempt)
    if webhook.secret:
        headers[SIGNATURE_HEADER] = generate_signature(body, webhook.secret)
        if webhook.standard_webhooks:
            headers["webhook-id"] = event_id
            headers["webhook-timestamp"] = str(sent_at)
            headers["webhook-signature"] = generate_standard_signature(
                event_id, sent_at, body, webhook.secret
            )
    return OutgoingRequest(webhook.http_method, url, headers, body)
