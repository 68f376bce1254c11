"""The one place that sends HTTP, through urllib3's public ``PoolManager`` and ``ProxyManager``.

Every request has connect and read timeouts (``WEBHOOKS_HTTP_TIMEOUT``), follows no redirect,
reads at most ``WEBHOOKS_MAX_RESPONSE_BYTES`` of the answer, and goes through a proxy only when
``WEBHOOKS_HTTP_PROXIES`` names one (never from the environment). TLS is verified per webhook:
against the given CA bundle, the default bundle (certifi's, as ``requests`` uses), or not at all.

A direct request goes to an address the destination guard checked (:mod:`.addresses`): the host
name is resolved once, every address it resolves to is checked, and the connection is made to
the checked address itself, from a pool of keep-alive connections keyed by that address (with
the name in the ``Host`` header and, for HTTPS, as ``server_hostname``, so SNI and the
certificate check still use the name). Addresses are tried in the order the resolver gives them
when one cannot be connected to. The pools are shared by the threads of the process.

A webhook with a client certificate (mutual TLS) sends its HTTPS requests with the context
:mod:`.client_tls` builds for it (CA bundle and client certificate loaded), passed to urllib3
as the public ``ssl_context`` pool argument; pools are keyed by their context, so each such
webhook has its own keep-alive connections. Through a proxy too: an HTTP or SOCKS proxy
tunnels the TLS connection, which presents the certificate to the receiver; an https:// proxy
is verified with a context of its own (``proxy_ssl_context``) and never sees the certificate.
A TLS alert from the receiver about the client certificate is told in words.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import certifi
import urllib3
from urllib3 import exceptions as errors
from urllib3.util import make_headers, parse_url

from webhooks_app.conf import conf
from webhooks_app.delivery.addresses import check_proxied, checked_addresses
from webhooks_app.delivery.client_tls import (
    ClientCertificate,
    client_certificate_problem,
    context_for,
    verify_context,
)
from webhooks_app.exceptions import WebhookError

__all__ = [
    "HIDDEN",
    "ConnectionFailed",
    "InvalidRequest",
    "OutgoingRequest",
    "Response",
    "SendError",
    "SendTimeout",
    "UnreadableAnswer",
    "pool_manager",
    "reset_pools",
    "send",
]

READ_CHUNK = 65536


HIDDEN = "[hidden]"


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    # Lower-case names of headers whose values are credentials (a webhook's secret headers):
    # sent as they are, shown everywhere else as HIDDEN.
    hidden: frozenset[str] = frozenset()

    def shown_headers(self) -> dict[str, str]:
        """The headers as the delivery log, previews and errors may show them."""
        if not self.hidden:
            return dict(self.headers)
        return {k: (HIDDEN if k.lower() in self.hidden else v) for k, v in self.headers.items()}


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: float
    truncated: bool = False


class SendError(WebhookError):
    """The request could not be sent or its answer not read; ``retryable`` when a later
    attempt may go through."""

    retryable = True


class SendTimeout(SendError):
    """No connection, or no answer, within the timeout."""


class ConnectionFailed(SendError):
    """The connection could not be made or broke (refused, reset, TLS, name resolution)."""


class InvalidRequest(SendError):
    """The request cannot be sent as it is (a malformed URL, an unknown proxy scheme)."""

    retryable = False


class UnreadableAnswer(SendError):
    """The answer came in an encoding that could not be decoded."""

    retryable = False


@dataclass(frozen=True)
class Target:
    """What a URL says about where to connect and what to ask for."""

    url: str  # normalized: percent-encoded path and query, IDNA host
    scheme: str
    host: str  # without brackets
    port: int
    path: str  # path and query
    host_header: str


@lru_cache(maxsize=1024)
def target_of(url: str) -> Target:
    """Parse ``url`` (cached: a webhook's rendered URL is usually the same for every
    delivery). Raises :class:`InvalidRequest`."""
    try:
        parts = parse_url(url)
    except errors.LocationParseError as exc:
        raise InvalidRequest(f"Invalid URL {url[:200]!r}: {exc}") from exc
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https") or not parts.host:
        raise InvalidRequest(f"Invalid URL {url[:200]!r}: not an http(s) URL with a host.")
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    netloc = parts.host if port == default else f"{parts.host}:{port}"
    normalized = parts._replace(auth=None, fragment=None)  # namedtuple's public _replace
    return Target(
        url=normalized.url,
        scheme=scheme,
        host=parts.host.strip("[]"),
        port=port,
        path=parts.request_uri,
        host_header=netloc,
    )


_lock = threading.Lock()
_direct: urllib3.PoolManager | None = None
_proxied: dict[tuple[str, bool | str], urllib3.PoolManager] = {}
# (proxy, verify, certificate owner) -> (its context, its manager); a new context replaces it
_proxied_tls: dict[tuple[str, bool | str, object], tuple[ssl.SSLContext, urllib3.PoolManager]] = {}


def _pool_size() -> int:
    # Connections kept per destination: as many as sends to one webhook may be in flight in a
    # process (more are made when needed, and closed rather than kept).
    return max(10, conf.WEBHOOKS_CONCURRENCY)


def pool_manager() -> urllib3.PoolManager:
    """The process's pools of keep-alive connections for direct requests (made on first use)."""
    global _direct
    with _lock:
        if _direct is None:
            _direct = urllib3.PoolManager(num_pools=32, maxsize=_pool_size())
        return _direct


