"""The database side under concurrency: relays and transactions running at once, each in its
own thread with its own database connection. Runs on SQLite and, under
``WEBHOOKS_TEST_POSTGRES=1``, on PostgreSQL, where rows are locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` (SQLite serialises writers with ``BEGIN IMMEDIATE``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection, connections, transaction
from rq import Queue

from demo.inventory.models import Site
from webhooks_app.capture.serialization import serialize_for_event
from webhooks_app.dispatch.enqueue import JobSpec, get_queue, relay_outbox
from webhooks_app.models import EventRule, OutboxEntry
from webhooks_app.receiver import Receiver

from . import postgres_server
from .conftest import drain, numbered_job, queued_deliveries
from .redis_server import get_server

pytestmark = pytest.mark.django_db(transaction=True)


def outbox_specs(count: int) -> list[JobSpec]:
    return [numbered_job(n) for n in range(count)]


def fill_outbox(count: int) -> set[str]:
    specs = outbox_specs(count)
    OutboxEntry.objects.bulk_create([OutboxEntry(job=dict(spec)) for spec in specs])
    return {spec["id"] for spec in specs}


def in_threads(*targets: Callable[[], Any]) -> list[Any]:
    """Run the callables at once, one thread (and database connection) each; their results."""
    start = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def run(index: int, target: Callable[[], Any]) -> None:
        try:
            start.wait()
            results[index] = target()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(i, target), name=f"db-thread-{i}")
        for i, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_relays_running_at_once_enqueue_each_outbox_job_exactly_once(queue: Queue) -> None:
    job_ids = fill_outbox(600)
    relayed = in_threads(*[lambda: relay_outbox(batch_size=20)] * 4)
    assert sum(relayed) == 600
    assert queue.count == 600  # a job pushed twice would be in the queue twice
    assert set(queue.job_ids) == job_ids
    assert not OutboxEntry.objects.exists()


@pytest.mark.postgres
def test_a_relay_skips_the_rows_another_relay_holds_instead_of_waiting(queue: Queue) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) are PostgreSQL's; SQLite relays take turns")
    job_ids = fill_outbox(10)
    holding, release = threading.Event(), threading.Event()

    def hold_a_batch() -> set[int]:
        """Lock the first five rows as a relay does while it pushes them, until released."""
        with transaction.atomic():
            rows = OutboxEntry.objects.select_for_update().order_by("id")
            held = set(rows.values_list("pk", flat=True)[:5])
            holding.set()
            release.wait(30)
        return held

    def relay_meanwhile() -> tuple[int, float]:
        holding.wait(30)
        started = time.monotonic()
        relayed = relay_outbox(batch_size=5)
        took = time.monotonic() - started
        release.set()
        return relayed, took

    held, (relayed, took) = in_threads(hold_a_batch, relay_meanwhile)
    assert relayed == 5 and took < 5  # the other half, at once: locked rows are skipped
    assert set(OutboxEntry.objects.values_list("pk", flat=True)) == held  # for the next relay
    assert relay_outbox() == 5
    assert queue.count == 10 and set(queue.job_ids) == job_ids
    assert not OutboxEntry.objects.exists()


class Rollback(Exception):
    pass


def test_concurrent_transactions_dispatch_their_own_events_when_they_commit(
    queue: Queue, site_rule: EventRule
) -> None:
    def write(name: str, commit: bool) -> None:
        try:
            with transaction.atomic():
                for i in range(50):
                    Site.objects.create(name=f"{name} {i}", slug=f"{name}-{i}")
                if not commit:
                    raise Rollback
        except Rollback:
            pass

    in_threads(
        lambda: write("kept", True),
        lambda: write("dropped", False),
        lambda: write("also-kept", True),
        lambda: write("also-dropped", False),
    )
    names = [d["context"]["data"]["name"] for job in queued_deliveries(queue) for d in job]
    assert sorted(names) == sorted(
        [f"kept {i}" for i in range(50)] + [f"also-kept {i}" for i in range(50)]
    )
    assert set(Site.objects.values_list("name", flat=True)) == set(names)


@contextmanager
def redis_stopped() -> Iterator[None]:
    server = get_server()
    server.stop()
    get_queue().connection.connection_pool.disconnect()
    try:
        yield
    finally:
        server.start()


def test_a_job_relayed_from_the_outbox_sends_the_payload_keys_in_their_order(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    with redis_stopped():
        site = Site.objects.create(name="Offline", slug="offline")
    assert relay_outbox() == 1
    drain(queue)
    [request] = receiver.wait_for(1)
    body = request.json()
    # The order of a NetBox payload and of the REST representation, as when sent directly
    # (PostgreSQL's jsonb would sort the keys of a stored job).
    assert list(body) == [
        "event",
        "timestamp",
        "object_type",
        "username",
        "request_id",
        "data",
        "snapshots",
    ]
    assert list(body["data"]) == list(serialize_for_event(site))


@pytest.mark.postgres
def test_a_session_a_test_left_in_a_transaction_is_ended_so_the_flush_cannot_hang() -> None:
    server = postgres_server.get_server()
    if server is None:
        pytest.skip("the harness of the PostgreSQL run (tests.postgres_server)")
    s = connection.settings_dict
    leaked = psycopg.connect(
        host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=s["NAME"]
    )
    # As a worker or thread stuck mid-transaction would: pytest-django's TRUNCATE would wait.
    leaked.execute(f"LOCK TABLE {OutboxEntry._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    connection.ensure_connection()
    keep = [connection.connection.info.backend_pid]
    assert server.terminate_sessions(s["NAME"], keep, idle_too=False) == 1
    assert OutboxEntry.objects.count() == 0  # no longer blocked
    with pytest.raises(psycopg.OperationalError):
        leaked.execute("SELECT 1")
    leaked.close()
