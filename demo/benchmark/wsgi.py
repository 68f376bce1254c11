"""The WSGI application the benchmark's web server runs: the project's, with a probe.

Each response carries ``X-Bench-Queries``: the database queries its request made, counted in
the server process with Django's ``connection.execute_wrapper``. What a request costs in Redis
is read from Redis's own counters by the benchmark (``measure.RedisCounters``): nothing in
redis-py is replaced or wrapped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.db import connections

__all__ = ["application"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class QueryCount(threading.local):
    """Database queries of the current request (one count per server thread)."""

    queries = 0


_count = QueryCount()


def _count_query(execute: Callable[..., Any], *args: Any) -> Any:
    _count.queries += 1
    return execute(*args)


class ProbedApplication:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        _count.queries = 0

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            headers = [*headers, ("X-Bench-Queries", str(_count.queries))]
            return start_response(status, headers, *args)

        with connections["default"].execute_wrapper(_count_query):
            return self.app(environ, start)


application = ProbedApplication(get_wsgi_application())
