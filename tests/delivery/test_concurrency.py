"""run_concurrently: as many sends in flight as the answer times call for, no more."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import override_settings

from webhooks_app.delivery.concurrency import (
    FIRST_WINDOW,
    SLOT_MS,
    answer_time,
    forget_answer_times,
    run_concurrently,
    window_for,
)


@dataclass
class Sent:
    item: int
    thread: str
    took_ms: float


class Recorder:
    """A send answered ``delay`` seconds after it began; notes the peak in flight."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.started: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, item: int) -> Sent:
        began = time.perf_counter()
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.started.append(item)
        time.sleep(self.delay)  # the receiver taking its time
        with self._lock:
            self.in_flight -= 1
        return Sent(item, threading.current_thread().name, (time.perf_counter() - began) * 1000)


@pytest.fixture(autouse=True)
def no_answer_times() -> Iterator[None]:
    forget_answer_times()
    yield
    forget_answer_times()


def run(recorder: Recorder, count: int, key: str) -> list[Sent]:
    return run_concurrently(
        list(range(count)), recorder, key=lambda item: key, took_ms=lambda r: r.took_ms
    )


def test_the_window_is_the_answer_time_in_slots_within_the_limit() -> None:
    assert window_for(0.3, 32) == 1
    assert window_for(SLOT_MS * 5, 32) == 5
    assert window_for(200.0, 32) == 32
    assert window_for(200.0, 4) == 4


def test_results_come_back_in_the_order_of_the_items() -> None:
    results = run(Recorder(0.0), 40, "w")
    assert [r.item for r in results] == list(range(40))


def test_fast_answers_are_sent_one_after_the_other_from_the_calling_thread() -> None:
    run(Recorder(0.0), 10, "fast")  # learns that this key answers at once
    assert (answer_time("fast") or SLOT_MS) < SLOT_MS
    recorder = Recorder(0.0)
    results = run(recorder, 30, "fast")
    assert recorder.peak == 1
    assert {r.thread for r in results} == {threading.current_thread().name}


def test_an_unknown_receiver_starts_with_a_small_window() -> None:
    recorder = Recorder(0.05)
    run_concurrently(
        list(range(FIRST_WINDOW * 2)), recorder, key=lambda item: "new", took_ms=lambda r: None
    )
    assert recorder.peak == FIRST_WINDOW


def test_slow_answers_get_many_sends_in_flight_up_to_the_limit() -> None:
    recorder = Recorder(0.05)
    with override_settings(WEBHOOKS_CONCURRENCY=8):
        run(recorder, 40, "slow")
    assert recorder.peak == 8


def test_a_receiver_that_slows_down_gets_more_sends_in_flight_within_the_job() -> None:
    run(Recorder(0.0), 5, "changing")
    recorder = Recorder(0.0)

    def slower_from_item_3(item: int) -> Sent:
        recorder.delay = 0.0 if item < 3 else 0.03
        return recorder(item)

    with override_settings(WEBHOOKS_CONCURRENCY=6):
        run_concurrently(
            list(range(40)),
            slower_from_item_3,
            key=lambda i: "changing",
            took_ms=lambda r: r.took_ms,
        )
    assert recorder.peak == 6


def test_jobs_sending_to_one_receiver_at_once_share_its_limit() -> None:
    recorder = Recorder(0.02)
    with override_settings(WEBHOOKS_CONCURRENCY=6):
        run(Recorder(0.02), 6, "slow")  # learns that this key is slow
        jobs = [threading.Thread(target=run, args=(recorder, 30, "slow")) for _ in range(3)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
    assert recorder.peak == 6


def test_each_receiver_of_a_job_is_limited_on_its_own() -> None:
    with override_settings(WEBHOOKS_CONCURRENCY=4):
        run(Recorder(0.02), 4, "a")
        run(Recorder(0.02), 4, "b")
        recorders = {"a": Recorder(0.02), "b": Recorder(0.02)}
        run_concurrently(
            list(range(24)),
            lambda item: recorders["a" if item % 2 else "b"](item),
            key=lambda item: "a" if item % 2 else "b",
            took_ms=lambda r: r.took_ms,
        )
    assert recorders["a"].peak <= 4 and recorders["b"].peak <= 4


class JobTimeout(Exception):
    pass


def raise_timeout(signum: int, frame: object) -> None:
    raise JobTimeout


def test_an_interrupted_run_starts_nothing_more_and_frees_its_share() -> None:
    """A job timeout (rq raises it from SIGALRM in the job's thread) while sends are under
    way: none is started after it, and the ones under way give their slots back."""
    recorder = Recorder(0.02)
    previous = signal.signal(signal.SIGALRM, raise_timeout)
    try:
        with override_settings(WEBHOOKS_CONCURRENCY=4):
            run(Recorder(0.02), 4, "slow")
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(JobTimeout):
                run(recorder, 400, "slow")
            started = len(recorder.started)
            after = Recorder(0.02)
            run(after, 8, "slow")  # the limit is whole again
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(recorder.started) == started < 40
    assert after.peak == 4
