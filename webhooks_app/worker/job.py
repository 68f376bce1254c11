"""The RQ job that delivers webhooks: ``deliver(deliveries)``.

A job carries one or more deliveries (plain dicts built by :mod:`webhooks_app.dispatch.matching`). It
loads the webhooks, renders and signs every request in this thread, sends them concurrently over
pooled connections, writes the delivery log in one batch, and then, one by one, schedules a retry
for each delivery that failed transiently. A delivery that fails for good ends in RQ's failed
registry as a job of its own, which an operator can requeue.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rq import get_current_job

from webhooks_app.choices import AttemptOutcome
from webhooks_app.delivery.attempts import begin_attempt
from webhooks_app.delivery.concurrency import send_concurrently
from webhooks_app.delivery.log import (
    AttemptResult,
    interrupted_attempt,
    logged_deliveries,
    record_results,
)
from webhooks_app.delivery.webhook_cache import webhooks_by_id
from webhooks_app.dispatch.enqueue import CRASH_RETRIES, JobSpec, fail_job, job_spec, schedule_job
from webhooks_app.exceptions import WebhookError
from webhooks_app.models import Webhook

__all__ = ["DeliveryFailed", "deliver", "deliver_jobs"]

logger = logging.getLogger(__name__)


class DeliveryFailed(WebhookError):
    """Raised by a single-delivery job whose delivery failed for good (the job goes to RQ's
    failed registry with this message)."""


def _send_all(items: list[tuple[dict[str, Any], Webhook | None, int]]) -> list[AttemptResult]:
    return send_concurrently(
        items,
        lambda item: begin_attempt(*item),
        answer_ms=lambda result: result.duration_ms,
        key=lambda item: item[0].get("webhook_id"),
    )


def deliver(deliveries: list[dict[str, Any]]) -> str:
    (outcome,) = deliver_jobs([deliveries], rerun=_is_rerun())
    if isinstance(outcome, DeliveryFailed):
        current = get_current_job()
        if current is not None:
            current.retries_left = 0  # failed for good: RQ must not run it again
        raise outcome
    return outcome


def deliver_jobs(
    jobs: list[list[dict[str, Any]]], *, rerun: bool = False
) -> list[str | DeliveryFailed]:
    """Deliver the deliveries of several jobs together (one send, one delivery-log batch);
    per job, its summary, or the DeliveryFailed of a single-delivery job that failed for good.
    ``rerun``: these jobs ran before and were interrupted (see :func:`_is_rerun`)."""
    deliveries = [delivery for job in jobs for delivery in job]
    webhook_ids = {d["webhook_id"] for d in deliveries if d.get("webhook_id") is not None}
    webhooks = webhooks_by_id(webhook_ids)
    # A first attempt of a fresh job cannot be in the log yet: no query on the hot path.
    fresh = not rerun and all(int(d.get("attempt", 1)) == 1 for d in deliveries)
    known = {} if fresh else logged_deliveries([d["delivery_id"] for d in deliveries])
    items = []
    owners: list[int] = []  # the job of each item
    interrupted: list[AttemptResult] = []
    for owner, job in enumerate(jobs):
        for delivery in job:
            webhook = webhooks.get(delivery["webhook_id"])
            if webhook is not None:
                delivery["webhook_name"] = webhook.name
            number = int(delivery.get("attempt", 1))
            logged = known.get(delivery["delivery_id"])
            if rerun and logged is not None and logged.succeeded and logged.attempts >= number:
                continue  # delivered before this job was interrupted: never send it twice
            if rerun and (logged is None or logged.attempts < number):
                interrupted.append(interrupted_attempt(delivery, number))
                number += 1
            elif logged is not None:
                number = max(number, logged.attempts + 1)
            items.append((delivery, webhook, number))
            owners.append(owner)
    results = _send_all(items)
    for result in results:
        if result.outcome == AttemptOutcome.RETRYABLE:
            result.next_attempt_at = _retry_time(result)
    record_results([*interrupted, *results], {k: v.attempts for k, v in known.items()})
    per_job: list[list[AttemptResult]] = [[] for _ in jobs]
    for owner, result in zip(owners, results, strict=True):
        per_job[owner].append(result)
    return [_follow_up(job_results) for job_results in per_job]


def _is_rerun() -> bool:
    """Whether this job ran before and was interrupted (its worker died or it crashed): RQ
    spends one of the job's crash retries to run it again."""
    job = get_current_job()
    return job is not None and job.retries_left is not None and job.retries_left < CRASH_RETRIES


def _retry_time(result: AttemptResult) -> Any:
    from webhooks_app.delivery.retry_policy import next_delay

    delay = next_delay(result.number, result.delivery.get("_retry_after"))
    if delay is None:
        return None
    return timezone.now() + timedelta(seconds=delay)


def _follow_up(results: list[AttemptResult]) -> str | DeliveryFailed:
    counts = {"succeeded": 0, "retrying": 0, "failed": 0}
    failures: list[AttemptResult] = []
    for result in results:
        delivery = dict(result.delivery)
        delivery.pop("_retry_after", None)
        if result.outcome == AttemptOutcome.SUCCEEDED:
            counts["succeeded"] += 1
        elif result.next_attempt_at is not None:
            counts["retrying"] += 1
            delay = max(0.0, (result.next_attempt_at - timezone.now()).total_seconds())
            schedule_job(job_spec([{**delivery, "attempt": result.number + 1}]), delay)
        else:
            counts["failed"] += 1
            failures.append(result)
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    if failures and len(results) == 1:
        return DeliveryFailed(_failure_message(failures[0]))
    for result in failures:
        delivery = {**result.delivery, "attempt": result.number + 1}
        delivery.pop("_retry_after", None)
        spec: JobSpec = job_spec([delivery])
        fail_job(spec, _failure_message(result))
    return summary


def _failure_message(result: AttemptResult) -> str:
    d = result.delivery
    where = f"{d['event_type']} {d['object_type']}:{d.get('object_id', '')} (event {d['event_id']})"
    return f"Webhook delivery failed after {result.number} attempt(s): {where}: {result.error}"
