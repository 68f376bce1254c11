"""The RQ job that delivers webhooks: ``deliver(deliveries)`` (its dotted path is the job's
``func_name``, see :data:`webhooks_app.dispatch.enqueue.JOB_FUNC`).

A job carries one or more deliveries (plain-data :class:`~webhooks_app.specs.DeliverySpec`
dicts built by :mod:`webhooks_app.dispatch.matching`). It loads the webhooks, sends every
delivery (:func:`~webhooks_app.delivery.sending.send_all`: rendered, signed, several in flight
at once), writes the delivery log in one batch, and then, one by one, schedules a retry for
each delivery that failed transiently. A delivery that fails for good ends in RQ's failed registry: a single-delivery job
fails itself; a multi-delivery job puts a job of its own there for that delivery, which an
operator can requeue.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from rq import get_current_job

from webhooks_app.choices import AttemptOutcome
from webhooks_app.delivery.log import (
    AttemptResult,
    interrupted_attempt,
    logged_deliveries,
    record_results,
)
from webhooks_app.delivery.retry_policy import next_delay
from webhooks_app.delivery.sending import send_all
from webhooks_app.delivery.webhook_cache import webhooks_by_id
from webhooks_app.dispatch.enqueue import CRASH_RETRIES, fail_job, schedule_job
from webhooks_app.exceptions import WebhookError
from webhooks_app.models import Webhook
from webhooks_app.specs import DeliverySpec, job_spec

__all__ = ["DeliveryFailed", "deliver", "deliver_all"]

logger = logging.getLogger(__name__)


class DeliveryFailed(WebhookError):
    """Raised by a single-delivery job whose delivery failed for good (the job goes to RQ's
    failed registry with this message)."""


def deliver(deliveries: list[DeliverySpec]) -> str:
    """The RQ job: deliver ``deliveries``; a summary such as ``"2 succeeded, 1 retrying"``."""
    outcome = deliver_all(deliveries, rerun=is_rerun())
    if isinstance(outcome, DeliveryFailed):
        current = get_current_job()
        if current is not None:
            current.retries_left = 0  # failed for good: RQ must not run it again
        raise outcome
    return outcome


def deliver_all(deliveries: list[DeliverySpec], *, rerun: bool = False) -> str | DeliveryFailed:
    """Deliver the deliveries of one job (one send, one delivery-log batch): its summary, or
    the DeliveryFailed of a single-delivery job that failed for good. ``rerun``: the job ran
    before and was interrupted (see :func:`is_rerun`)."""
    webhooks = webhooks_by_id({d["webhook_id"] for d in deliveries})
    # A first attempt of a fresh job cannot be in the log yet: no query on the hot path.
    fresh = not rerun and all(int(d["attempt"]) == 1 for d in deliveries)
    known = {} if fresh else logged_deliveries([d["delivery_id"] for d in deliveries])
    items: list[tuple[DeliverySpec, Webhook | None, int]] = []
    interrupted: list[AttemptResult] = []
    for delivery in deliveries:
        webhook = webhooks.get(delivery["webhook_id"])
        if webhook is not None:
            delivery["webhook_name"] = webhook.name
        number = int(delivery["attempt"])
        logged = known.get(delivery["delivery_id"])
        if rerun and logged is not None and logged.succeeded and logged.attempts >= number:
            continue  # delivered before this job was interrupted: never send it twice
        if rerun and (logged is None or logged.attempts < number):
            interrupted.append(interrupted_attempt(delivery, number))
            number += 1
        elif logged is not None:
            number = max(number, logged.attempts + 1)
        items.append((delivery, webhook, number))
    results = send_all(items)
    for result in results:
        if result.outcome == AttemptOutcome.RETRYABLE:
            result.next_attempt_at = retry_time(result)
    record_results([*interrupted, *results], {k: v.attempts for k, v in known.items()})
    return follow_up(results)


def is_rerun() -> bool:
    """Whether this job ran before and was interrupted (its worker died or it crashed): RQ
    spends one of the job's crash retries to run it again."""
    job = get_current_job()
    return job is not None and job.retries_left is not None and job.retries_left < CRASH_RETRIES


def retry_time(result: AttemptResult) -> datetime | None:
    delay = next_delay(result.number, result.delivery.get("retry_after"))
    if delay is None:
        return None
    return timezone.now() + timedelta(seconds=delay)


def next_attempt(result: AttemptResult) -> DeliverySpec:
    """The delivery of ``result``, as the next attempt's job carries it."""
    delivery: DeliverySpec = {**result.delivery, "attempt": result.number + 1}
    delivery.pop("retry_after", None)
    return delivery


def follow_up(results: list[AttemptResult]) -> str | DeliveryFailed:
    """Schedule the retries, fail what failed for good; the job's summary."""
    counts = {"succeeded": 0, "retrying": 0, "failed": 0}
    failures: list[AttemptResult] = []
    for result in results:
        if result.outcome == AttemptOutcome.SUCCEEDED:
            counts["succeeded"] += 1
        elif result.next_attempt_at is not None:
            counts["retrying"] += 1
            delay = max(0.0, (result.next_attempt_at - timezone.now()).total_seconds())
            schedule_job(job_spec([next_attempt(result)]), delay)
        else:
            counts["failed"] += 1
            failures.append(result)
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    if failures and len(results) == 1:
        return DeliveryFailed(failure_message(failures[0]))
    for result in failures:
        fail_job(job_spec([next_attempt(result)]), failure_message(result))
    return summary


def failure_message(result: AttemptResult) -> str:
    d = result.delivery
    where = f"{d['event_type']} {d['object_type']}:{d['object_id']} (event {d['event_id']})"
    return f"Webhook delivery failed after {result.number} attempt(s): {where}: {result.error}"
