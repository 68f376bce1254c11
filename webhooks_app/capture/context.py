"""When recorded events leave: after the transaction commits, at the end of their scope.

Every event is handed to Django's ``transaction.on_commit`` when it is recorded, so Django
decides its fate: it runs once the outermost transaction commits (at once outside a
transaction), and is dropped with a rolled-back transaction or savepoint, while the events of
released savepoints are kept.

Inside a scope -- a request through :class:`~webhooks_app.capture.middleware.WebhooksMiddleware`,
or a block in :func:`capture_events` -- committed events are collected, coalesced per object,
and dispatched together when the scope ends. Outside any scope, the committed events of one
transaction (per thread and database) are coalesced and dispatched together by the on-commit
callback of the transaction's last recorded event.

One corner follows from ``on_commit`` being the only view of the transaction: outside any
scope, when the last event a transaction recorded was in a savepoint that rolled back, no
callback is known to be the transaction's last. Its committed events then leave with the next
event the thread records, or when a scope opens in it: later, never lost or sent twice. Code
that rolls savepoints back outside requests can use :func:`capture_events` to have them sent
when its block ends.

Events are dispatched by the callable the dispatch layer registers with :func:`set_dispatcher`
(see :class:`webhooks_app.apps.WebhooksAppConfig`); capture never imports dispatch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from threading import local
from typing import Any
from weakref import WeakValueDictionary

from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest

from webhooks_app.capture.events import Event, EventQueue, RequestInfo, object_key

__all__ = [
    "Dispatcher",
    "Scope",
    "capture_events",
    "current_scope",
    "pending_event",
    "record_event",
    "set_dispatcher",
]

logger = logging.getLogger(__name__)

Dispatcher = Callable[[list[Event]], None]
"""Turns committed events into queued jobs; must not raise."""


@dataclass
class Scope:
    """Events committed while the scope is open are coalesced and dispatched when it closes."""

    username: str | None = None
    request_id: str | None = None
    http_request: HttpRequest | None = None
    queue: EventQueue = field(default_factory=EventQueue, repr=False)

    def identity(self) -> tuple[str | None, str | None, RequestInfo | None]:
        """(username, request id, request info) as of now; the user is read lazily because API
        authentication happens inside the view, after the scope was opened."""
        request = self.http_request
        if request is None:
            return self.username, self.request_id, None
        user: Any = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else None
        request_id = str(getattr(request, "id", None) or self.request_id)
        info = RequestInfo(
            id=request_id,
            method=request.method or "",
            path=request.path,
            user=username if username is not None else str(user or "AnonymousUser"),
        )
        return username, request_id, info


_scope: ContextVar[Scope | None] = ContextVar("webhooks_app_scope", default=None)


def current_scope() -> Scope | None:
    return _scope.get()


class Outlet:
    """Where events go once they leave capture: the registered dispatcher."""

    dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher) -> None:
    """Register the callable that dispatches committed events (done once, by the app config)."""
    Outlet.dispatcher = dispatcher


def dispatch(queue: EventQueue) -> None:
    if not queue:
        return
    events = queue.take()
    dispatcher = Outlet.dispatcher
    if dispatcher is None:
        logger.error("No webhook dispatcher is registered; %d event(s) dropped", len(events))
        return
    dispatcher(events)


def hand_over(queue: EventQueue) -> None:
    """Committed events go to the open scope, or are dispatched now."""
    scope = current_scope()
    if scope is not None:
        scope.queue.extend(queue.take())
    else:
        dispatch(queue)


class Batch:
    """The events one thread records on one database, from one release to the next.

    Each event's on-commit callback (:class:`Committed`) adds it to ``committed``; the callback
    of the last event recorded releases the batch. ``recorded`` holds each object's first event
    since the last release, for :func:`pending_event`, weakly: only Django's reference to the
    event's callback keeps it, so the events of a rolled-back transaction or savepoint are gone
    from it as soon as Django discards their callbacks.
    """

    def __init__(self) -> None:
        self.count = 0  # events recorded; the callback numbered ``count`` releases
        self.committing = False  # a callback ran: the transaction has committed
        self.committed = EventQueue()
        self.recorded: WeakValueDictionary[str, Event] = WeakValueDictionary()

    def record(self, event: Event, using: str) -> None:
        """Called inside a transaction only (so ``on_commit`` defers the callback)."""
        number = self.count + 1
        transaction.on_commit(Committed(self, event, number), using=using)
        self.count = number
        self.recorded.setdefault(event.key, event)

    def release(self) -> EventQueue:
        self.recorded.clear()
        released, self.committed = self.committed, EventQueue()
        return released


class Committed:
    """The on-commit callback of one event: Django runs it only if the event was committed."""

    def __init__(self, batch: Batch, event: Event, number: int) -> None:
        self.batch = batch
        self.event = event
        self.number = number

    def __call__(self) -> None:
        batch = self.batch
        batch.committing = True
        batch.committed.add(self.event)
        if self.number == batch.count:
            hand_over(take_leftovers())  # this batch, after any left over before it


class Batches(local):
    """Per thread (Django's connections are): the open batch per database alias, and batches
    whose committed events were not released (their transaction's last event was dropped)."""

    def __init__(self) -> None:
        self.open: dict[str, Batch] = {}
        self.unreleased: list[Batch] = []


batches = Batches()


def open_batch(using: str) -> Batch:
    batch = batches.open.get(using)
    if batch is None or batch.committing:
        if batch is not None and batch.committed:
            batches.unreleased.append(batch)
        batch = batches.open[using] = Batch()
    return batch


def take_leftovers() -> EventQueue:
    """Committed events whose transaction's last callback never ran, in recording order."""
    queue = EventQueue()
    for batch in batches.unreleased:
        queue.extend(batch.release().take())
    batches.unreleased.clear()
    for batch in batches.open.values():
        if batch.committing and batch.committed:
            queue.extend(batch.release().take())
    return queue


def record_event(event: Event, using: str = DEFAULT_DB_ALIAS) -> None:
    """Record a change: it leaves once committed (see the module docstring)."""
    scope = current_scope()
    if scope is not None:
        event.username, event.request_id, event.request = scope.identity()
    if not transaction.get_autocommit(using):
        try:
            open_batch(using).record(event, using)
            return
        except TransactionManagementError:
            pass  # autocommit turned off by hand: Django runs no commit hooks, so send it now
    queue = take_leftovers()  # not in a transaction: the change is committed already
    queue.add(event)
    hand_over(queue)


def pending_event(instance: models.Model, using: str = DEFAULT_DB_ALIAS) -> Event | None:
    """The event already recorded for this object and not yet dispatched, if any."""
    key = object_key(instance)
    batch = batches.open.get(using)
    if batch is not None and not batch.committing:
        event = batch.recorded.get(key)
        if event is not None:
            return event
    scope = current_scope()
    return scope.queue.pending_for(key) if scope is not None else None


@contextmanager
def capture_events(
    *,
    username: str | None = None,
    request_id: str | uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Iterator[Scope]:
    """Collect the events of a block and dispatch them, coalesced per object, when it ends.

    Changes made inside a database transaction are only dispatched once it commits; a block
    that raises still dispatches what was already committed (those changes happened).
    """
    dispatch(take_leftovers())  # committed before the scope: not the scope's events
    scope = Scope(
        username=username,
        request_id=str(request_id) if request_id is not None else None,
        http_request=request,
    )
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        scope.queue.extend(take_leftovers().take())
        _scope.reset(token)
        dispatch(scope.queue)
