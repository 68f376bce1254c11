"""One attempt of one delivery: render, send, and classify what happened.

2xx succeeds. Network errors, timeouts, 408, 429 and 5xx may succeed later (retryable).
Everything else fails at once: other 4xx, unfollowed redirects, template and header errors,
bodies over the size limit, denied destinations, a webhook that no longer exists.

An attempt is a boundary: whatever goes wrong in it (rendering, encoding, signing, sending,
reading the answer) ends that attempt only, as an attempt whose error says what happened. An
exception nobody planned for is a bug: the attempt fails for good (it would fail again), its
error names the exception and the traceback is logged. Only an RQ job timeout goes through: it
ends the job, as RQ means it to.

A webhook's TLS settings go to the sender as they are at that job: verification (off, its CA
bundle, or the default one) and its client certificate, whose key is decrypted only when a
context has to be built for it (:mod:`.client_tls`). A key no configured key decrypts fails
the attempt with that reason; a certificate or key that cannot be loaded fails it for good.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from django.utils import timezone
from rq.timeouts import BaseTimeoutException

from webhooks_app.choices import AttemptOutcome
from webhooks_app.conf import conf
from webhooks_app.delivery.client_tls import ClientCertificate
from webhooks_app.delivery.http import (
    ConnectionFailed,
    OutgoingRequest,
    Response,
    SendError,
    SendTimeout,
    send,
)
from webhooks_app.delivery.log import AttemptResult, storable
from webhooks_app.delivery.request import build_request
from webhooks_app.delivery.retry_policy import parse_retry_after
from webhooks_app.exceptions import UnexpectedError, WebhookError
from webhooks_app.models import Webhook
from webhooks_app.models.encrypted import stored_credential
from webhooks_app.specs import DeliverySpec

__all__ = [
    "Build",
    "attempt_delivery",
    "build_in_process",
    "classify_status",
    "client_certificate_of",
    "verify_of",
]

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429})
MAX_LOGGED_REQUEST_BODY = 256 * 1024

# Builds the request of attempt ``number`` of a delivery; raises only WebhookError.
Build = Callable[[Webhook, DeliverySpec, int], OutgoingRequest]


def classify_status(status: int) -> str:
    if 200 <= status <= 299:
        return AttemptOutcome.SUCCEEDED
    if status in RETRYABLE_STATUSES or status >= 500:
        return AttemptOutcome.RETRYABLE
    return AttemptOutcome.FAILED


def _text(body: bytes, limit: int) -> str:
    return body[:limit].decode("utf-8", errors="replace")


def verify_of(webhook: Webhook) -> bool | str:
    """How the receiver's certificate is checked: not at all, with the webhook's CA bundle, or
    with the default one."""
    if not webhook.ssl_verification:
        return False
    return webhook.ca_file_path or True


def client_certificate_of(webhook: Webhook) -> ClientCertificate | None:
    """The webhook's client certificate; its key is decrypted only when it is loaded."""
    token = stored_credential(webhook, "client_key")
    if not webhook.client_certificate and not token:
        return None
    return ClientCertificate(
        owner=webhook.pk,
        certificate=webhook.client_certificate,
        key_id=token,
        load_key=partial(getattr, webhook, "client_key"),
    )


def build_in_process(webhook: Webhook, delivery: DeliverySpec, number: int) -> OutgoingRequest:
    """The worker's :data:`Build`: render in this process."""
    return build_request(
        webhook,
        delivery["context"],
        event_id=delivery["event_id"],
        event_type=delivery["event_type"],
        attempt=number,
    )


