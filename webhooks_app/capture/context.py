"""Who made a change, and the scope in which changes are collected before dispatch.

Inside a request the middleware opens a scope bound to the request. Elsewhere (management
commands, the shell, jobs) code may open one with :func:`capture_events`, optionally naming
the user and a request id; without a scope, committed changes are dispatched one by one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from webhooks_app.capture.events import EventQueue

__all__ = ["RequestInfo", "Scope", "capture_events", "current_scope"]


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
class Scope:
    """Events committed while the scope is open are coalesced and dispatched when it closes."""

    username: str | None = None
    request_id: str | None = None
    http_request: HttpRequest | None = None
    queue: EventQueue | None = field(default=None, repr=False)

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


@contextmanager
def capture_events(
    *,
    username: str | None = None,
    request_id: str | uuid.UUID | None = None,
    request: HttpRequest | None = None,
    unconfirmed: list[Callable[[], None]] | None = None,
) -> Iterator[Scope]:
    """Collect the events of a block and dispatch them, coalesced per object, when it ends.

    Changes made inside a database transaction are only dispatched once it commits; a block
    that raises still dispatches what was already committed (those changes happened). With an
    ``unconfirmed`` list, the jobs are sent to Redis without waiting for its answer: the
    callables appended to the list read it, and the caller must call each of them.
    """
    from webhooks_app.capture.events import EventQueue, dispatch_queue

    scope = Scope(
        username=username,
        request_id=str(request_id) if request_id is not None else None,
        http_request=request,
        queue=EventQueue(),
    )
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        assert scope.queue is not None
        dispatch_queue(scope.queue, unconfirmed)
