"""Pruning the delivery log in bounded batches, at any size of the log.

Each batch selects at most ``batch_size`` ids of expired deliveries through the ``created``
index (ids only: no payload is loaded), and deletes their attempts and then them in one short
transaction; memory and each transaction's length are bounded whatever the number of rows to
delete, and rows being read or redelivered meanwhile are locked only for that batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import router, transaction
from django.utils import timezone

from webhooks_app.conf import conf
from webhooks_app.models import Delivery, DeliveryAttempt

__all__ = ["BATCH_SIZE", "prune_deliveries", "prune_older_than"]

BATCH_SIZE = 1000


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
        with transaction.atomic(using=using):
            DeliveryAttempt.objects.using(using).filter(delivery_id__in=ids).delete()
            count, _ = Delivery.objects.using(using).filter(pk__in=ids).only("pk").delete()
        deleted += count
        if len(ids) < batch_size:
            return deleted


def prune_deliveries(days: int | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete deliveries (and their attempts) older than the retention period (or ``days``);
    returns the count."""
    keep = conf.WEBHOOKS_DELIVERY_RETENTION_DAYS if days is None else days
    return prune_older_than(timezone.now() - timedelta(days=keep), batch_size)
