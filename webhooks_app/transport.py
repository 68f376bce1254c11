"""The one place that sends HTTP.

A process-wide ``requests`` session with pooled keep-alive connections (reused across jobs),
connect and read timeouts on every request, no redirects, a cap on how much of a response is
read, proxies from settings (never from the environment), and the destination guard applied to
the address each new connection actually reached.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .addresses import check_address
from .conf import conf

__all__ = ["OutgoingRequest", "Response", "send"]


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: float
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _guard(sock: Any) -> None:
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    try:
        check_address(peer)
    except Exception:
        sock.close()
        raise


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> Any:
        sock = super()._new_conn()
        _guard(sock)
        return sock


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> Any:
        sock = super()._new_conn()
        _guard(sock)
        return sock


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


_lock = threading.Lock()
_session: requests.Session | None = None


def get_session() -> requests.Session:
    """The process's pooled session (created on first use)."""
    global _session
    with _lock:
        if _session is None:
            session = requests.Session()
            session.trust_env = False
            # Connections kept per host: every job thread of a worker may send at once.
            size = max(10, conf.WEBHOOKS_CONCURRENCY * conf.WEBHOOKS_WORKER_CONCURRENCY)
            adapter = GuardedAdapter(pool_connections=32, pool_maxsize=size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _session = session
        return _session


def reset_session() -> None:
    global _session
    with _lock:
        if _session is not None:
            _session.close()
        _session = None


def _read_capped(raw: Any, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = raw.read(min(65536, limit + 1 - size), decode_content=True)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit], True


@lru_cache(maxsize=1024)
def _prepared_url(url: str) -> str:
    # Parsing and re-quoting a URL is the dearest step of preparing a request; a webhook's
    # rendered URL is usually the same for every delivery.
    prepared = PreparedRequest()
    prepared.prepare_url(url, None)
    assert prepared.url is not None
    return prepared.url


def _prepare(request: OutgoingRequest) -> PreparedRequest:
    """The request as ``requests`` sends it: no session cookies, hooks or environment."""
    prepared = PreparedRequest()
    prepared.prepare_method(request.method)
    prepared.url = _prepared_url(request.url)
    prepared.prepare_headers(request.headers)
    prepared.prepare_body(request.body, None)
    return prepared


def send(
    request: OutgoingRequest, *, verify: bool | str = True, timeout: float | None = None
) -> Response:
    """Send ``request`` and return the response; raises ``requests.RequestException`` on network
    errors and ``BlockedDestinationError`` for a denied destination. Never follows redirects.

    The request goes straight to the pooled adapter: a session would also keep every cookie a
    receiver sets (a jar that only grows) and look for redirects that are never followed."""
    prepared = _prepare(request)
    adapter = get_session().get_adapter(prepared.url or request.url)
    limit = conf.WEBHOOKS_MAX_RESPONSE_BYTES
    seconds = conf.WEBHOOKS_HTTP_TIMEOUT if timeout is None else timeout
    started = time.perf_counter()
    response = adapter.send(
        prepared,
        stream=True,
        timeout=(seconds, seconds),
        verify=verify,
        proxies=conf.WEBHOOKS_HTTP_PROXIES or {},
    )
    truncated = True
    try:
        body, truncated = _read_capped(response.raw, limit)
    finally:
        if truncated:
            response.close()  # unread data left: drop the connection rather than reuse it
        else:
            response.raw.release_conn()
    elapsed = (time.perf_counter() - started) * 1000
    return Response(response.status_code, dict(response.headers), body, elapsed, truncated)
