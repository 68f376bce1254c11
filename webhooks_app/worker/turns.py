"""Which of a worker's running jobs may deliver now.

Jobs about the same object for the same webhook take turns in the order they were queued, so
one worker delivers an object's events in order. And the jobs sending to one webhook from job
threads at a time carry at most :data:`DELIVERIES_PER_WEBHOOK` deliveries together (a job
alone may carry more): they share the webhook's window of requests in flight anyway (see
:mod:`.sending`), so more of them at once only add the memory of their deliveries (8 jobs of
100 to a receiver that slowed down left a worker 20 MB larger for good), while small jobs and
jobs to other webhooks still run beside them.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rq.job import Job

from webhooks_app.dispatch.enqueue import JOB_FUNC

__all__ = ["DELIVERIES_PER_WEBHOOK", "Running", "Turns", "objects_of"]

DELIVERIES_PER_WEBHOOK = 200

Key = tuple[Any, ...]


@dataclass
class Running:
    job: Job
    objects: frozenset[Key]
    execution: Any = None

    @property
    def webhooks(self) -> set[Any]:
        return {key[0] for key in self.objects}

    @property
    def deliveries(self) -> int:
        return len(self.job.args[0]) if self.job.args else 0


def objects_of(job: Job) -> frozenset[Key]:
    """The (webhook, object type, object id) triples a delivery job sends events about."""
    if job.func_name != JOB_FUNC or not job.args:
        return frozenset()
    try:
        return frozenset(
            (d.get("webhook_id"), d.get("object_type"), d.get("object_id")) for d in job.args[0]
        )
    except (TypeError, AttributeError):
        return frozenset()


class Turns:
    """The running jobs of a worker (by job id), their turns per object, and the webhooks
    being sent to from job threads; ``changed`` is notified whenever a job finishes."""

    def __init__(self) -> None:
        self.changed = threading.Condition(threading.RLock())
        self.running: dict[str, Running] = {}
        self._queued: dict[Key, deque[str]] = {}
        self._sending: Counter[Any] = Counter()

    def add(self, running: Running) -> None:
        with self.changed:
            self.running[running.job.id] = running
            for key in running.objects:
                self._queued.setdefault(key, deque()).append(running.job.id)

    def busy(self, running: Running) -> bool:
        """Whether another job about one of the same objects is running or waiting."""
        with self.changed:
            return any(key in self._queued for key in running.objects)

    def first(self, running: Running) -> bool:
        with self.changed:
            return all(self._queued[key][0] == running.job.id for key in running.objects)

    def wait_for_turn(self, running: Running) -> None:
        """Until the jobs about the same objects queued before this one have finished."""
        with self.changed:
            while not self.first(running):
                self.changed.wait(timeout=1.0)

    @contextmanager
    def sending(self, running: Running) -> Iterator[None]:
        """Wait until the job's deliveries fit in :data:`DELIVERIES_PER_WEBHOOK` beside those
        of the jobs sending to each of its webhooks, and count them until the block ends."""
        webhooks, count = running.webhooks, running.deliveries

        def room(webhook: Any) -> bool:
            sending = self._sending[webhook]
            return sending == 0 or sending + count <= DELIVERIES_PER_WEBHOOK

        with self.changed:
            while not all(room(w) for w in webhooks):
                self.changed.wait(timeout=1.0)
            self._sending.update(dict.fromkeys(webhooks, count))
        try:
            yield
        finally:
            with self.changed:
                self._sending.subtract(dict.fromkeys(webhooks, count))
                for webhook in webhooks:
                    if self._sending[webhook] <= 0:
                        del self._sending[webhook]
                self.changed.notify_all()

    def finished(self, running: Running) -> None:
        with self.changed:
            self.running.pop(running.job.id, None)
            for key in running.objects:
                queued = self._queued[key]
                queued.remove(running.job.id)
                if not queued:
                    del self._queued[key]
            self.changed.notify_all()
