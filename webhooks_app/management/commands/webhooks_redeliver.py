"""``manage.py webhooks_redeliver``: queue a new attempt of recorded deliveries."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from webhooks_app.choices import DeliveryState
from webhooks_app.delivery.redelivery import redeliver_many
from webhooks_app.models import Delivery


class Command(BaseCommand):
    help = "Send recorded deliveries again (same event id, a new attempt)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("delivery_ids", nargs="*", help="Delivery ids (UUIDs).")
        parser.add_argument(
            "--failed", action="store_true", help="All deliveries in the failed state."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[str] = options["delivery_ids"]
        if not ids and not options["failed"]:
            raise CommandError("Give delivery ids, or --failed.")
        for value in ids:
            try:
                uuid.UUID(value)
            except ValueError as exc:
                raise CommandError(f"{value!r} is not a delivery id (a UUID).") from exc
        deliveries = Delivery.objects.filter(pk__in=ids) if ids else Delivery.objects.none()
        if options["failed"]:
            deliveries = deliveries | Delivery.objects.filter(state=DeliveryState.FAILED)
        rows = list(deliveries)
        missing = set(ids) - {str(d.pk) for d in rows}
        if missing:
            raise CommandError(f"No delivery with id {', '.join(sorted(missing))}.")
        try:
            count = redeliver_many(rows)
        except RedisError as exc:
            raise CommandError(f"Redis is unreachable: {exc}") from exc
        skipped = len(rows) - count
        self.stdout.write(f"Queued {count} redelivery(ies).")
        if skipped:
            self.stderr.write(f"Skipped {skipped} whose webhook no longer exists.")
