"""``manage.py webhooks_relay``: enqueue the jobs waiting in the outbox now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webhooks_app.dispatch.enqueue import relay_outbox
from webhooks_app.models import OutboxEntry


class Command(BaseCommand):
    help = "Enqueue webhook jobs saved in the outbox while Redis was unreachable (each once)."

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = OutboxEntry.objects.count()
        relayed = relay_outbox()
        left = OutboxEntry.objects.count()
        self.stdout.write(f"Relayed {relayed} job(s) from the outbox; {left} left (of {waiting}).")
        if left:
            self.stderr.write("Redis is still unreachable for the rest; run this again later.")
