"""Writing the delivery log: a Delivery per (event, rule) and an attempt row per request.

Results of a job are written together, whatever the number of deliveries in the job: the
payloads of the new deliveries in one ``bulk_create``, the new deliveries in one, the ones already
logged in one ``bulk_update``, and every attempt in one ``bulk_create``.

A payload is stored once per event and distinct content (:class:`~webhooks_app.models.EventPayload`,
addressed by a digest of the event id and its JSON text): the deliveries of one event to several
webhooks, logged by one job or by several jobs in different workers at the same time, refer to
one row; each job inserts its payloads ignoring the ones already there.

Text that a template, a receiver or an error message brought is written so that every database
takes it (:func:`storable`): a NUL character or a lone surrogate would make the whole batch
fail, and with it the job.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import router, transaction
from django.utils import timezone

from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.conf import conf
from webhooks_app.delivery.http import HIDDEN
from webhooks_app.models import Delivery, DeliveryAttempt, EventPayload
from webhooks_app.models.payload import payload_id
from webhooks_app.specs import DeliverySpec, payload_body

__all__ = [
    "AttemptResult",
    "LoggedDelivery",
    "existing_attempt_counts",
    "interrupted_attempt",
    "is_payload_body",
    "logged_deliveries",
    "record_results",
    "storable",
]

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass
class AttemptResult:
    delivery: DeliverySpec
    number: int
    started_at: datetime
    outcome: str
    duration_ms: float | None = None
    request_method: str = ""
    request_url: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    response_status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str = ""
    next_attempt_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.outcome == AttemptOutcome.SUCCEEDED:
            return DeliveryState.SUCCEEDED
        if self.outcome == AttemptOutcome.RETRYABLE and self.next_attempt_at is not None:
            return DeliveryState.RETRYING
        return DeliveryState.FAILED


# What a database refuses in text: NUL (PostgreSQL) and lone surrogates (not UTF-8).
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def storable(text: str) -> str:
    """``text`` with each NUL and lone surrogate written as its escape (``\\x00``,
    ``\\ud800``)."""
    if text.isascii():  # constant time in CPython; no surrogate can be there
        return text.replace("\x00", "\\x00") if "\x00" in text else text
    return _UNSTORABLE.sub(_escape, text) if _UNSTORABLE.search(text) else text


def storable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {storable(str(k)): storable(str(v)) for k, v in headers.items()}


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Credentials in well-known headers as ``[redacted]``; a secret header's value stays
    ``[hidden]`` (it already is, see ``OutgoingRequest.shown_headers``), whatever its name."""
    return {
        k: (REDACTED if k.lower() in SECRET_HEADERS and v != HIDDEN else v)
        for k, v in headers.items()
    }


@dataclass(frozen=True)
class LoggedDelivery:
    attempts: int
    state: str

    @property
    def succeeded(self) -> bool:
        return self.state == DeliveryState.SUCCEEDED


def logged_deliveries(delivery_ids: list[str]) -> dict[str, LoggedDelivery]:
    """What the log holds of these deliveries (one query)."""
    rows = Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "attempt_count", "state")
    return {str(pk): LoggedDelivery(count, state) for pk, count, state in rows}


def existing_attempt_counts(delivery_ids: list[str]) -> dict[str, int]:
    return {pk: logged.attempts for pk, logged in logged_deliveries(delivery_ids).items()}


INTERRUPTED = (
    "Interrupted: the worker making this attempt stopped before it finished (killed or "
    "crashed), so whether the receiver got the request is unknown; it was sent again."
)


def interrupted_attempt(delivery: DeliverySpec, number: int) -> AttemptResult:
    """The record of attempt ``number``, which a worker began and never finished."""
    return AttemptResult(
        delivery=delivery,
        number=number,
        started_at=timezone.now(),
        outcome=AttemptOutcome.RETRYABLE,
        error=INTERRUPTED,
    )