def attempt_delivery(
    delivery: DeliverySpec,
    webhook: Webhook | None,
    number: int,
    *,
    build: Build = build_in_process,
) -> AttemptResult:
    """Make attempt ``number`` of ``delivery``: render, sign, send, classify and log it. Never
    raises for what a template, a receiver or the network did, nor for a bug (the result says
    what happened); only an RQ job timeout goes through."""
    result = AttemptResult(
        delivery=delivery, number=number, started_at=timezone.now(), outcome=AttemptOutcome.FAILED
    )
    if webhook is None:
        result.error = f"Webhook {delivery.get('webhook_id')} no longer exists."
        return result
    started: float | None = None
    try:
        request = build(webhook, delivery, number)
        _describe_request(result, request)
        started = time.perf_counter()
        response = send(
            request, verify=verify_of(webhook), client_cert=client_certificate_of(webhook)
        )
        _note_response(result, response)
    except BaseTimeoutException:
        raise
    except WebhookError as exc:
        _note_error(result, exc)
    except Exception as exc:
        step = "building the request" if started is None else "sending the request"
        _note_error(result, UnexpectedError.from_exception(exc, step))
    if started is not None:
        result.duration_ms = (time.perf_counter() - started) * 1000
    _log(webhook, result)
    return result


def _note_error(result: AttemptResult, exc: WebhookError) -> None:
    result.outcome = AttemptOutcome.RETRYABLE if exc.retryable else AttemptOutcome.FAILED
    if isinstance(exc, SendTimeout):
        result.error = f"Timed out after {conf.WEBHOOKS_HTTP_TIMEOUT}s: {exc}"
    elif isinstance(exc, ConnectionFailed):
        result.error = f"Connection failed: {exc}"
    elif isinstance(exc, SendError):
        result.error = f"Request could not be sent: {exc}"
    else:  # a template, a header, the body, the secret, a denied destination, a bug
        result.error = str(exc)
    result.error = storable(result.error)  # it goes to the database and to Redis as it is
    if isinstance(exc, UnexpectedError):
        d = result.delivery
        logger.error(
            "Bug while delivering: webhook=%r event_id=%s attempt=%d: %s",
            d.get("webhook_name"),
            d.get("event_id"),
            result.number,
            exc,
            exc_info=exc.__cause__ or exc,
        )


def _note_response(result: AttemptResult, response: Response) -> None:
    result.response_status = response.status_code
    result.response_headers = response.headers
    result.response_body = _text(response.body, conf.WEBHOOKS_LOG_BODY_BYTES)
    result.outcome = classify_status(response.status_code)
    if result.outcome == AttemptOutcome.RETRYABLE:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            result.delivery["retry_after"] = retry_after
    if result.outcome != AttemptOutcome.SUCCEEDED:
        result.error = _status_error(response.status_code, response.headers, result.response_body)


def _describe_request(result: AttemptResult, request: OutgoingRequest) -> None:
    result.request_method = request.method
    result.request_url = request.url
    result.request_headers = request.shown_headers()
    result.request_body = _text(request.body, MAX_LOGGED_REQUEST_BODY)


def _status_error(status: int, headers: dict[str, str], body: str) -> str:
    if 300 <= status <= 399:
        location = headers.get("Location", "(no Location header)")
        return f"Status {status}: redirect to {location} not followed."
    excerpt = body[:300].strip()
    return f"Status {status} returned" + (f": {excerpt}" if excerpt else ".")


def _log(webhook: Webhook, result: AttemptResult) -> None:
    d = result.delivery
    level = logging.INFO if result.outcome == AttemptOutcome.SUCCEEDED else logging.WARNING
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "webhook=%r event_id=%s attempt=%d %s -> %s%s",
        webhook.name,
        d.get("event_id"),
        result.number,
        f"{result.request_method} {result.request_url}" if result.request_method else "not sent",
        result.outcome,
        f" ({result.error})" if result.error else f" (status {result.response_status})",
        extra={
            "event_id": d.get("event_id"),
            "delivery_id": d.get("delivery_id"),
            "webhook": webhook.name,
            "attempt": result.number,
            "outcome": result.outcome,
            "status_code": result.response_status,
            "duration_ms": None if result.duration_ms is None else round(result.duration_ms, 1),
        },
    )
