"""The delivery log at scale (issue 20): fill it with N realistic deliveries on PostgreSQL, then
time every surface that reads it (admin and API, through Django's test client as a superuser)
and a prune of one day, with its peak memory and longest transaction.

The fill writes through psycopg's public COPY API (``cursor.copy`` and ``write_row``), in the
log's real tables with their indexes: 20 webhooks and rules, deliveries spread over 30 days,
1 or 2 attempts each (2 for the 5 % that failed), about 1.5 KB of payload per event. Each event
goes to ``fan_out`` of the webhooks (default 1): that many deliveries, one stored payload. Rows
are written as the log writes them: the payload once per event (``EventPayload``, its id from
``payload_id``), the deliveries referring to it, and an attempt whose body is the payload as
JSON does not store it again.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from demo.benchmark.log_concurrency import RedeliverProbe, delete_webhook_with_history
from webhooks_app.delivery.log import is_payload_body
from webhooks_app.delivery.retention import prune_older_than
from webhooks_app.models import Delivery, DeliveryAttempt, EventPayload, EventRule, Webhook
from webhooks_app.models.payload import payload_id

__all__ = ["Timing", "fill", "measure_delete", "measure_prune", "measure_surfaces"]

WEBHOOKS = 20
DAYS = 30
FAILED_SHARE = 0.05
RUNS = 5
DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "webhook_id",
    "event_rule_id",
    "webhook_name",
    "event_rule_name",
    "object_type",
    "object_id",
    "event_type",
    "state",
    "attempt_count",
    "last_status_code",
    "last_error",
    "event_payload_id",
    "created",
    "last_updated",
)
PAYLOAD_COLUMNS = ("id", "data")
ATTEMPT_COLUMNS = (
    "delivery_id",
    "number",
    "started_at",
    "duration_ms",
    "outcome",
    "request_method",
    "request_url",
    "request_headers",
    "request_body",
    "request_body_is_payload",
    "response_status",
    "response_headers",
    "response_body",
    "error",
)


@dataclass
class Timing:
    surface: str
    median_ms: float
    note: str = ""


def _payload(n: int) -> str:
    """About 1.5 KB of event context, as NetBox-style webhooks carry."""
    data = {
        "event": "updated",
        "timestamp": "2026-01-01T00:00:00+00:00",
        "model": "site",
        "username": "admin",
        "request_id": str(uuid.UUID(int=n)),
        "data": {
            "id": n,
            "url": f"/api/dcim/sites/{n}/",
            "display": f"Site {n}",
            "name": f"Site {n}",
            "slug": f"site-{n}",
            "status": {"value": "active", "label": "Active"},
            "description": "A realistic site with a description of moderate length. " * 6,
            "comments": "x" * 300,
            "tags": [{"id": t, "name": f"tag-{t}", "slug": f"tag-{t}"} for t in range(4)],
        },
        "snapshots": {"prechange": {"name": f"Site {n - 1}"}, "postchange": {"name": f"Site {n}"}},
    }
    return json.dumps(data)


def _setup_hooks() -> list[tuple[int, str, int, str]]:
    hooks = []
    for i in range(WEBHOOKS):
        webhook, _ = Webhook.objects.get_or_create(
            name=f"bench-hook-{i}", defaults={"payload_url": f"http://127.0.0.1:9/{i}"}
        )
        rule, _ = EventRule.objects.get_or_create(
            name=f"bench-rule-{i}", defaults={"webhook": webhook, "event_types": ["object_updated"]}
        )
        hooks.append((webhook.pk, webhook.name, rule.pk, rule.name))
    return hooks


Row = tuple[Any, ...]


def _rows(rows: int, start: datetime, fan_out: int) -> Iterator[tuple[Row, list[Row], Row | None]]:
    """Each delivery with its attempts, and the payload with the first delivery of its event
    (None with the others)."""
    rng = random.Random(20)
    hooks = _setup_hooks()
    step = timedelta(days=DAYS) / max(rows, 1)
    headers = json.dumps({"Content-Type": "application/json", "X-Hook-Signature": "0" * 128})
    # The webhooks have no body template: each attempt sent its payload as JSON, which the log
    # does not store again (request_body_is_payload) when the text rebuilt from the stored
    # payload is identical; every payload has the same shape, so one check decides for all.
    sample = _payload(0)
    body_is_payload = is_payload_body(sample, json.loads(sample), sample)
    event_id, payload, stored = uuid.UUID(int=0), "", uuid.UUID(int=0)
    for n in range(rows):
        # Event n // fan_out goes to webhooks n, n + 1, ... (modulo 20): fan_out deliveries.
        first_of_event = n % fan_out == 0
        if first_of_event:
            event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            payload = _payload(n // fan_out)
            stored = payload_id(event_id, payload)
        hook_id, hook_name, rule_id, rule_name = hooks[n % WEBHOOKS]
        created = start + step * n
        failed = rng.random() < FAILED_SHARE
        status = 503 if failed else 200
        delivery_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        delivery = (
            delivery_id,
            event_id,
            hook_id,
            rule_id,
            hook_name,
            rule_name,
            "dcim.site",
            str(n // fan_out),
            "object_updated",
            "failed" if failed else "succeeded",
            2 if failed else 1,
            status,
            "HTTP 503" if failed else "",
            stored,
            created,
            created,
        )
        attempts = [
            (
                delivery_id,
                number,
                created,
                12.5,
                "failed" if failed else "succeeded",
                "POST",
                f"http://127.0.0.1:9/{hook_id}",
                headers,
                "" if body_is_payload else payload,
                body_is_payload,
                status,
                '{"Content-Type": "text/plain"}',
                "ok",
                "",
            )
            for number in range(1, (2 if failed else 1) + 1)
        ]
        yield delivery, attempts, ((stored, payload) if first_of_event else None)


def fill(
    rows: int, chunk: int = 50_000, progress: Callable[[str], None] = print, fan_out: int = 1
) -> float:
    """COPY ``rows`` deliveries (their payloads, one per event of ``fan_out`` deliveries, and
    their attempts) into the log; returns the seconds taken."""
    began = time.monotonic()
    start = timezone.now() - timedelta(days=DAYS)
    delivery_table = Delivery._meta.db_table
    payload_table = EventPayload._meta.db_table
    attempt_table = DeliveryAttempt._meta.db_table
    source = _rows(rows, start, max(1, min(fan_out, WEBHOOKS)))
    done = 0
    while done < rows:
        batch = [next(source) for _ in range(min(chunk, rows - done))]
        with connection.cursor() as cursor:
            columns = ", ".join(PAYLOAD_COLUMNS)
            with cursor.copy(f"COPY {payload_table} ({columns}) FROM STDIN") as copy:
                for _, _, payload in batch:
                    if payload is not None:
                        copy.write_row(payload)
            columns = ", ".join(DELIVERY_COLUMNS)
            with cursor.copy(f"COPY {delivery_table} ({columns}) FROM STDIN") as copy:
                for delivery, _, _ in batch:
                    copy.write_row(delivery)
            columns = ", ".join(ATTEMPT_COLUMNS)
            with cursor.copy(f"COPY {attempt_table} ({columns}) FROM STDIN") as copy:
                for _, attempts, _ in batch:
                    for attempt in attempts:
                        copy.write_row(attempt)
        done += len(batch)
        progress(f"  {done:,} rows ({time.monotonic() - began:.0f} s)")
    # As autovacuum would soon after: statistics, and the visibility map (index-only scans).
    with connection.cursor() as cursor:
        for table in (payload_table, delivery_table, attempt_table):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.monotonic() - began


def _median_ms(get: Callable[[], Any]) -> float:
    get()  # warm
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        response = get()
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
    return statistics.median(times)


def measure_surfaces(rows: int) -> list[Timing]:
    user = User.objects.filter(username="log-bench").first() or User.objects.create_superuser(
        "log-bench", password="unused"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    sample = Delivery.objects.order_by("created", "id")[rows // 2]
    webhook_id = sample.webhook_id
    others = Webhook.objects.exclude(pk=webhook_id or 0).order_by("pk")
    other_webhook = others.values_list("pk", flat=True).first()
    admin = "/admin/webhooks_app/delivery/"
    api = "/api/webhooks/deliveries/"
    surfaces: list[tuple[str, str, dict[str, Any]]] = [
        ("admin list, page 1", admin, {}),
        ("admin list, page 200", admin, {"p": 200}),
        ("admin filter state=failed", admin, {"state__exact": "failed"}),
        ("admin filter webhook", admin, {"webhook__id__exact": webhook_id}),
        ("admin search event id", admin, {"q": str(sample.event_id)}),
        ("admin search delivery id", admin, {"q": str(sample.pk)}),
        ("admin search object id", admin, {"q": sample.object_id}),
        ("admin delivery detail", f"{admin}{sample.pk}/change/", {}),
        ("API list ?limit=50", api, {"limit": 50}),
        ("API deep offset (N/2)", api, {"limit": 50, "offset": rows // 2}),
        ("API ?pagination=cursor", api, {"pagination": "cursor", "limit": 50}),
        ("API ?webhook=", api, {"webhook": webhook_id, "limit": 50}),
        ("API ?state=failed", api, {"state": "failed", "limit": 50}),
        ("API ?state=failed&state=retrying", api, {"state": ["failed", "retrying"], "limit": 50}),
        ("API two ?webhook= values", api, {"webhook": [webhook_id, other_webhook], "limit": 50}),
        ("API ?ordering=created", api, {"ordering": "created", "limit": 50}),
    ]
    return [
        Timing(name, _median_ms(partial(client.get, url, params))) for name, url, params in surfaces
    ]


def measure_prune(days: int = 1) -> Timing:
    """Prune the oldest ``days``: the time, Python's peak memory and the longest batch (the
    attempts', the deliveries' and the payloads' DELETE of one batch, which share a
    transaction), while
    another process redelivers deliveries of that day through the API (see RedeliverProbe)."""
    name = "prune one day" if days == 1 else f"prune {days} days"
    oldest = Delivery.objects.order_by("created").values_list("created", flat=True).first()
    if oldest is None:
        return Timing(name, 0.0, "empty log")
    cutoff = oldest + timedelta(days=days)
    probe = RedeliverProbe(
        list(Delivery.objects.filter(created__lt=cutoff).values_list("pk", flat=True))
    )
    # Each batch: from its attempts' DELETE to the end of its last DELETE (the deliveries', then
    # the payloads'), which share its transaction.
    batch_spans: list[list[float]] = []
    attempt_table = DeliveryAttempt._meta.db_table

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if sql.startswith("DELETE") and attempt_table in sql.split()[2]:
                batch_spans.append([began, time.perf_counter()])
            elif sql.startswith("DELETE") and batch_spans:
                batch_spans[-1][1] = time.perf_counter()

    def prune() -> int:
        with connection.execute_wrapper(watch):
            return prune_older_than(cutoff)

    probe.start()  # before tracing: the probe's start-up is not the prune's memory
    try:
        tracemalloc.start()
        began = time.perf_counter()
        deleted = prune()
        elapsed = (time.perf_counter() - began) * 1000
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        probe.finish()
    batches = [end - began for began, end in batch_spans]
    ordered = sorted(batches) or [0.0]
    median, longest = ordered[len(ordered) // 2] * 1000, ordered[-1] * 1000
    over = sum(1 for b in ordered if b >= 1.0)
    note = (
        f"{deleted:,} deleted, peak {peak / 1e6:.1f} MB, {len(batches)} batches: median "
        f"{median:.0f} ms, longest {longest:.0f} ms, {over} over 1 s; {probe.summary()}"
    )
    return Timing(name, elapsed, note)


def measure_delete() -> Timing:
    """Delete a webhook and its rule with a twentieth of the log as history (the last
    measure: the log keeps their deliveries, but the lists would show them as deleted)."""
    elapsed, history = delete_webhook_with_history()
    return Timing("delete a rule + webhook", elapsed, f"{history:,} deliveries in its history")
