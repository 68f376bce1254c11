"""An event's payload, stored once for all the deliveries that carry it.

One event usually goes to several webhooks, each delivery with the same payload: the log keeps
one :class:`EventPayload` row per event and distinct payload, and each delivery refers to it
(``Delivery.event_payload``). Payloads of one event differ when rules add different action
data, so a row is addressed by its content: its id is a digest of the event id and the payload's
JSON text (:func:`payload_id`). Two deliveries share a row only if they belong to the same event
and carry the same text, byte for byte.

The id is computed by whoever writes the row, so that deliveries of one event logged by
different jobs, at the same time in different worker processes, find the same row without a
lookup: each job inserts its payloads ignoring conflicts (``bulk_create(...,
ignore_conflicts=True)``). The primary key is the table's only index; rows nobody refers to any
more are deleted with the deliveries that referred to them (see ``delivery.retention``).
"""

from __future__ import annotations

import hashlib
import uuid

from django.db import models

from webhooks_app.models.fields import OrderedJSONField

__all__ = ["EventPayload", "payload_id"]


def payload_id(event_id: uuid.UUID | str, text: str) -> uuid.UUID:
    """The id of the payload of event ``event_id`` whose JSON text is ``text``: the first 16
    bytes of the SHA-256 of the event id's bytes and the text."""
    event = event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(event_id)
    return uuid.UUID(bytes=hashlib.sha256(event.bytes + text.encode()).digest()[:16])


class EventPayload(models.Model):
    """The event context that one or more deliveries of one event were rendered from."""

    id = models.UUIDField(primary_key=True, editable=False, help_text="See payload_id().")
    data = OrderedJSONField(help_text="The event context, keys in the order they were written.")

    class Meta:
        verbose_name = "event payload"

    def __str__(self) -> str:
        return f"payload {self.pk}"