def reset_pools() -> None:
    """Close every kept connection (requests under way finish on theirs)."""
    global _direct
    with _lock:
        managers = [
            *_proxied.values(),
            *(manager for _, manager in _proxied_tls.values()),
            *([_direct] if _direct is not None else []),
        ]
        _direct = None
        _proxied.clear()
        _proxied_tls.clear()
    for manager in managers:
        manager.clear()


def _tls(verify: bool | str) -> dict[str, Any]:
    if verify is False:
        return {"cert_reqs": "CERT_NONE"}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where() if verify is True else verify}


def _proxy_manager(proxy_url: str, verify: bool | str) -> urllib3.PoolManager:
    key = (proxy_url, verify)
    with _lock:
        manager = _proxied.get(key)
        if manager is None:
            manager = _make_proxy_manager(proxy_url, verify)
            _proxied[key] = manager
        return manager


def _client_proxy_manager(
    proxy_url: str, verify: bool | str, owner: object, context: ssl.SSLContext
) -> urllib3.PoolManager:
    """The proxy manager of one webhook with a client certificate (``context``)."""
    key = (proxy_url, verify, owner)
    replaced = None
    with _lock:
        found = _proxied_tls.get(key)
        if found is not None and found[0] is context:
            return found[1]
        manager = _make_proxy_manager(proxy_url, verify, context)
        if found is not None:
            replaced = found[1]
        _proxied_tls[key] = (context, manager)
    if replaced is not None:
        replaced.clear()  # connections that present the previous certificate
    return manager


def _make_proxy_manager(
    proxy_url: str, verify: bool | str, context: ssl.SSLContext | None = None
) -> urllib3.PoolManager:
    kwargs: dict[str, Any] = {"num_pools": 32, "maxsize": _pool_size()}
    if context is None:
        kwargs.update(_tls(verify))
    else:
        kwargs["ssl_context"] = context  # the receiver's TLS, in the tunnel
        if proxy_url.lower().startswith("https"):
            kwargs["proxy_ssl_context"] = verify_context(verify)  # the proxy's own TLS
    auth = parse_url(proxy_url).auth
    try:
        if proxy_url.lower().startswith("socks"):
            from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks

            return SOCKSProxyManager(proxy_url, **kwargs)
        if auth:
            user_password = ":".join(unquote(part) for part in auth.split(":", 1))
            kwargs["proxy_headers"] = make_headers(proxy_basic_auth=user_password)
        return urllib3.ProxyManager(proxy_url, **kwargs)
    except (ImportError, errors.HTTPError, ValueError) as exc:
        raise InvalidRequest(f"The proxy {proxy_url!r} cannot be used: {exc}") from exc


def proxy_for(target: Target) -> str | None:
    """The proxy for ``target`` from ``WEBHOOKS_HTTP_PROXIES`` (keys as ``requests`` reads
    them: ``scheme://host``, ``scheme``, ``all://host``, ``all``), if any."""
    proxies = conf.WEBHOOKS_HTTP_PROXIES
    if not proxies:
        return None
    for key in (f"{target.scheme}://{target.host}", target.scheme, f"all://{target.host}", "all"):
        if key in proxies:
            return proxies[key]
    return None


