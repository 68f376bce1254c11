"""send_concurrently: as many requests in flight as the answer times call for, no more."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import override_settings

from webhooks_app.delivery import concurrency as sending
from webhooks_app.delivery.concurrency import (
    FIRST_WINDOW,
    INLINE,
    SLOT_MS,
    answer_time,
    send_concurrently,
    window_for,
)


@dataclass
class Sent:
    item: int
    thread: str
    took_ms: float


class Recorder:
    """A start function whose requests are answered ``delay`` seconds after they were
    written; it notes the peak in flight and the threads that wrote them."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.abandoned = 0
        self._lock = threading.Lock()

    def __call__(self, item: int) -> OnItsWay:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        return OnItsWay(self, item, threading.current_thread().name, time.perf_counter())

    def ended(self, abandoned: bool = False) -> None:
        with self._lock:
            self.in_flight -= 1
            self.abandoned += abandoned


@dataclass
class OnItsWay:
    recorder: Recorder
    item: int
    thread: str
    started: float

    def finish(self) -> Sent:
        time.sleep(max(0.0, self.started + self.recorder.delay - time.perf_counter()))
        self.recorder.ended()
        return Sent(self.item, self.thread, (time.perf_counter() - self.started) * 1000)

    def abandon(self) -> None:
        self.recorder.ended(abandoned=True)


@dataclass
class Answered:
    sent: Sent

    def finish(self) -> Sent:
        return self.sent

    def abandon(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_answer_times() -> Iterator[None]:
    sending._answers.clear()
    yield
    sending._answers.clear()


def run(recorder: Recorder, count: int, key: str) -> list[Sent]:
    return send_concurrently(
        list(range(count)), recorder, answer_ms=lambda r: r.took_ms, key=lambda item: key
    )


def test_the_window_is_the_answer_time_in_slots_within_the_limit() -> None:
    assert window_for(0.3, 32) == 1
    assert window_for(SLOT_MS * 5, 32) == 5
    assert window_for(200.0, 32) == 32
    assert window_for(200.0, 4) == 4


def test_results_come_back_in_the_order_of_the_items() -> None:
    results = run(Recorder(0.0), 40, "w")
    assert [r.item for r in results] == list(range(40))


def test_fast_answers_are_sent_from_the_calling_thread_a_few_in_flight() -> None:
    run(Recorder(0.0), 10, "fast")  # learns that this key answers at once
    assert answer_time("fast") is not None and answer_time("fast") < SLOT_MS
    recorder = Recorder(0.0)
    results = run(recorder, 30, "fast")
    assert recorder.peak == INLINE
    assert {r.thread for r in results} == {threading.current_thread().name}
    assert [r.item for r in results] == list(range(30))


def test_a_job_interrupted_while_sending_inline_drops_what_is_in_flight() -> None:
    sending._answers["fast"] = 0.5
    recorder = Recorder(0.0)

    def start(item: int) -> OnItsWay:
        if item == 5:
            raise KeyboardInterrupt  # a job timeout
        return recorder(item)

    with pytest.raises(KeyboardInterrupt):
        send_concurrently(list(range(10)), start, answer_ms=lambda r: 0.5, key=lambda i: "fast")
    assert recorder.in_flight == 0 and recorder.abandoned == INLINE - 1
    assert sending._in_flight == {}


def test_slow_answers_get_many_requests_in_flight_up_to_the_limit() -> None:
    recorder = Recorder(0.05)
    with override_settings(WEBHOOKS_CONCURRENCY=8):
        run(recorder, 40, "slow")
    assert recorder.peak == 8


def test_an_unknown_receiver_starts_with_a_small_window() -> None:
    recorder = Recorder(0.05)
    send_concurrently(
        list(range(FIRST_WINDOW)), recorder, answer_ms=lambda r: None, key=lambda item: "new"
    )
    assert recorder.peak == FIRST_WINDOW


def test_each_receiver_of_a_job_gets_the_window_of_its_own_answer_times() -> None:
    run(Recorder(0.0), 5, "fast")
    sending._answers["slow"] = 100.0
    slow, fast = Recorder(0.02), Recorder(0.0)
    with override_settings(WEBHOOKS_CONCURRENCY=6):
        send_concurrently(
            list(range(48)),
            lambda item: (slow if item % 2 else fast)(item),
            answer_ms=lambda r: None,
            key=lambda item: "slow" if item % 2 else "fast",
        )
    assert slow.peak > 2
    assert fast.peak <= INLINE


def test_jobs_sending_to_one_receiver_at_once_share_its_window() -> None:
    sending._answers["slow"] = 100.0
    recorder = Recorder(0.02)
    with override_settings(WEBHOOKS_CONCURRENCY=6):
        jobs = [
            threading.Thread(
                target=send_concurrently,
                args=(list(range(30)), recorder),
                kwargs={"answer_ms": lambda r: None, "key": lambda item: "slow"},
            )
            for _ in range(3)
        ]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
    # 6 for the receiver, and each of the other jobs may always keep one request going.
    assert 6 <= recorder.peak <= 8
    assert sending._in_flight == {}


def test_a_job_interrupted_while_sending_frees_its_share_of_the_window() -> None:
    sending._answers["slow"] = 100.0

    def interrupted(item: int) -> Answered:
        if item == 3:
            raise KeyboardInterrupt  # what a job timeout does to the waiting thread
        time.sleep(0.01)
        return Answered(Sent(item, "", 0.0))

    with pytest.raises(KeyboardInterrupt):
        send_concurrently(
            list(range(10)), interrupted, answer_ms=lambda r: None, key=lambda i: "slow"
        )
    assert sending._in_flight == {}
