"""Turns: jobs about one object run in queue order; big jobs to one webhook send one after
the other once together they would carry more than DELIVERIES_PER_WEBHOOK deliveries."""

from __future__ import annotations

import threading
import time

from rq import Queue
from rq.job import Job

from webhooks_app.dispatch.enqueue import JOB_FUNC
from webhooks_app.worker.turns import DELIVERIES_PER_WEBHOOK, Running, Turns, objects_of


def running(queue: Queue, webhook: int, objects: range) -> Running:
    deliveries = [
        {"webhook_id": webhook, "object_type": "inventory.site", "object_id": str(n)}
        for n in objects
    ]
    job = Job.create(JOB_FUNC, args=(deliveries,), connection=queue.connection)
    return Running(job, objects_of(job))


def starts_sending_at_once(turns: Turns, job: Running) -> bool:
    """Whether ``job`` gets to send within 0.3 s (it keeps sending until the test ends)."""
    started = threading.Event()
    release = threading.Event()

    def send() -> None:
        with turns.sending(job):
            started.set()
            release.wait(10)

    threading.Thread(target=send, daemon=True).start()
    result = started.wait(0.3)
    job.release = release  # type: ignore[attr-defined]
    return result


def test_jobs_about_an_object_take_turns_in_queue_order(queue: Queue) -> None:
    turns = Turns()
    first, second, other = (
        running(queue, 1, range(1)),
        running(queue, 1, range(1)),
        running(queue, 1, range(5, 6)),
    )
    for job in (first, second, other):
        turns.add(job)
    assert turns.first(first) and not turns.first(second) and turns.first(other)
    assert turns.busy(running(queue, 1, range(1)))
    turns.finished(first)
    assert turns.first(second)


def test_big_jobs_to_one_webhook_send_one_after_the_other(queue: Queue) -> None:
    turns = Turns()
    big = DELIVERIES_PER_WEBHOOK * 3 // 4
    first, second = running(queue, 1, range(big)), running(queue, 1, range(big, 2 * big))
    small = running(queue, 1, range(5000, 5001))
    elsewhere = running(queue, 2, range(big))
    assert starts_sending_at_once(turns, first)
    assert not starts_sending_at_once(turns, second)
    assert starts_sending_at_once(turns, small)  # still fits beside the first
    assert starts_sending_at_once(turns, elsewhere)  # another webhook
    first.release.set()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while turns._sending[1] != big + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert turns._sending[1] == big + 1  # the second is sending now, beside the small one


def test_a_job_bigger_than_the_limit_sends_when_it_is_alone(queue: Queue) -> None:
    turns = Turns()
    huge = running(queue, 1, range(DELIVERIES_PER_WEBHOOK + 50))
    assert starts_sending_at_once(turns, huge)
