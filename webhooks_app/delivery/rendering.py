"""Rendering a request from a webhook's templates: URL, headers and body, checked and signed.

Pure (no models, no database, no network): the worker renders in its own process
(:mod:`.request`), previews and test sends in a child process with a time limit
(:mod:`.isolation`), both through :func:`render_request`, so what is previewed is what is sent.

Everything that can go wrong while rendering becomes a
:class:`~webhooks_app.exceptions.WebhookError` that says what: a template error, a header that
cannot be sent (:func:`~webhooks_app.templating.check_headers`, the one place headers are
checked), a body that is not valid Unicode or bigger than ``WEBHOOKS_MAX_BODY_BYTES``, a secret
that cannot sign. Anything else is a bug: an :class:`~webhooks_app.exceptions.UnexpectedError`
naming the exception and the step it happened in.

Secret headers are rendered like the additional headers (same Jinja2 context) and merged after
them: a secret header replaces an additional header of the same name (compared without case).
Their names go into :attr:`OutgoingRequest.hidden <webhooks_app.delivery.http.OutgoingRequest>`,
so everything that shows the request shows their values as ``[hidden]``; an error in them says
which step failed and never quotes the template or a value.

Signing, and the rotation rule. With no previous secret in its overlap, ``X-Hook-Signature``
is the HMAC-SHA512 of the body with the secret. While a previous secret is in its overlap
(``previous_secret_expires_at`` in the future; an expired one is ignored):

- ``X-Hook-Signature`` is made with the PREVIOUS secret, so receivers that have not switched
  keep verifying as before;
- ``X-Hook-Signature-Next`` is made with the NEW (current) secret;
- ``webhook-signature`` (Standard Webhooks) carries both, new first: ``v1,<new> v1,<old>``.

After the overlap, only ``X-Hook-Signature``, with the current secret. A receiver switches by
configuring the new secret and accepting a request when its secret made
``X-Hook-Signature-Next`` or ``X-Hook-Signature``
(:func:`~webhooks_app.signing.verify_hook_signatures`): during the overlap it matches the first,
after it the second, so no delivery is rejected at any time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from webhooks_app.choices import (
    ATTEMPT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_NEXT_HEADER,
    TIMESTAMP_HEADER,
)
from webhooks_app.conf import conf
from webhooks_app.delivery.http import InvalidRequest, OutgoingRequest, target_of
from webhooks_app.exceptions import (
    BodyTooLargeError,
    HeaderError,
    TemplateRenderError,
    UnexpectedError,
    WebhookError,
)
from webhooks_app.signing import generate_signature, generate_standard_signatures
from webhooks_app.specs import payload_body
from webhooks_app.templating import HIDDEN_DETAILS, check_headers, parse_headers, render

if TYPE_CHECKING:
    from webhooks_app.models import Webhook

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "RequestTemplate",
    "encode_body",
    "max_body_bytes",
    "render_request",
]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
_METHOD = re.compile(r"[A-Z]+")


def max_body_bytes() -> int:
    """``WEBHOOKS_MAX_BODY_BYTES``: the biggest body sent, in bytes once encoded."""
    return conf.WEBHOOKS_MAX_BODY_BYTES


@dataclass(frozen=True)
class RequestTemplate:
    """What of a webhook makes its requests, as plain data (it crosses to a child process)."""

    method: str
    url: str
    headers: str
    body: str
    content_type: str
    secret: str
    standard_webhooks: bool
    # The previous secret while its overlap lasts (else ""); see the rotation rule above.
    previous_secret: str = ""
    secret_headers: str = ""

    @classmethod
    def of(cls, webhook: Webhook) -> RequestTemplate:
        """Raises ``UndecryptableCredentialError`` (a ``WebhookError``) for a credential no
        key decrypts."""
        secret = webhook.secret
        return cls(
            method=webhook.http_method,
            url=webhook.payload_url,
            headers=webhook.additional_headers,
            body=webhook.body_template,
            content_type=webhook.http_content_type,
            secret=secret,
            standard_webhooks=webhook.standard_webhooks,
            previous_secret=webhook.active_previous_secret() if secret else "",
            secret_headers=webhook.secret_headers if webhook.has_secret_headers else "",
        )

    def __repr__(self) -> str:  # never the credentials (tracebacks, logs)
        return f"<RequestTemplate {self.method} {self.url[:100]!r}>"


def render_request(
    template: RequestTemplate,
    payload: dict[str, Any],
    *,
    event_id: str,
    attempt: int = 1,
    timestamp: int | None = None,
) -> OutgoingRequest:
    """The signed request for ``payload`` (the template context, callback data included).
    Raises only :class:`~webhooks_app.exceptions.WebhookError`."""
    step = "rendering the request"
    try:
        model = str(payload.get("object_type", "")).rpartition(".")[2]
        variables = {**payload, "model": model, "event_id": event_id, "attempt": attempt}
        step = "rendering the headers"
        headers = {"Content-Type": template.content_type}
        if template.headers:
            rendered = render(template.headers, variables, headers=True, what="headers")
            headers.update(parse_headers(rendered))
        step = "rendering the secret headers"
        secret_headers = _secret_headers(template.secret_headers, variables)
        if secret_headers:
            hidden = {name.lower() for name in secret_headers}
            headers = {k: v for k, v in headers.items() if k.lower() not in hidden}
            headers.update(secret_headers)
        step = "rendering the body"
        if template.body:
            text = render(template.body, variables, what="body")
        else:
            text = _json_body(payload)
        body = encode_body(text)
        step = "rendering the URL"
        url = _render_url(template.url, variables)
        step = "signing the request"
        sent_at = int(time.time()) if timestamp is None else timestamp
        headers[EVENT_ID_HEADER] = event_id
        headers[TIMESTAMP_HEADER] = str(sent_at)
        headers[ATTEMPT_HEADER] = str(attempt)
        if template.secret:
            _sign(template, headers, body, event_id, sent_at)
        step = "checking the headers"
        check_headers({k: v for k, v in headers.items() if k not in secret_headers})
        check_headers(secret_headers, reveal=False)
        if not _METHOD.fullmatch(template.method):
            raise InvalidRequest(f"The HTTP method {template.method[:40]!r} cannot be sent.")
    except WebhookError:
        raise
    except Exception as exc:
        raise UnexpectedError.from_exception(exc, step) from exc
    return OutgoingRequest(
        template.method, url, headers, body, hidden=frozenset(n.lower() for n in secret_headers)
    )


def _sign(
    template: RequestTemplate, headers: dict[str, str], body: bytes, event_id: str, sent_at: int
) -> None:
    """The signature headers, by the rotation rule (module docstring)."""
    secrets = [template.secret]
    if template.previous_secret:
        headers[SIGNATURE_HEADER] = generate_signature(body, template.previous_secret)
        headers[SIGNATURE_NEXT_HEADER] = generate_signature(body, template.secret)
        secrets.append(template.previous_secret)
    else:
        headers[SIGNATURE_HEADER] = generate_signature(body, template.secret)
    if template.standard_webhooks:
        headers["webhook-id"] = event_id
        headers["webhook-timestamp"] = str(sent_at)
        headers["webhook-signature"] = generate_standard_signatures(
            event_id, sent_at, body, secrets
        )


def _secret_headers(source: str, variables: dict[str, Any]) -> dict[str, str]:
    """The rendered secret headers; an error says what failed, never what the text holds."""
    if not source:
        return {}
    try:
        return parse_headers(render(source, variables, headers=True, what="secret headers"))
    except TemplateRenderError as exc:
        cause = exc.__cause__
        kind = type(cause).__name__ if cause is not None else "template error"
        raise TemplateRenderError(
            f"Error rendering secret headers ({kind}); {HIDDEN_DETAILS}."
        ) from None
    except HeaderError:
        raise HeaderError(
            f"Secret headers: a header holds a line break; {HIDDEN_DETAILS}."
        ) from None


def _json_body(payload: dict[str, Any]) -> str:
    try:
        return payload_body(payload)
    except (TypeError, ValueError, RecursionError) as exc:  # callback data JSON cannot hold
        raise TemplateRenderError(
            f"The body cannot be written as JSON ({type(exc).__name__}: {exc})."
        ) from exc


def encode_body(text: str) -> bytes:
    """``text`` as UTF-8, at most ``WEBHOOKS_MAX_BODY_BYTES``; raises ``TemplateRenderError``
    for text that is not valid Unicode (a lone surrogate) and ``BodyTooLargeError``."""
    limit = max_body_bytes()
    if len(text) > limit:  # a character is at least a byte: too big, whatever the encoding
        raise _too_large(len(text.encode("utf-8", "surrogatepass")), limit)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise TemplateRenderError(
            f"Body: cannot be sent as UTF-8 text (lone surrogate {bad[:8]!r} at character "
            f"{exc.start + 1:,})."
        ) from None
    if len(body) > limit:
        raise _too_large(len(body), limit)
    return body


def _too_large(size: int, limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(
        f"Body: {size:,} bytes, over the limit of {limit:,} bytes (WEBHOOKS_MAX_BODY_BYTES)."
    )


def _render_url(source: str, variables: dict[str, Any]) -> str:
    url = render(source, variables, what="URL").strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise TemplateRenderError(
            f"The URL rendered to {url[:200]!r}, which is not an http(s) URL."
        )
    target_of(url)  # what the sender would refuse (a host that is not a name), refused now
    return url
