"""``manage.py seed_demo``: the demo's admin user, sample inventory and webhook (idempotent)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from demo.inventory import seeding


class Command(BaseCommand):
    help = (
        "Create the demo data if missing: superuser admin/admin with an API token, sample "
        "tags, sites, devices and IP addresses (only when there are no sites), and a webhook "
        "to the demo receiver with an event rule for site changes."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--receiver-port",
            type=int,
            default=9000,
            help="Port of the demo receiver on 127.0.0.1, used in a new webhook's URL.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = seeding.seed_demo(options["receiver_port"])
        if report.admin_created:
            self.stdout.write(
                f"Created superuser {seeding.ADMIN_USERNAME!r} "
                f"(password {seeding.ADMIN_PASSWORD!r})."
            )
        self.stdout.write(f"API token of {seeding.ADMIN_USERNAME!r}: {report.token}")
        if report.inventory_created:
            self.stdout.write("Created sample tags, sites, devices and IP addresses.")
        if report.webhook_created:
            self.stdout.write(f"Created webhook {seeding.WEBHOOK_NAME!r}.")
        if report.event_rule_created:
            self.stdout.write(f"Created event rule {seeding.EVENT_RULE_NAME!r}.")
