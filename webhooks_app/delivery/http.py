"""The one place that sends HTTP.

``requests``' adapter keeps the pools of keep-alive connections (reused across jobs, one per
destination and TLS setting, the destination guard applied to the address each new connection
actually reached) and prepares every request as ``requests`` would. A request is written to a
pooled urllib3 connection and its answer read apart (:func:`start`, :meth:`Exchange.finish`), so
that one thread can keep several requests in flight; errors are raised as ``requests`` raises
them. A request through a proxy (from settings, never from the environment) goes by the
adapter itself. Connect and read timeouts on every request, no redirects, and a cap on how much
of an answer is read.

Skipping ``requests``' per-request machinery (connection lookup, ``Response`` and cookie
handling) halves the CPU a request to a fast receiver costs (0.5 -> 0.27 ms measured on a 2-core
VM), and a few requests in flight from one thread (:mod:`.sending`) double what it sends.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.client import HTTPException
from typing import Any, NoReturn, cast

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from requests.utils import select_proxy
from urllib3 import exceptions as urllib3_exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from webhooks_app.conf import conf
from webhooks_app.delivery.addresses import check_address
from webhooks_app.exceptions import WebhookError

__all__ = ["Exchange", "OutgoingRequest", "Response", "send", "start"]


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


class Exchange:
    """A request on its way: written to its connection, its answer read by :meth:`finish`.

    Writing a request and reading its answer apart lets one thread keep several requests in
    flight: while the receiver answers one, the thread renders and writes the next."""

    def finish(self) -> Response:
        """Read the answer; raises as :func:`send` does."""
        raise NotImplementedError

    def abandon(self) -> None:
        """Give up on the answer (the job was interrupted): its connection is closed."""


class _OnConnection(Exchange):
    def __init__(self, pool: Any, conn: Any, limit: int, started: float) -> None:
        self._pool = pool
        self._conn: Any = conn
        self._limit = limit
        self._started = started

    def finish(self) -> Response:
        conn, self._conn = self._conn, None
        if conn is None:
            raise RuntimeError("This exchange has ended already.")
        try:
            answer = conn.getresponse()
            body, truncated = _read_capped(answer, self._limit)
        except BaseException as exc:
            _drop(self._pool, conn)
            _raise_as_requests_does(exc, conn.timeout)
        if truncated:
            _drop(self._pool, conn)  # unread data left: the next request needs a new connection
        else:
            self._pool._put_conn(conn)
        elapsed = (time.perf_counter() - self._started) * 1000
        return Response(answer.status, dict(answer.headers), body, elapsed, truncated)

    def abandon(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _drop(self._pool, conn)


class _Answered(Exchange):
    """An exchange over at once (requests through a proxy are sent by ``requests`` itself)."""

    def __init__(self, response: Response | None, error: Exception | None = None) -> None:
        self._response = response
        self._error = error

    def finish(self) -> Response:
        if self._error is not None:
            raise self._error
        assert self._response is not None
        return self._response


def _drop(pool: Any, conn: Any) -> None:
    conn.close()
    pool._put_conn(None)  # the pool counts its connections by what is put back


def start(
    request: OutgoingRequest, *, verify: bool | str = True, timeout: float | None = None
) -> Exchange:
    """Write ``request`` to a pooled connection and return the exchange that reads its answer.
    Raises as :func:`send` does when the request cannot be written at all."""
    prepared = _prepare(request)
    url = prepared.url or request.url
    adapter = get_session().get_adapter(url)
    assert isinstance(adapter, HTTPAdapter)
    seconds = conf.WEBHOOKS_HTTP_TIMEOUT if timeout is None else timeout
    proxies = conf.WEBHOOKS_HTTP_PROXIES or {}
    if proxies and select_proxy(url, proxies):
        try:
            return _Answered(_send_by_proxy(adapter, prepared, verify, seconds, proxies))
        except requests.RequestException as exc:
            return _Answered(None, exc)
    try:
        pool = cast(HTTPConnectionPool, adapter.get_connection_with_tls_context(prepared, verify))
    except ValueError as exc:
        raise requests.exceptions.InvalidURL(str(exc)) from exc
    started = time.perf_counter()
    try:  # urllib3's own pool of keep-alive connections (one that went stale is replaced here)
        conn = pool._get_conn()
    except urllib3_exceptions.HTTPError as exc:  # the pool was closed (the session was reset)
        _raise_as_requests_does(exc, seconds)
    conn.timeout = seconds  # for connecting, writing and reading alike
    try:
        conn.request(
            prepared.method or request.method,
            prepared.path_url,
            body=prepared.body,
            headers=prepared.headers,
            preload_content=False,
            decode_content=True,
        )
    except (BrokenPipeError, ConnectionResetError):
        pass  # the receiver may have answered before it stopped reading: finish() reads it
    except BaseException as exc:
        _drop(pool, conn)
        _raise_as_requests_does(exc, seconds)
    return _OnConnection(pool, conn, conf.WEBHOOKS_MAX_RESPONSE_BYTES, started)


def send(
    request: OutgoingRequest, *, verify: bool | str = True, timeout: float | None = None
) -> Response:
    """Send ``request`` and return the response; raises ``requests.RequestException`` on network
    errors and ``BlockedDestinationError`` for a denied destination. Never follows redirects."""
    return start(request, verify=verify, timeout=timeout).finish()


def _raise_as_requests_does(exc: BaseException, seconds: float) -> NoReturn:
    error = _as_request_error(exc, seconds)
    if error is exc:
        raise exc
    raise error from exc


def _as_request_error(exc: BaseException, seconds: float) -> BaseException:
    """What ``requests`` raises for ``exc``; our own errors and interruptions stay as they are."""
    if isinstance(exc, requests.RequestException | WebhookError) or not isinstance(exc, Exception):
        return exc
    message = str(exc) or type(exc).__name__
    if isinstance(exc, urllib3_exceptions.NewConnectionError):
        return requests.ConnectionError(message)
    if isinstance(exc, urllib3_exceptions.ConnectTimeoutError):
        return requests.ConnectTimeout(message)
    if isinstance(exc, TimeoutError | urllib3_exceptions.TimeoutError):
        return requests.ReadTimeout(f"Read timed out. (read timeout={seconds:g})")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError | urllib3_exceptions.SSLError):
        return requests.exceptions.SSLError(message)
    if isinstance(exc, urllib3_exceptions.DecodeError):
        return requests.exceptions.ContentDecodingError(message)
    if isinstance(exc, OSError | HTTPException | urllib3_exceptions.HTTPError):
        return requests.ConnectionError(message)
    return exc


def _send_by_proxy(
    adapter: HTTPAdapter,
    prepared: PreparedRequest,
    verify: bool | str,
    seconds: float,
    proxies: dict[str, str],
) -> Response:
    """The request sent by ``requests``' adapter, which knows proxies and tunnels. It goes
    straight to the adapter: a session would also keep every cookie a receiver sets (a jar
    that only grows) and look for redirects that are never followed."""
    started = time.perf_counter()
    response = adapter.send(
        prepared, stream=True, timeout=(seconds, seconds), verify=verify, proxies=proxies
    )
    truncated = True
    try:
        body, truncated = _read_capped(response.raw, conf.WEBHOOKS_MAX_RESPONSE_BYTES)
    finally:
        if truncated:
            response.close()  # unread data left: drop the connection rather than reuse it
        else:
            response.raw.release_conn()
    elapsed = (time.perf_counter() - started) * 1000
    return Response(response.status_code, dict(response.headers), body, elapsed, truncated)
