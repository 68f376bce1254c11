"""The WSGI application the benchmark's web server runs: the project's, with probes.

Each response carries what its request cost besides time, counted in the server process:

- ``X-Bench-Redis-Roundtrips``: times the request thread sent to Redis after having read
  (or before ever reading) a reply, i.e. how often it waited for Redis; a pipeline is one;
- ``X-Bench-Redis-Sends``: writes to Redis (a pipeline is one);
- ``X-Bench-Redis-Connects``: new Redis connections opened (a TCP and protocol handshake);
- ``X-Bench-Queries``: database queries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.db import connections
from redis.connection import AbstractConnection

__all__ = ["application"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Counts(threading.local):
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.roundtrips = 0
        self.sends = 0
        self.connects = 0
        self.queries = 0
        self.waiting = False  # sent since the last read


_counts = _Counts()


def _install_redis_probe() -> None:
    send = AbstractConnection.send_packed_command
    read = AbstractConnection.read_response
    connect = getattr(AbstractConnection, "connect_check_health")  # noqa: B009 (not in the stubs)

    def counted_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        if not _counts.waiting:
            _counts.roundtrips += 1
            _counts.waiting = True
        _counts.sends += 1
        return send(self, *args, **kwargs)

    def counted_read(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        _counts.waiting = False
        return read(self, *args, **kwargs)

    def counted_connect(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self, "_sock", None):
            _counts.connects += 1
        return connect(self, *args, **kwargs)

    AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    AbstractConnection.read_response = counted_read  # type: ignore[method-assign]
    setattr(AbstractConnection, "connect_check_health", counted_connect)  # noqa: B010


def _count_query(execute: Callable[..., Any], *args: Any) -> Any:
    _counts.queries += 1
    return execute(*args)


class ProbedApplication:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        _counts.reset()

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            headers = [
                *headers,
                ("X-Bench-Redis-Roundtrips", str(_counts.roundtrips)),
                ("X-Bench-Redis-Sends", str(_counts.sends)),
                ("X-Bench-Redis-Connects", str(_counts.connects)),
                ("X-Bench-Queries", str(_counts.queries)),
            ]
            return start_response(status, headers, *args)

        with connections["default"].execute_wrapper(_count_query):
            return self.app(environ, start)


_install_redis_probe()
application = ProbedApplication(get_wsgi_application())
