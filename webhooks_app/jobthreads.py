"""The worker's job threads: a fixed set of threads that run tasks one after another and, when
they stop, close the database connections they opened (Django keeps one per thread)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from django.db import connections

__all__ = ["JobThreads"]

logger = logging.getLogger(__name__)


class JobThreads:
    def __init__(self, size: int, name: str) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}_{number}", daemon=True)
            for number in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Callable[[], None]) -> None:
        self._tasks.put(task)

    def shutdown(self) -> None:
        """Let the tasks given so far finish, then stop every thread."""
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()

    def _loop(self) -> None:
        try:
            while (task := self._tasks.get()) is not None:
                try:
                    task()
                except Exception:
                    logger.exception("A job thread's task raised")
        finally:
            connections.close_all()
