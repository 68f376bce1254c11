"""JobThreads: tasks run in a fixed set of threads; after each task a database connection past
CONN_MAX_AGE is closed (as after a request), a younger one is kept for the next task."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from webhooks_app.models import Webhook
from webhooks_app.worker.jobthreads import JobThreads

pytestmark = pytest.mark.django_db(transaction=True)


def connection_seen_by_next_task(max_age: int | None) -> bool:
    """Run a task that queries the database, then one that looks at its thread's connection."""
    seen: list[bool] = []
    done = threading.Event()

    def query() -> None:
        Webhook.objects.exists()

    def look() -> None:
        seen.append(connection.connection is not None)
        done.set()

    # The settings dict is shared by every thread's connection to the database.
    before = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = max_age
    threads = JobThreads(1, "test-job")
    try:
        threads.submit(query)
        threads.submit(look)
        assert done.wait(10)
    finally:
        threads.shutdown()
        connection.settings_dict["CONN_MAX_AGE"] = before
    return seen[0]


def test_a_connection_is_closed_after_each_task_by_default() -> None:
    assert connection_seen_by_next_task(0) is False


def test_a_persistent_connection_is_kept_for_the_next_task() -> None:
    assert connection_seen_by_next_task(None) is True
