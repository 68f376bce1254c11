"""What operators feel while the delivery log is pruned (issue 20): redeliveries through the API
of the very deliveries being deleted, from another process (as a web server's), each timed; and deleting a webhook
and its rule that have a long history.

This module imports no model at its top: the probe's process (spawned) imports it before
``django.setup()``.

A redelivery either comes before the prune's batch reaches its row (202), or after (404); it
may wait for one batch's transaction (its row lock), never for the prune, and never answers 500.
"""

from __future__ import annotations

import logging
import multiprocessing
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from uuid import UUID

from django.test import Client

__all__ = ["RedeliverProbe", "delete_webhook_with_history", "superuser_client"]

API = "/api/webhooks"


def superuser_client() -> Client:
    from django.contrib.auth.models import User  # in the probe's process, after setup()

    user = User.objects.filter(username="log-bench").first() or User.objects.create_superuser(
        "log-bench", password="unused"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def _redeliver_until_stopped(ids: list[str], stop: Event, results: Connection) -> None:
    """In the probe's own process (as a web server's would be): redeliver random deliveries of
    ``ids`` through the API, one at a time, until ``stop``; send back statuses and times."""
    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 404s are expected here
    client = superuser_client()
    rng = random.Random(20)
    statuses: Counter[int] = Counter()
    times: list[float] = []
    while not stop.is_set():
        began = time.perf_counter()
        response = client.post(f"{API}/deliveries/{rng.choice(ids)}/redeliver/")
        times.append((time.perf_counter() - began) * 1000)
        statuses[response.status_code] += 1
    results.send((dict(statuses), times))
    results.close()


@dataclass
class RedeliverProbe:
    """Redeliver random deliveries of ``ids`` through the API from another process, one at a
    time, between ``start()`` and ``finish()``."""

    ids: list[UUID]
    statuses: Counter[int] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    stop: Event = field(init=False)
    results: Connection = field(init=False)
    process: BaseProcess = field(init=False)

    def start(self) -> None:
        """Start redelivering from another process (spawned: its own connections)."""
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.results, sending = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_redeliver_until_stopped,
            args=([str(pk) for pk in self.ids], self.stop, sending),
            name="redeliver-probe",
        )
        self.process.start()

    def finish(self) -> None:
        """Stop redelivering and collect what happened."""
        self.stop.set()
        statuses, self.times = self.results.recv()
        self.statuses.update(statuses)
        self.process.join()

    def summary(self) -> str:
        if not self.times:
            return "no redelivery ran"
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        ordered = sorted(self.times)
        median = ordered[len(ordered) // 2]
        return (
            f"{len(self.times)} redeliveries meanwhile ({codes}), "
            f"median {median:.0f} ms, longest {ordered[-1]:.0f} ms"
        )


def delete_webhook_with_history() -> tuple[float, int]:
    """Delete (through the API) the first benchmark rule and its webhook, whose deliveries are
    a twentieth of the log; returns the milliseconds of the two requests and that count."""
    from webhooks_app.models import EventRule, Webhook

    webhook = Webhook.objects.filter(name__startswith="bench-hook-").order_by("pk").first()
    rule = EventRule.objects.filter(webhook=webhook).first()
    if webhook is None or rule is None:
        return 0.0, 0
    history = webhook.deliveries.count()
    client = superuser_client()
    began = time.perf_counter()
    answers = [
        client.delete(f"{API}/event-rules/{rule.pk}/").status_code,
        client.delete(f"{API}/webhooks/{webhook.pk}/").status_code,
    ]
    elapsed = (time.perf_counter() - began) * 1000
    if answers != [204, 204]:
        raise RuntimeError(f"deleting the rule and the webhook answered {answers}")
    return elapsed, history
