"""Pruning the delivery log in bounded batches, at any size of the log.

Each batch selects at most ``batch_size`` ids of expired deliveries through the ``created``
index (ids only: no payload is loaded), and deletes their attempts and then them in one short
transaction; memory and each transaction's length are bounded whatever the number of rows to
delete, and rows being read or redelivered meanwhile are locked only for that batch.

The two deletes are plain SQL ``DELETE ... WHERE ... IN (ids)`` through Django's cursor, so no
row is loaded to be deleted: a ``QuerySet.delete()`` loads every attempt (bodies included)
whenever any ``pre_delete``/``post_delete`` receiver listens to all models, as this app's event
capture and many auditing apps do. No delete signal is sent for the log's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from webhooks_app.conf import conf
from webhooks_app.models import Delivery, DeliveryAttempt

__all__ = ["BATCH_SIZE", "prune_deliveries", "prune_older_than"]

BATCH_SIZE = 1000


def _delete_batch(using: str, ids: Sequence[Any]) -> int:
    """Delete these deliveries and their attempts (one transaction); returns how many
    deliveries were deleted."""
    connection = connections[using]
    quote = connection.ops.quote_name
    pk = Delivery._meta.pk
    assert pk is not None
    values = [pk.get_db_prep_value(value, connection) for value in ids]
    marks = ", ".join(["%s"] * len(values))
    attempts = DeliveryAttempt._meta
    parent = attempts.get_field("delivery").column
    key = pk.column
    assert key is not None  # typed str | None by django-stubs 6.1
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(attempts.db_table)} WHERE {quote(parent)} IN ({marks})", values
        )
        cursor.execute(
            f"DELETE FROM {quote(Delivery._meta.db_table)} WHERE {quote(key)} IN ({marks})",
            values,
        )
        return int(cursor.rowcount)


def prune_older_than(cutoff: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the deliveries created before ``cutoff`` (and their attempts), ``batch_size``
    at a time, each batch in its own transaction; returns how many deliveries were deleted."""
    using = router.db_for_write(Delivery)
    expired = Delivery.objects.using(using).filter(created__lt=cutoff)
    deleted = 0
    while True:
        ids = list(expired.order_by("created", "id").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += _delete_batch(using, ids)
        if len(ids) < batch_size:
            return deleted


def prune_deliveries(days: int | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete deliveries (and their attempts) older than the retention period (or ``days``);
    returns the count."""
    keep = conf.WEBHOOKS_DELIVERY_RETENTION_DAYS if days is None else days
    return prune_older_than(timezone.now() - timedelta(days=keep), batch_size)
