"""Pruning the delivery log in bounded batches, at any size of the log.

Each batch selects at most ``batch_size`` expired deliveries through the ``created`` index (their
ids, event ids and payload references: no payload is loaded), and deletes, in one short
transaction, their attempts, them, and then the payloads (:class:`EventPayload`) that no delivery
refers to any more. Memory and each transaction's length are bounded whatever the number of rows
to delete, and rows being read or redelivered meanwhile are locked only for that batch.

A payload is shared only by deliveries of one event (its id is a digest of the event id and its
text), so whether one is still referred to is looked up among the deliveries of the batch's
events, through the ``event_id`` index: the reference column has no index of its own.

The deletes are plain SQL ``DELETE ... WHERE ... IN (...)`` through Django's cursor, so no row is
loaded to be deleted: a ``QuerySet.delete()`` loads every attempt (bodies included) whenever any
``pre_delete``/``post_delete`` receiver listens to all models, as this app's event capture and
many auditing apps do. No delete signal is sent for the log's rows. The admin deletes deliveries
through :func:`delete_deliveries` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connections, router, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone

from webhooks_app.conf import conf
from webhooks_app.models import Delivery, DeliveryAttempt, EventPayload

__all__ = ["BATCH_SIZE", "delete_deliveries", "prune_deliveries", "prune_older_than"]

BATCH_SIZE = 1000

# What a batch reads of each delivery: its id, and what finds its payload's other references.
BatchRow = tuple[UUID, UUID | None, UUID]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _delete_batch(using: str, rows: Sequence[BatchRow]) -> int:
    """Delete these deliveries, their attempts and the payloads no other delivery refers to
    (one transaction); returns how many deliveries were deleted."""
    connection = connections[using]
    quote = connection.ops.quote_name

    def prepared(field: Field[Any, Any], values: Any) -> list[Any]:
        return [field.get_db_prep_value(value, connection) for value in values]

    def column(field: Field[Any, Any]) -> str:
        name = field.column
        assert name is not None  # typed str | None by django-stubs 6.1
        return quote(name)

    deliveries = Delivery._meta
    key = deliveries.get_field("id")
    reference = deliveries.get_field("event_payload")
    event = deliveries.get_field("event_id")
    ids = prepared(key, [pk for pk, _, _ in rows])
    payload_key = EventPayload._meta.get_field("id")
    payload_ids = prepared(payload_key, sorted({pid for _, pid, _ in rows if pid is not None}))
    event_ids = prepared(event, sorted({eid for _, pid, eid in rows if pid is not None}))
    attempts = DeliveryAttempt._meta
    parent = attempts.get_field("delivery").column
    delivery_table = quote(deliveries.db_table)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(attempts.db_table)} WHERE {quote(parent)} IN ({_marks(ids)})",
            ids,
        )
        cursor.execute(f"DELETE FROM {delivery_table} WHERE {column(key)} IN ({_marks(ids)})", ids)
        deleted = int(cursor.rowcount)
        if payload_ids:  # those no delivery of their event refers to any more
            payload_column = column(payload_key)
            cursor.execute(
                f"DELETE FROM {quote(EventPayload._meta.db_table)} "
                f"WHERE {payload_column} IN ({_marks(payload_ids)}) "
                f"AND {payload_column} NOT IN (SELECT {column(reference)} "
                f"FROM {delivery_table} WHERE {column(event)} IN ({_marks(event_ids)}) "
                f"AND {column(reference)} IS NOT NULL)",
                [*payload_ids, *event_ids],
            )
        return deleted


def delete_deliveries(
    deliveries: QuerySet[Delivery], batch_size: int = BATCH_SIZE, using: str | None = None
) -> int:
    """Delete these deliveries, their attempts and the payloads nobody refers to any more,
    ``batch_size`` deliveries at a time (in the order of ``deliveries``), each batch in its own
    transaction, in database ``using`` (default: the one the router gives for writing
    deliveries); returns how many deliveries were deleted."""
    using = using or router.db_for_write(Delivery)
    deliveries = deliveries.using(using)
    deleted = 0
    while True:
        rows: list[BatchRow] = list(
            deliveries.values_list("pk", "event_payload_id", "event_id")[:batch_size]
        )
        if not rows:
            return deleted
        deleted += _delete_batch(using, rows)
        if len(rows) < batch_size:
            return deleted


def prune_older_than(cutoff: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the deliveries created before ``cutoff`` (and their attempts), ``batch_size``
    at a time, each batch in its own transaction; returns how many deliveries were deleted."""
    expired = Delivery.objects.filter(created__lt=cutoff).order_by("created", "id")
    return delete_deliveries(expired, batch_size)


def prune_deliveries(days: int | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete deliveries (and their attempts) older than the retention period (or ``days``);
    returns the count."""
    keep = conf.WEBHOOKS_DELIVERY_RETENTION_DAYS if days is None else days
    return prune_older_than(timezone.now() - timedelta(days=keep), batch_size)
