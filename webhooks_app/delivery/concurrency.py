"""Sending the deliveries of one job concurrently, with as many in flight as the receiver needs.

A receiver that answers in about a millisecond is best sent to by the job's own thread, with
:data:`INLINE` requests in flight: while the receiver answers one, the thread renders and writes
the next, and the answer is usually there when it is read (no sleeping on the socket). More
sending threads only wait for each other (Python runs one thread at a time; on 2 cores 32
sending threads per job cost about 0.8 ms of CPU per delivery more than one). A slow receiver
needs many requests in flight: at 200 ms an answer, 100 deliveries a second need 20. So the
window follows the answer times, remembered per key (the webhook) from job to job: it is the
number of requests that fit in the recent answer time at :data:`SLOT_MS` each, between 1 and
``WEBHOOKS_CONCURRENCY`` (a window of 1 is the job's own thread). A key not seen before
starts at :data:`FIRST_WINDOW`. The window of a key holds for the
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
from collections import Counter, deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol, TypeVar

from webhooks_app.conf import conf

__all__ = [
    "FIRST_WINDOW",
    "INLINE",
    "SLOT_MS",
    "Pending",
    "answer_time",
    "send_concurrently",
    "window_for",
]

FIRST_WINDOW = 4
SLOT_MS = 2.0  # about the CPU time one delivery takes, with some room
SMOOTHING = 0.3  # weight of the latest answer time in the running average

# Requests in flight from the job's own thread to a fast receiver. Two already hide the round
# trip on an idle machine; a third helps when the receiver's answers are slowed by a busy CPU
# (two workers on 2 cores, three runs each: 1.61-1.93x one worker with three, 1.61-1.70x
# with two; noisy).
INLINE = 3

Item = TypeVar("Item")
Result = TypeVar("Result")
Result_co = TypeVar("Result_co", covariant=True)

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


class Pending(Protocol[Result_co]):
    """A request on its way (:class:`webhooks_app.delivery.attempts.Attempt`)."""

    def finish(self) -> Result_co: ...

    def abandon(self) -> None: ...


def send_concurrently(
    items: Sequence[Item],
    start: Callable[[Item], Pending[Result]],
    answer_ms: Callable[[Result], float | None],
    key: Callable[[Item], Hashable],
) -> list[Result]:
    """Send every item (``start`` writes its request, ``finish`` of what it returns reads the
    answer), keeping a window of them in flight that follows ``answer_ms`` of the results (per
    ``key``); results come back in the order of ``items``. Neither may raise for what the
    network did."""
    limit = max(1, int(conf.WEBHOOKS_CONCURRENCY))
    keys = [key(item) for item in items]
    distinct = set(keys)
    if len(items) == 1:
        result = start(items[0]).finish()
        _note(keys[0], answer_ms(result))
        return [result]

    def window() -> int:
        known = [t for t in map(answer_time, distinct) if t is not None]
        return window_for(max(known), limit) if known else min(FIRST_WINDOW, limit)

    results: list[Result | None] = [None] * len(items)
    running: dict[Future[Result], int] = {}
    upcoming = list(range(len(items)))[::-1]
    inline: deque[tuple[int, Pending[Result]]] = deque()
    pool: ThreadPoolExecutor | None = None

    def finish_oldest() -> None:
        index, pending = inline.popleft()
        try:
            results[index] = result = pending.finish()
        finally:
            _free_slot(keys[index])
        _note(keys[index], answer_ms(result))

    try:
        while upcoming or running or inline:
            size = window()
            if size == 1 and not running:  # fast answers: from this thread, INLINE at a time
                if upcoming and len(inline) < INLINE:
                    index = upcoming.pop()
                    _take_slot(keys[index], limit, anyway=True)
                    try:
                        inline.append((index, start(items[index])))
                    except BaseException:
                        _free_slot(keys[index])
                        raise
                    continue
                finish_oldest()
                continue
            while inline:  # the receiver slowed down: threads from here on
                finish_oldest()
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="webhook-send")
            while (
                upcoming
                and len(running) < size
                and _take_slot(keys[upcoming[-1]], limit, anyway=not running)
            ):
                index = upcoming.pop()
                running[pool.submit(_send, start, items[index])] = index
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                _free_slot(keys[index])
                results[index] = result = future.result()
                _note(keys[index], answer_ms(result))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        for index, pending in inline:  # interrupted (a job timeout)
            pending.abandon()
            _free_slot(keys[index])
        for index in running.values():  # their slots are free now
            _free_slot(keys[index])
    return results  # type: ignore[return-value]


def _send(start: Callable[[Item], Pending[Result]], item: Item) -> Result:
    return start(item).finish()