def record_results(results: list[AttemptResult], known: dict[str, int]) -> None:
    """Write the attempts of one job. ``known`` maps delivery ids already in the log to their
    attempt counts; with ``WEBHOOKS_DELIVERY_LOG = "failures"`` a first-attempt success of a
    delivery not yet logged is not written."""
    only_failures = conf.WEBHOOKS_DELIVERY_LOG == "failures"
    more_than_one = {r.delivery["delivery_id"] for r in results if r.number > 1}
    to_write = [
        r
        for r in results
        if not (
            only_failures
            and r.outcome == AttemptOutcome.SUCCEEDED
            and r.delivery["delivery_id"] not in known
            and r.delivery["delivery_id"] not in more_than_one
        )
    ]
    if not to_write:
        return
    now = timezone.now()
    latest: dict[str, AttemptResult] = {}
    for r in to_write:  # a delivery's row shows its last attempt in the batch
        previous = latest.get(r.delivery["delivery_id"])
        if previous is None or r.number > previous.number:
            latest[r.delivery["delivery_id"]] = r
    # Each payload's JSON text once (as its column stores it): it addresses the stored payload
    # and tells which bodies were that payload (is_payload_body).
    texts: dict[str, str | None] = {}
    payloads: dict[uuid.UUID, EventPayload] = {}
    new = []
    for key, r in latest.items():
        if key in known:
            texts[key] = _payload_text(r.delivery)
            continue
        text = texts[key] = json.dumps(r.delivery["context"])  # raises as the column would
        pid = payload_id(r.delivery["event_id"], text)
        payloads.setdefault(pid, EventPayload(id=pid, data=r.delivery["context"]))
        new.append(_delivery_row(r, now, pid))
    changed = [_delivery_row(r, now, None) for key, r in latest.items() if key in known]
    with transaction.atomic(using=router.db_for_write(Delivery)):
        # In the order of their ids, as every job does: two jobs inserting the same payloads
        # wait for each other in one direction only (no deadlock).
        EventPayload.objects.bulk_create(
            [payloads[pid] for pid in sorted(payloads)], ignore_conflicts=True
        )
        Delivery.objects.bulk_create(new)
        if changed:
            Delivery.objects.bulk_update(changed, CHANGING_COLUMNS)
        DeliveryAttempt.objects.bulk_create(
            [_attempt_row(r, texts.get(r.delivery["delivery_id"])) for r in to_write]
        )


CHANGING_COLUMNS = [
    "state",
    "attempt_count",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "last_updated",
]


def _payload_text(delivery: DeliverySpec) -> str | None:
    """The delivery's payload as its column stores it (None if it is not JSON data)."""
    try:
        return json.dumps(delivery["context"])
    except (TypeError, ValueError):
        return None


def _delivery_row(r: AttemptResult, now: datetime, event_payload: uuid.UUID | None) -> Delivery:
    d = r.delivery
    return Delivery(
        id=d["delivery_id"],
        event_id=d["event_id"],
        webhook_id=d.get("webhook_id"),
        event_rule_id=d.get("event_rule_id"),
        webhook_name=d.get("webhook_name", ""),
        event_rule_name=d.get("event_rule_name", ""),
        object_type=d["object_type"],
        object_id=d.get("object_id", ""),
        event_type=d["event_type"],
        state=r.state,
        attempt_count=r.number,
        last_status_code=r.response_status,
        last_error=storable(r.error[:2000]),
        next_attempt_at=r.next_attempt_at,
        event_payload_id=event_payload,
        created=now,
        last_updated=now,
    )


def is_payload_body(body: str, payload: object, text: str | None = None) -> bool:
    """Whether ``body`` is exactly what the log rebuilds from ``payload`` once stored (its
    JSON, written and read back as the payload's column does). ``text``: that JSON, if the
    caller already wrote it (``json.dumps(payload)``); None: written here."""
    if not body:
        return False
    if text is None:
        try:
            text = json.dumps(payload)  # the payload column's text
        except (TypeError, ValueError):
            return False
    return body == text and payload_body(json.loads(text)) == body


def _attempt_row(r: AttemptResult, text: str | None) -> DeliveryAttempt:
    # The delivery's payload is d["context"] (written with its first logged attempt; retries
    # and redeliveries carry that same payload): a body equal to it as JSON is not stored again.
    # ``text``: that payload's JSON (None if it has none).
    body = r.request_body
    is_payload = text is not None and is_payload_body(body, r.delivery["context"], text)
    return DeliveryAttempt(
        delivery_id=r.delivery["delivery_id"],
        number=r.number,
        started_at=r.started_at,
        duration_ms=r.duration_ms,
        outcome=r.outcome,
        request_method=r.request_method,
        request_url=storable(r.request_url),
        request_headers=storable_headers(redact_headers(r.request_headers)),
        stored_request_body="" if is_payload else storable(body),
        request_body_is_payload=is_payload,
        response_status=r.response_status,
        response_headers=storable_headers(r.response_headers),
        response_body=storable(r.response_body),
        error=storable(r.error),
    )
