"""What an event is: one object's change, and how several changes of an object coalesce.

An :class:`Event` is recorded for every change (by :mod:`webhooks_app.capture.signals`, or
:func:`webhooks_app.capture.emit.emit_events` for writes that bypass signals). Until they are
dispatched, events wait in an :class:`EventQueue`, where they coalesce per object (key
``app_label.model:pk``) as NetBox's do. When they leave is decided by
:mod:`webhooks_app.capture.context`. Pure data: no database access here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from webhooks_app.capture.serialization import model_label
from webhooks_app.choices import EventType

__all__ = ["Event", "EventQueue", "RequestInfo", "object_key"]


def object_key(instance: models.Model) -> str:
    """The key events of one object share: ``app_label.model:pk``."""
    return f"{model_label(instance)}:{instance.pk}"


@dataclass(frozen=True)
class RequestInfo:
    """The plain facts about a request that travel with its events (never the request itself)."""

    id: str
    method: str
    path: str
    user: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "method": self.method, "path": self.path, "user": self.user}


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

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events: dict[str, Event] = {}
        self.extend(events)

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

    def take(self) -> list[Event]:
        """The events, in first-change order; the queue is left empty."""
        events = list(self.events.values())
        self.events.clear()
        return events
