"""Jobs that could not reach Redis, kept in the database until the relay enqueues them."""

from __future__ import annotations

from django.db import models

from webhooks_app.models.fields import OrderedJSONField


class OutboxEntry(models.Model):
    job = OrderedJSONField(
        help_text="The job's plain-data description (see webhooks_app.dispatch.enqueue)."
    )
    created = models.DateTimeField(auto_now_add=True)
    relay_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "outbox entries"

    def __str__(self) -> str:
        return f"outbox entry {self.pk}"
