"""Sending the deliveries of one job concurrently, with as many in flight as the receiver needs.

A receiver that answers in about a millisecond is best sent to one request after the other by
the job's own thread: more sending threads only wait for each other (Python runs one thread at
a time; on 2 cores 32 sending threads per job cost about 0.8 ms of CPU per delivery more than
one). A slow receiver needs many requests in
flight: at 200 ms an answer, 100 deliveries a second need 20. So the window follows the answer
times, remembered per key (the webhook) from job to job: it is the number of requests that fit
in the recent answer time at :data:`SLOT_MS` each, between 1 and ``WEBHOOKS_CONCURRENCY``.
A key not seen before starts at :data:`FIRST_WINDOW`. The window of a key holds for the
whole process: when several jobs of a worker send to the same receiver at once, they share its
window (each job may always keep one request going), so a receiver that slows down for a
moment draws a few more sending threads, not a few more for every job at once (a burst of a
hundred threads left its memory in the worker for good).

A job that needs sending threads starts its own and ends them when it is done: no job waits
for threads another job is using, and a worker's memory does not keep the threads of a burst
of slow answers (kept from job to job, they added about 0.3 MB each, up to 8 x 32 of them).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from .conf import conf

__all__ = ["FIRST_WINDOW", "SLOT_MS", "answer_time", "send_concurrently", "window_for"]

FIRST_WINDOW = 4
SLOT_MS = 2.0  # about the CPU time one delivery takes, with some room
SMOOTHING = 0.3  # weight of the latest answer time in the running average

Item = TypeVar("Item")
Result = TypeVar("Result")

# Recent answer time (ms) per key; plain dict updates are atomic, a lost update is harmless.
_answers: dict[Hashable, float] = {}
# Requests in flight per key, across the process's jobs.
_in_flight: Counter[Hashable] = Counter()
_in_flight_lock = threading.Lock()


def window_for(answer_ms: float, limit: int) -> int:
    """How many requests to keep in flight when answers take ``answer_ms``."""
    return max(1, min(limit, math.ceil(answer_ms / SLOT_MS)))


def answer_time(key: Hashable) -> float | None:
    """The recent answer time for ``key`` in ms, if any request was sent for it."""
    return _answers.get(key)


def _key_window(key: Hashable, limit: int) -> int:
    known = answer_time(key)
    return window_for(known, limit) if known is not None else min(FIRST_WINDOW, limit)


def _take_slot(key: Hashable, limit: int, anyway: bool) -> bool:
    """Count one more request in flight for ``key`` if its window has room (or ``anyway``)."""
    with _in_flight_lock:
        if not anyway and _in_flight[key] >= _key_window(key, limit):
            return False
        _in_flight[key] += 1
        return True


def _free_slot(key: Hashable) -> None:
    with _in_flight_lock:
        _in_flight[key] -= 1
        if _in_flight[key] <= 0:
            del _in_flight[key]


def _note(key: Hashable, took: float | None) -> None:
    if took is None:
        return
    previous = _answers.get(key)
    _answers[key] = took if previous is None else previous + SMOOTHING * (took - previous)


def send_concurrently(
    items: Sequence[Item],
    send: Callable[[Item], Result],
    answer_ms: Callable[[Result], float | None],
    key: Callable[[Item], Hashable],
) -> list[Result]:
    """``send`` every item, keeping a window of them in flight that follows ``answer_ms`` of
    the results (per ``key``); results come back in the order of ``items``. ``send`` must
    not raise."""
    limit = max(1, int(conf.WEBHOOKS_CONCURRENCY))
    keys = [key(item) for item in items]
    distinct = set(keys)
    if len(items) == 1:
        result = send(items[0])
        _note(keys[0], answer_ms(result))
        return [result]

    def window() -> int:
        known = [t for t in map(answer_time, distinct) if t is not None]
        return window_for(max(known), limit) if known else min(FIRST_WINDOW, limit)

    results: list[Result | None] = [None] * len(items)
    running: dict[Future[Result], int] = {}
    upcoming = list(range(len(items)))[::-1]
    pool: ThreadPoolExecutor | None = None
    try:
        while upcoming or running:
            size = window()
            if size == 1 and not running:  # fast answers: send from this thread
                index = upcoming.pop()
                _take_slot(keys[index], limit, anyway=True)
                try:
                    results[index] = result = send(items[index])
                finally:
                    _free_slot(keys[index])
                _note(keys[index], answer_ms(result))
                continue
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="webhook-send")
            while (
                upcoming
                and len(running) < size
                and _take_slot(keys[upcoming[-1]], limit, anyway=not running)
            ):
                index = upcoming.pop()
                running[pool.submit(send, items[index])] = index
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                _free_slot(keys[index])
                results[index] = result = future.result()
                _note(keys[index], answer_ms(result))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        for index in running.values():  # interrupted (a job timeout): their slots are free now
            _free_slot(keys[index])
    return results  # type: ignore[return-value]
