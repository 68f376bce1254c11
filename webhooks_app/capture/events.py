"""Recording changes as events, coalescing them per object, and releasing them on commit.

Every change is recorded. Changes made inside a transaction wait in a buffer tied to that
transaction: they are released when the outermost transaction commits, and dropped with a
rolled-back transaction or savepoint. Released events go to the open capture scope (a request,
or :func:`webhooks_app.capture.context.capture_events`) or, without one, straight to dispatch.
Within a buffer or scope, events coalesce per object (key ``app_label.model:pk``) as NetBox's do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from threading import local
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.utils import timezone

from webhooks_app.capture.context import RequestInfo, current_scope
from webhooks_app.capture.serialization import model_label
from webhooks_app.choices import EventType

__all__ = ["Event", "EventQueue", "dispatch_queue", "emit_events", "record_event"]


@dataclass
class Event:
    """One object's coalesced change within a transaction or scope.

    ``pre_values`` are the stored field values before the first change (None for a create);
    ``pre_m2m`` the many-to-many values captured before they changed (and, for a delete, all of
    them, read while the rows still existed). ``data`` is frozen at delete time.

    ``m2m_empty`` says the object's many-to-many relations are known to be empty: it was
    created by ``save()`` and no later change of it may have written a relation (such a change
    has ``writes_m2m``), so dispatch need not read them back.
    """

    key: str
    instance: models.Model
    event_type: str
    pre_values: dict[str, Any] | None
    pre_m2m: dict[str, list[Any]] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: datetime = field(default_factory=timezone.now)
    username: str | None = None
    request_id: str | None = None
    request: RequestInfo | None = None
    data: dict[str, Any] | None = None
    m2m_empty: bool = False
    writes_m2m: bool = True

    @property
    def model(self) -> type[models.Model]:
        return type(self.instance)

    @property
    def object_type(self) -> str:
        return model_label(self.instance)

    @property
    def object_id(self) -> str:
        """The object's primary key as text, as it was when the change was recorded (a deleted
        instance has lost its own)."""
        return self.key.rpartition(":")[2]

    @property
    def is_delete(self) -> bool:
        return self.event_type == EventType.OBJECT_DELETED

    def merge(self, later: Event) -> None:
        """Fold a later change of the same object into this one (NetBox's coalescing rules):
        the first change's type and prechange are kept, a delete wins, the newest state is sent."""
        for name, values in later.pre_m2m.items():
            self.pre_m2m.setdefault(name, values)
        if later.writes_m2m:
            self.m2m_empty = False
        if self.is_delete:
            return
        self.instance = later.instance
        if later.is_delete:
            self.event_type = EventType.OBJECT_DELETED
            self.data = later.data


class EventQueue:
    """Events in first-change order, one per object."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}

    def __len__(self) -> int:
        return len(self.events)

    def add(self, event: Event) -> None:
        existing = self.events.get(event.key)
        if existing is None:
            self.events[event.key] = event
        else:
            existing.merge(event)

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def pending_for(self, key: str) -> Event | None:
        return self.events.get(key)


class _TransactionBuffer:
    """Events recorded inside one transaction, released when it commits.

    Each savepoint level that records an event registers a marker with ``on_commit``; Django
    discards the markers of savepoints that roll back, so the markers that run tell which
    events were committed. A release callback, kept last in the connection's commit hooks (and
    registered outside any savepoint, so only a full rollback drops it), then hands the
    committed events on in one batch.
    """

    def __init__(self, using: str) -> None:
        self.using = using
        self.alive: set[tuple[str, ...]] = set()
        self.markers: dict[tuple[str, ...], _CommitMarker] = {}
        self.event_sids: list[tuple[Event, tuple[str, ...]]] = []
        self.first: dict[str, Event] = {}  # per object, its first recorded event
        self.release_entry: tuple[set[str], Any, bool] = (set(), self.release, False)

    def _hooks(self) -> list[Any]:
        return transaction.get_connection(self.using).run_on_commit  # type: ignore[no-any-return]

    def is_current(self) -> bool:
        """Whether this buffer still belongs to the open transaction (not rolled back)."""
        hooks = self._hooks()
        return bool(hooks) and (
            hooks[-1] is self.release_entry or any(e is self.release_entry for e in hooks)
        )

    def record(self, event: Event) -> None:
        conn = transaction.get_connection(self.using)
        sids = tuple(conn.savepoint_ids)
        if sids not in self.markers:
            marker = _CommitMarker(self, sids)
            self.markers[sids] = marker
            transaction.on_commit(marker, using=self.using)
            hooks = self._hooks()
            for index, entry in enumerate(hooks):
                if entry is self.release_entry:
                    del hooks[index]
                    break
            hooks.append(self.release_entry)
        self.event_sids.append((event, sids))
        self.first.setdefault(event.key, event)

    def release(self) -> None:
        if _buffers.by_alias.get(self.using) is self:
            del _buffers.by_alias[self.using]
        queue = EventQueue()
        queue.extend(event for event, sids in self.event_sids if sids in self.alive)
        hand_over(queue)


class _CommitMarker:
    """Runs on commit unless its savepoint rolled back: marks its level's events as committed."""

    def __init__(self, buffer: _TransactionBuffer, sids: tuple[str, ...]) -> None:
        self.buffer = buffer
        self.sids = sids

    def __call__(self) -> None:
        self.buffer.alive.add(self.sids)


