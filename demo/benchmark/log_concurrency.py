"""What operators feel while the delivery log is pruned (issue 20): redeliveries through the API
of the very deliveries being deleted, from another thread, each timed; and deleting a webhook
and its rule that have a long history.

A redelivery either comes before the prune's batch reaches its row (202), or after (404); it
may wait for one batch's transaction (its row lock), never for the prune, and never answers 500.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from webhooks_app.models import EventRule, Webhook

__all__ = ["RedeliverProbe", "delete_webhook_with_history", "superuser_client"]

API = "/api/webhooks"


def superuser_client() -> Client:
    user = User.objects.filter(username="log-bench").first() or User.objects.create_superuser(
        "log-bench", password="unused"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


@dataclass
class RedeliverProbe:
    """Redeliver random deliveries of ``ids`` through the API, one at a time, until stopped."""

    ids: list[UUID]
    statuses: Counter[int] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = superuser_client()
        rng = random.Random(20)
        try:
            while not self.stop.is_set():
                pk = rng.choice(self.ids)
                began = time.perf_counter()
                response = client.post(f"{API}/deliveries/{pk}/redeliver/")
                self.times.append((time.perf_counter() - began) * 1000)
                self.statuses[response.status_code] += 1
        finally:
            connection.close()  # this thread's own connection

    def during(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` in this thread while the probe redelivers from another."""
        thread = threading.Thread(target=self.run, name="redeliver-probe")
        thread.start()
        try:
            return work()
        finally:
            self.stop.set()
            thread.join()

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