def send(
    request: OutgoingRequest,
    *,
    verify: bool | str = True,
    timeout: float | None = None,
    client_cert: ClientCertificate | None = None,
) -> Response:
    """Send ``request`` and return its answer, presenting ``client_cert`` to an HTTPS receiver
    that asks for one. Raises ``BlockedDestinationError`` for a denied destination (nothing is
    sent), :class:`SendError` for what the network did, and for a client certificate that
    cannot be loaded ``ClientCertificateError`` or what its ``load_key`` raises. Never follows
    redirects."""
    target = target_of(request.url)
    seconds = conf.WEBHOOKS_HTTP_TIMEOUT if timeout is None else timeout
    headers = request.headers
    if not any(name.lower() == "host" for name in headers):  # a webhook's own Host header wins
        headers = {"Host": target.host_header, **headers}
    options: dict[str, Any] = {
        "body": request.body or None,
        "headers": headers,
        "retries": False,
        "redirect": False,
        "assert_same_host": False,
        "timeout": urllib3.Timeout(connect=seconds, read=seconds),
        "preload_content": False,
        "decode_content": True,
    }
    started = time.perf_counter()
    proxy = proxy_for(target)
    if target.scheme != "https":
        client_cert = None  # no TLS with the receiver: its key is not even decrypted
    try:
        if proxy is not None:
            check_proxied(target.host, target.port)
            if client_cert is None:
                manager = _proxy_manager(proxy, verify)
            else:
                context = context_for(client_cert, verify)
                manager = _client_proxy_manager(proxy, verify, client_cert.owner, context)
            answer = manager.urlopen(request.method, target.url, **options)
        else:
            answer = _send_direct(request.method, target, verify, options, client_cert)
        body, truncated = _read_capped(answer, conf.WEBHOOKS_MAX_RESPONSE_BYTES)
    except socket.gaierror as exc:
        raise ConnectionFailed(f"Failed to resolve {target.host!r} ({exc})") from exc
    except errors.HTTPError as exc:
        raise _send_error(exc, presented=client_cert is not None) from exc
    except OSError as exc:  # what urllib3 lets through: a CA bundle that cannot be read...
        raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
    elapsed = (time.perf_counter() - started) * 1000
    return Response(answer.status, dict(answer.headers), body, elapsed, truncated)


def _send_direct(
    method: str,
    target: Target,
    verify: bool | str,
    options: dict[str, Any],
    client_cert: ClientCertificate | None,
) -> urllib3.BaseHTTPResponse:
    addresses = checked_addresses(target.host, target.port)  # a denied one: nothing loaded
    pool_kwargs: dict[str, Any] | None = None
    if target.scheme == "https":
        if client_cert is None:
            pool_kwargs = _tls(verify)
        else:  # our context carries the verification too: urllib3 takes its verify_mode
            pool_kwargs = {"ssl_context": context_for(client_cert, verify)}
    if pool_kwargs is not None and not _is_address(target.host):
        pool_kwargs["server_hostname"] = target.host  # SNI and the certificate's name
    manager = pool_manager()
    for address in addresses[:-1]:
        pool = manager.connection_from_host(address, target.port, target.scheme, pool_kwargs)
        try:
            return pool.urlopen(method, target.path, **options)
        except (errors.NewConnectionError, errors.ConnectTimeoutError):
            continue  # nothing was sent: the next address
    pool = manager.connection_from_host(addresses[-1], target.port, target.scheme, pool_kwargs)
    return pool.urlopen(method, target.path, **options)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _read_capped(answer: urllib3.BaseHTTPResponse, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the answer, and whether there was more. A connection whose
    answer was read whole goes back to its pool; one with unread data is closed."""
    chunks: list[bytes] = []
    size = 0
    truncated = True
    try:
        while size <= limit:
            chunk = answer.read(min(READ_CHUNK, limit + 1 - size))
            if not chunk:
                truncated = False
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        if truncated:
            answer.close()  # unread data left (or an error): not reusable
        answer.release_conn()
    return b"".join(chunks)[:limit], truncated


def _send_error(exc: errors.HTTPError, *, presented: bool = False) -> SendError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, (errors.SSLError, errors.ProtocolError)):
        problem = client_certificate_problem(message, presented=presented)
        if problem is not None:
            return ConnectionFailed(f"{problem} ({message})")
    if isinstance(exc, errors.NewConnectionError):  # before TimeoutError: it is one in urllib3
        return ConnectionFailed(message)
    if isinstance(exc, errors.TimeoutError):
        return SendTimeout(message)
    if isinstance(exc, errors.LocationValueError):
        return InvalidRequest(message)
    if isinstance(exc, errors.DecodeError):
        return UnreadableAnswer(f"The answer could not be decoded: {message}")
    return ConnectionFailed(message)
