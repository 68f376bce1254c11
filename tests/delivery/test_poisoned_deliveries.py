"""One bad delivery in a job ends that delivery's attempt only: a failed attempt whose error says
why, never retried, while every other delivery of the job is sent exactly once, whatever the
order. Real queue, real worker, real receiver on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from demo.inventory.models import Site
from tests.conftest import drain, make_rule, make_webhook
from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.models import Delivery, Webhook
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

SPACE_IN_NAME = (
    "Header 'X Object': name is not a valid HTTP header name (a space; a name is letters, "
    "digits and !#$%&'*+-.^_`|~)"
)

# (webhook fields, the site's name, the attempt's error)
POISONS = [
    pytest.param(
        {"additional_headers": "X-Object: {{ data.name }}"},
        "東京",
        "Header X-Object: value cannot be sent as HTTP header text (non-Latin-1 character '東')",
        id="non-Latin-1-header-value",
    ),
    pytest.param(
        {"body_template": "{{ '\\ud800' }}"},
        "Tokyo",
        "Body: cannot be sent as UTF-8 text (lone surrogate '\\ud800' at character 1).",
        id="lone-surrogate-in-the-body",
    ),
    pytest.param(
        {"body_template": "{{ 'é' * 6000000 }}"},  # 12 MB once encoded, the limit is 10 MiB
        "Tokyo",
        "Body: 12,000,000 bytes, over the limit of 10,485,760 bytes (WEBHOOKS_MAX_BODY_BYTES).",
        id="body-over-the-size-limit",
    ),
    pytest.param(
        {"additional_headers": "{{ 'X Object' }}: 1"},
        "Tokyo",
        SPACE_IN_NAME,
        id="rendered-header-name-with-a-space",
    ),
]


def job_deliveries(queue: Queue) -> list[list[dict[str, Any]]]:
    return [job.args[0] for job in queue.get_jobs()]


@pytest.mark.parametrize("poisoned_first", [True, False], ids=["poisoned-first", "poisoned-last"])
@pytest.mark.parametrize(("fields", "site_name", "reason"), POISONS)
def test_a_poisoned_delivery_fails_alone_and_the_others_are_sent_once(
    queue: Queue,
    receiver: Receiver,
    fields: dict[str, str],
    site_name: str,
    reason: str,
    poisoned_first: bool,
) -> None:
    good = [make_webhook(f"{receiver.url}good-{n}", name=f"Good {n}") for n in (1, 2)]
    poisoned = make_webhook(f"{receiver.url}poisoned", name="Poisoned", **fields)
    for n, hook in enumerate(good, 1):
        make_rule(hook, name=f"m-good-{n}")  # rules (and deliveries) go by name
    make_rule(poisoned, name="a-poisoned" if poisoned_first else "z-poisoned")

    Site.objects.create(name=site_name, slug="tokyo")
    [deliveries] = job_deliveries(queue)  # one job carries the three deliveries
    order = [d["webhook_name"] for d in deliveries]
    assert order.index("Poisoned") == (0 if poisoned_first else 2)
    drain(queue)

    received = receiver.requests
    assert sorted(r.path for r in received) == ["/good-1", "/good-2"]
    assert [r.header("X-Hook-Attempt") for r in received] == ["1", "1"]
    assert {r.header("X-Hook-Event-Id") for r in received} == {deliveries[0]["event_id"]}

    failed = Delivery.objects.get(webhook=poisoned)
    assert (failed.state, failed.attempt_count, failed.last_error) == (
        DeliveryState.FAILED,
        1,
        reason,
    )
    [attempt] = failed.attempts.all()
    assert (attempt.outcome, attempt.error) == (AttemptOutcome.FAILED, reason)
    for hook in good:
        delivered = Delivery.objects.get(webhook=hook)
        assert (delivered.state, delivered.attempt_count) == (DeliveryState.SUCCEEDED, 1)

    # The job itself finished; the failed delivery waits in the failed registry as a job of its
    # own (for an operator to requeue), not as the job RQ would have retried.
    [job_id] = FinishedJobRegistry(queue=queue).get_job_ids()
    assert job_id not in FailedJobRegistry(queue=queue).get_job_ids()
    [failed_id] = FailedJobRegistry(queue=queue).get_job_ids()
    failed_job = Job.fetch(failed_id, connection=queue.connection)
    assert [d["delivery_id"] for d in failed_job.args[0]] == [str(failed.pk)]


def test_a_single_poisoned_delivery_fails_for_good_without_retries(
    queue: Queue, receiver: Receiver
) -> None:
    hook = make_webhook(receiver.url, additional_headers="X-Object: {{ data.name }}")
    make_rule(hook)
    Site.objects.create(name="東京", slug="tokyo")
    drain(queue)
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count) == (DeliveryState.FAILED, 1)
    assert "non-Latin-1 character '東'" in delivery.last_error
    [job_id] = FailedJobRegistry(queue=queue).get_job_ids()
    assert Job.fetch(job_id, connection=queue.connection).retries_left == 0


def test_header_names_with_a_space_are_refused_where_they_are_written(
    queue: Queue, receiver: Receiver
) -> None:
    # Saved without validation (as before names were checked on save): refused when sent.
    hook = Webhook.objects.create(
        name="Typed", payload_url=receiver.url, additional_headers="X-A: 1\nX Object: 2\nX-B: 3"
    )
    make_rule(hook)
    Site.objects.create(name="Lyon", slug="lyon")
    drain(queue)
    assert receiver.requests == []
    assert Delivery.objects.get().last_error == SPACE_IN_NAME