class _Buffers(local):
    def __init__(self) -> None:
        self.by_alias: dict[str, _TransactionBuffer] = {}


_buffers = _Buffers()


def _buffer_for(using: str) -> _TransactionBuffer:
    buffer = _buffers.by_alias.get(using)
    if buffer is None or not buffer.is_current():
        buffer = _TransactionBuffer(using)
        _buffers.by_alias[using] = buffer
    return buffer


def pending_event(instance: models.Model, using: str = DEFAULT_DB_ALIAS) -> Event | None:
    """The not-yet-committed event already recorded for this object, if any."""
    key = f"{model_label(instance)}:{instance.pk}"
    buffer = _buffers.by_alias.get(using)
    if buffer is not None and key in buffer.first and buffer.is_current():
        return buffer.first[key]
    scope = current_scope()
    if scope is not None and scope.queue is not None:
        return scope.queue.pending_for(key)
    return None


def record_event(event: Event, using: str = DEFAULT_DB_ALIAS) -> None:
    """Record a change; it is released on commit (or at once when not in a transaction)."""
    scope = current_scope()
    if scope is not None:
        event.username, event.request_id, event.request = scope.identity()
    conn = transaction.get_connection(using)
    if conn.in_atomic_block:
        _buffer_for(using).record(event)
    else:
        queue = EventQueue()
        queue.add(event)
        hand_over(queue)


def hand_over(queue: EventQueue) -> None:
    """Committed events go to the open scope, or are dispatched now."""
    if not queue:
        return
    scope = current_scope()
    if scope is not None and scope.queue is not None:
        scope.queue.extend(queue.events.values())
    else:
        dispatch_queue(queue)


def dispatch_queue(queue: EventQueue, unconfirmed: list[Callable[[], None]] | None = None) -> None:
    if not queue:
        return
    from webhooks_app.dispatch.matching import dispatch_events

    events = list(queue.events.values())
    queue.events.clear()
    dispatch_events(events, unconfirmed)


def emit_events(
    objects: Iterable[models.Model], event_type: str, *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Record events for writes that bypass model signals (``QuerySet.update()``,
    ``bulk_create()``, ``bulk_update()``, raw SQL).

    - ``object_created``: pass the created objects (with their primary keys) after the write.
    - ``object_updated``: pass the objects as loaded *before* the write; their stored state is
      the prechange, and the current rows are read back (one query) for the postchange.
    - ``object_deleted``: pass the objects *before* deleting them, while their rows exist.

    Events follow the same rules as signal-driven ones: released on commit, coalesced per object.
    """
    from webhooks_app.capture.serialization import serialize_for_event
    from webhooks_app.capture.snapshots import capture_values, current_m2m

    items = [obj for obj in objects if obj.pk is not None]
    if event_type == EventType.OBJECT_UPDATED and items:
        model = type(items[0])
        fresh = model._base_manager.using(using).in_bulk([obj.pk for obj in items])
        for obj in items:
            pre_values = obj.__dict__.get("_webhooks_loaded") or capture_values(obj)
            current = fresh.get(obj.pk)
            if current is not None:
                record_event(
                    Event(f"{model_label(obj)}:{obj.pk}", current, event_type, dict(pre_values)),
                    using,
                )
        return
    for obj in items:
        key = f"{model_label(obj)}:{obj.pk}"
        if event_type == EventType.OBJECT_DELETED:
            event = Event(
                key,
                obj,
                event_type,
                capture_values(obj),
                current_m2m(obj),
                data=serialize_for_event(obj),
            )
        else:
            event = Event(key, obj, event_type, None)
        record_event(event, using)
