"""The load generator: a Django process (the benchmark's settings) that changes objects.

``python -m demo.benchmark.loadgen`` reads one JSON command a line on stdin and answers
each with one line, ``@@`` followed by JSON, on stdout. Changes go through the ORM like any
application code: saves fire the model signals, commits dispatch jobs to the benchmark's Redis.
A transaction's commit time is taken by an ``on_commit`` callback registered before any change,
so it runs right after the database commit and before the webhook dispatch.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

MARK = "@@"
SITE_MODEL = ("inventory", "Site")
OBJECT_PREFIX = "bench-"
WEBHOOK_PREFIX = "benchmark-"
WEBHOOK_SECRET = "benchmark-secret"
ALL_EVENTS = ["object_created", "object_updated", "object_deleted"]
USERNAME = "benchmark"


def _site_model() -> Any:
    from django.apps import apps

    return apps.get_model(*SITE_MODEL)


def op_setup() -> dict[str, Any]:
    """A superuser with an API token."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: USERNAME}).first()
    if user is None:
        user = user_model.objects.create_superuser(USERNAME, "benchmark@example.com", None)
    token, _ = Token.objects.get_or_create(user=user)
    return {"token": token.key}


def op_configure(url: str, rules: int) -> dict[str, Any]:
    """Exactly ``rules`` enabled rules for site changes, each to its own webhook at ``url``."""
    from django.contrib.contenttypes.models import ContentType

    from webhooks_app.models import EventRule, Webhook

    EventRule.objects.filter(name__startswith=WEBHOOK_PREFIX).delete()
    content_type = ContentType.objects.get_for_model(_site_model())
    for index in range(rules):
        webhook, _ = Webhook.objects.update_or_create(
            name=f"{WEBHOOK_PREFIX}{index}",
            defaults={"payload_url": f"{url}hook/{index}", "secret": WEBHOOK_SECRET},
        )
        rule = EventRule.objects.create(
            name=f"{WEBHOOK_PREFIX}{index}", webhook=webhook, event_types=ALL_EVENTS
        )
        rule.object_types.set([content_type])
    return {"rules": rules}


def op_reset() -> dict[str, Any]:
    """Delete the benchmark's sites and delivery log rows (raw SQL: no signals, no events)."""
    from django.db import connection

    from webhooks_app.models import Delivery, DeliveryAttempt

    site = _site_model()
    quote = connection.ops.quote_name
    sites, tags = site._meta.db_table, site.tags.through._meta.db_table
    deliveries, attempts = Delivery._meta.db_table, DeliveryAttempt._meta.db_table
    with connection.cursor() as cursor:
        own_sites = f"SELECT id FROM {quote(sites)} WHERE name LIKE %s"
        cursor.execute(
            f"DELETE FROM {quote(tags)} WHERE site_id IN ({own_sites})", [f"{OBJECT_PREFIX}%"]
        )
        cursor.execute(f"DELETE FROM {quote(sites)} WHERE name LIKE %s", [f"{OBJECT_PREFIX}%"])
        own_deliveries = f"SELECT id FROM {quote(deliveries)} WHERE webhook_name LIKE %s"
        cursor.execute(
            f"DELETE FROM {quote(attempts)} WHERE delivery_id IN ({own_deliveries})",
            [f"{WEBHOOK_PREFIX}%"],
        )
        cursor.execute(
            f"DELETE FROM {quote(deliveries)} WHERE webhook_name LIKE %s", [f"{WEBHOOK_PREFIX}%"]
        )
    return {}


def _create_in_transaction(prefix: str, numbers: range) -> tuple[list[int], float]:
    """Create one site per number in one transaction: (ids, commit time)."""
    from django.db import transaction

    site = _site_model()
    stamp: list[float] = []
    ids = []
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.append(time.time()))
        for number in numbers:
            name = f"{OBJECT_PREFIX}{prefix}-{number}"
            obj = site(name=name, slug=name)
            obj.save()
            ids.append(obj.pk)
    return ids, stamp[0] if stamp else time.time()


def op_create(prefix: str, count: int, per_transaction: int) -> dict[str, Any]:
    """``count`` sites, ``per_transaction`` to a transaction. ``dispatch_s``: the time from the
    commits to the end of their on-commit work (the webhook dispatch), summed."""
    ids: list[int] = []
    commits: list[float] = []
    dispatch = 0.0
    started = time.time()
    for start in range(0, count, max(1, per_transaction)):
        numbers = range(start, min(count, start + per_transaction))
        made, committed = _create_in_transaction(prefix, numbers)
        dispatch += time.time() - committed
        ids.extend(made)
        commits.append(committed)
    return {
        "ids": ids,
        "started": started,
        "commits": commits,
        "finished": time.time(),
        "dispatch_s": dispatch,
    }


def op_steady(prefix: str, rate: float, duration: float) -> dict[str, Any]:
    """Single-site transactions at a steady ``rate`` a second for ``duration`` seconds:
    ``events`` lists [id, commit time]; ``behind_s`` how late the last one started."""
    count = max(1, int(rate * duration))
    events: list[tuple[int, float]] = []
    begin = time.monotonic()
    behind = 0.0
    for number in range(count):
        due = begin + number / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            behind = max(behind, -wait)
        if time.monotonic() > begin + duration + 30:
            break  # far behind schedule: stop rather than run on
        ids, committed = _create_in_transaction(prefix, range(number, number + 1))
        events.append((ids[0], committed))
    return {"events": events, "behind_s": behind, "elapsed_s": time.monotonic() - begin}


OPS: dict[str, Callable[..., dict[str, Any]]] = {
    "setup": op_setup,
    "configure": op_configure,
    "reset": op_reset,
    "create": op_create,
    "steady": op_steady,
    "ping": lambda: {},
}


def _answer(payload: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> None:
    import django

    django.setup()
    from django.db import close_old_connections

    _answer({"ready": True})
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command.pop("op")
        if op == "quit":
            break
        try:
            result = OPS[op](**command)
        except Exception:
            _answer({"error": traceback.format_exc()})
        else:
            _answer(result)
        finally:
            close_old_connections()


if __name__ == "__main__":
    main()
