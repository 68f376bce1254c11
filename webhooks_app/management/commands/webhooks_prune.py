"""``manage.py webhooks_prune``: delete old entries of the delivery log."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webhooks_app.conf import conf
from webhooks_app.delivery.retention import prune_deliveries


class Command(BaseCommand):
    help = "Delete deliveries (and their attempts) older than WEBHOOKS_DELIVERY_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override the retention period.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = (
            options["days"]
            if options["days"] is not None
            else conf.WEBHOOKS_DELIVERY_RETENTION_DAYS
        )
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        deleted = prune_deliveries(days)
        self.stdout.write(f"Deleted {deleted} deliveries older than {days} day(s).")
