"""The delivery job run again after an interruption: what was delivered is not sent twice, and
the attempt the interruption cut short is in the log."""

from __future__ import annotations

import pytest
from django.db import transaction
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain
from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.delivery.attempts import attempt_delivery
from webhooks_app.delivery.log import record_results
from webhooks_app.dispatch.enqueue import CRASH_RETRIES
from webhooks_app.models import Delivery, EventRule
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def attempts(delivery_id: str) -> list[tuple[int, str]]:
    rows = Delivery.objects.get(pk=delivery_id).attempts.order_by("number")
    return [(a.number, a.outcome) for a in rows]


def test_a_rerun_job_sends_only_what_its_first_run_did_not_finish(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    with transaction.atomic():
        Site.objects.create(name="Delivered", slug="delivered")
        Site.objects.create(name="Cut short", slug="cut-short")
    [job] = queue.get_jobs()
    done, cut_short = job.args[0]
    # The first run got as far as sending and logging the first delivery, then its worker died;
    # RQ runs the job again through one of its crash retries.
    record_results([attempt_delivery(dict(done), site_rule.webhook, 1)], {})
    job.retries_left = CRASH_RETRIES - 1
    job.save()

    drain(queue)

    requests = receiver.wait_for(2)
    assert [r.header("X-Hook-Event-Id") for r in requests] == [
        done["event_id"],
        cut_short["event_id"],
    ]
    assert requests[1].header("X-Hook-Attempt") == "2"
    assert attempts(done["delivery_id"]) == [(1, AttemptOutcome.SUCCEEDED)]
    assert attempts(cut_short["delivery_id"]) == [
        (1, AttemptOutcome.RETRYABLE),
        (2, AttemptOutcome.SUCCEEDED),
    ]
    interrupted = Delivery.objects.get(pk=cut_short["delivery_id"]).attempts.get(number=1)
    assert interrupted.error.startswith("Interrupted")
    assert Delivery.objects.get(pk=cut_short["delivery_id"]).state == DeliveryState.SUCCEEDED


def test_a_job_that_runs_for_the_first_time_logs_no_interrupted_attempt(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    Site.objects.create(name="Once", slug="once")
    drain(queue)
    [request] = receiver.wait_for(1)
    [delivery] = Delivery.objects.all()
    assert attempts(str(delivery.pk)) == [(1, AttemptOutcome.SUCCEEDED)]
    assert request.header("X-Hook-Attempt") == "1"
