"""The worker's job threads: a fixed set of threads that run tasks one after another and, when
they stop, close the database connections they opened (Django keeps one per thread); after
each task, like after a request, a connection older than ``CONN_MAX_AGE`` is closed."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from django.db import close_old_connections, connections

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
                    # As after a request: a connection past CONN_MAX_AGE (0 by default) is
                    # closed, so idle job threads hold no connection, nor its cache (SQLite
                    # keeps up to 2 MB of pages per connection).
                    close_old_connections()
        finally:
            connections.close_all()
