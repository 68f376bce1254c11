"""A worker killed with SIGKILL in the middle of a delivery loses nothing: RQ notices the
abandoned job and another worker delivers it again, with the same event id, within the bound
that follows from the worker's settings (:func:`webhooks_app.worker.recovery_bound`: the job's
timeout plus :data:`~webhooks_app.worker.RECOVERY_BOUND`; the README states it)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry

from tests.conftest import drain, make_rule, make_webhook
from tests.worker_processes import WorkerPool
from webhooks_app.choices import AttemptOutcome, DeliveryState
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver
from webhooks_app.worker import recovery_bound

from .test_scale_out import create_sites, wait_for_deliveries

pytestmark = pytest.mark.django_db(transaction=True)

# After the job is queued again: a worker takes it, Django, a request to a loopback receiver.
SLACK = 10.0


@pytest.mark.timeout(600)
def test_a_delivery_interrupted_by_sigkill_is_delivered_again_by_another_worker(
    queue: Queue, pool: WorkerPool, record_property: Callable[[str, object], None]
) -> None:
    # A receiver slow enough that the first worker is still waiting for its answer when killed.
    with Receiver(secret="s3cret", delay=25.0) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        [victim] = pool.start()
        victim_name = pool.rq_worker(victim).name  # type: ignore[union-attr]
        create_sites(1)
        [interrupted] = receiver.wait_for(1, timeout=30)
        others = [*pool.start(with_scheduler=True), *pool.start()]
        [job_id] = StartedJobRegistry(queue=queue).get_job_ids(cleanup=False)
        job = Job.fetch(job_id, connection=queue.connection)
        assert job.timeout is not None
        bound = recovery_bound(job.timeout) + SLACK
        receiver.set_delay(0)

        victim.kill()  # mid-request: the receiver has the request, the worker awaits the answer
        killed_at = time.monotonic()
        requests = receiver.wait_for(2, timeout=bound)
        recovered_after = time.monotonic() - killed_at
        wait_for_deliveries(pool, 1, timeout=30)

    record_property("sigkill_recovery_seconds", round(recovered_after, 1))
    record_property("sigkill_recovery_bound_seconds", bound)
    print(f"SIGKILL recovery: {recovered_after:.1f}s (bound {bound:.0f}s)")
    assert recovered_after <= bound
    assert len(requests) == 2
    again = requests[1]
    assert again.header("X-Hook-Event-Id") == interrupted.header("X-Hook-Event-Id")
    assert again.body == interrupted.body
    assert again.status == 200 and again.signature_valid
    job = Job.fetch(job_id, connection=queue.connection)
    assert job.worker_name != victim_name
    assert job.worker_name in {pool.rq_worker(w).name for w in others}  # type: ignore[union-attr]
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED
    attempts = Delivery.objects.get().attempts.order_by("number")
    assert [(a.number, a.outcome) for a in attempts] == [
        (1, AttemptOutcome.RETRYABLE),
        (2, AttemptOutcome.SUCCEEDED),
    ]
    assert again.header("X-Hook-Attempt") == "2"
    # The worker that delivered it logged the outcome with the event id (JSON lines on stdout).
    event_id = str(Delivery.objects.get().event_id)
    outcomes = [
        entry
        for worker in others
        for entry in worker.json_logs()
        if entry["logger"] == "webhooks_app.delivery.attempts" and entry.get("event_id") == event_id
    ]
    assert len(outcomes) == 1
    assert (outcomes[0]["outcome"], outcomes[0]["attempt"]) == ("succeeded", 2)
    assert outcomes[0]["status_code"] == 200


@pytest.mark.timeout(120)
def test_the_delivery_log_shows_the_attempt_a_sigkill_interrupted(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(secret="s3cret", delay=25.0) as receiver:
        make_rule(make_webhook(receiver.url, secret="s3cret"), events=("object_created",))
        [victim] = pool.start()
        create_sites(1)
        receiver.wait_for(1, timeout=30)
        receiver.set_delay(0)
        victim.kill()
        # RQ's registry cleanup as a live worker will run it once the job's heartbeat expired
        # (the test above waits for that; here an hour is skipped instead), then a worker.
        StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 3600)
        drain(queue, until=lambda: settled_delivery() is not None, timeout=60)
        requests = receiver.wait_for(2)

    delivery = settled_delivery()
    assert delivery is not None
    attempts = list(delivery.attempts.order_by("number"))
    assert [(a.number, a.outcome) for a in attempts] == [
        (1, AttemptOutcome.RETRYABLE),
        (2, AttemptOutcome.SUCCEEDED),
    ]
    assert attempts[0].error.startswith("Interrupted")
    assert [r.header("X-Hook-Attempt") for r in requests] == ["1", "2"]


def settled_delivery() -> Delivery | None:
    return Delivery.objects.filter(state=DeliveryState.SUCCEEDED).first()
