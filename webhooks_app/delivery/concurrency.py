"""Running the sends of one job at once: a bounded thread pool, as wide as the answer times need.

A receiver that answers in about a millisecond is sent to best from the job's own thread, one
request after the other: more threads only wait for each other (Python runs one at a time, and
each switch costs CPU). A slow receiver needs many requests in flight: at 200 ms an answer,
100 deliveries a second need 20. So the number of sends in flight follows the answer times,
remembered per key (the webhook) from job to job: the requests that fit in the recent answer
time at :data:`SLOT_MS` each, between 1 and ``WEBHOOKS_CONCURRENCY``, :data:`FIRST_WINDOW` for
a key not heard from yet. It is read again after every answer, so a receiver that slows down in
the middle of a job gets more threads at once.

The threads are a ``concurrent.futures.ThreadPoolExecutor`` of the job's own, started only when
more than one send is to be in flight and shut down when the job is done: no job waits for
threads another job is using, an interrupted job (a job timeout raised in its thread) cancels
only its own sends not yet started, and a worker keeps no threads from a burst of slow answers.
Across the jobs of a process, at most ``WEBHOOKS_CONCURRENCY`` sends per key are in flight.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar, cast

from webhooks_app.conf import conf

__all__ = ["FIRST_WINDOW", "SLOT_MS", "answer_time", "run_concurrently", "window_for"]

FIRST_WINDOW = 4
SLOT_MS = 2.0  # about the CPU time one delivery takes, with some room
SMOOTHING = 0.3  # weight of the latest answer time in the running average

Item = TypeVar("Item")
Result = TypeVar("Result")

# Recent answer time (ms) per key; plain dict updates are atomic, a lost update is harmless.
_answers: dict[Hashable, float] = {}
# Sends in flight per key across the process: (key, limit) -> its slots.
_slots: dict[tuple[Hashable, int], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def window_for(answer_ms: float, limit: int) -> int:
    """How many sends to keep in flight when answers take ``answer_ms``."""
    return max(1, min(limit, math.ceil(answer_ms / SLOT_MS)))


def answer_time(key: Hashable) -> float | None:
    """The recent answer time for ``key`` in ms, if anything was sent for it."""
    return _answers.get(key)


def forget_answer_times() -> None:
    """Start again from :data:`FIRST_WINDOW` for every key (for tests)."""
    _answers.clear()


def _note(key: Hashable, took: float | None) -> None:
    if took is None:
        return
    previous = _answers.get(key)
    _answers[key] = took if previous is None else previous + SMOOTHING * (took - previous)


def _window(keys: set[Hashable], limit: int) -> int:
    """The sends to keep in flight for a job to ``keys``: the widest window of its keys."""
    return max((_key_window(key, limit) for key in keys), default=1)


def _key_window(key: Hashable, limit: int) -> int:
    known = answer_time(key)
    return min(FIRST_WINDOW, limit) if known is None else window_for(known, limit)


def _slot(key: Hashable, limit: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        slot = _slots.get((key, limit))
        if slot is None:
            slot = _slots[(key, limit)] = threading.BoundedSemaphore(limit)
        return slot


def run_concurrently(
    items: Sequence[Item],
    work: Callable[[Item], Result],
    *,
    key: Callable[[Item], Hashable],
    took_ms: Callable[[Result], float | None],
) -> list[Result]:
    """``work`` on every item, as many at once as the answer times of their keys call for
    (``took_ms`` of each result is noted for its key); the results in the order of ``items``.
    ``work`` should not raise: what it raises ends the run (sends not yet started are
    cancelled) and is raised here."""
    limit = max(1, int(conf.WEBHOOKS_CONCURRENCY))
    keys = [key(item) for item in items]
    distinct = set(keys)

    def run(index: int) -> Result:
        with _slot(keys[index], limit):
            result = work(items[index])
        _note(keys[index], took_ms(result))
        return result

    results: list[Result | None] = [None] * len(items)
    running: dict[Future[Result], int] = {}
    upcoming = 0
    pool: ThreadPoolExecutor | None = None
    finished = False
    try:
        while upcoming < len(items) or running:
            size = _window(distinct, limit)
            if size == 1 and not running:  # fast answers: one after the other, in this thread
                results[upcoming] = run(upcoming)
                upcoming += 1
                continue
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="webhook-send")
            while upcoming < len(items) and len(running) < size:
                running[pool.submit(run, upcoming)] = upcoming
                upcoming += 1
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = future.result()
        finished = True
    finally:
        if pool is not None:  # interrupted: sends under way end on their own (timeouts)
            pool.shutdown(wait=finished, cancel_futures=True)
    return cast(list[Result], results)
