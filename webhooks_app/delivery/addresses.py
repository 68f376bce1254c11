"""The destination guard: addresses no webhook may connect to.

Link-local networks and cloud metadata addresses are always denied, and so are
``WEBHOOKS_DENIED_NETWORKS``, except for ``WEBHOOKS_ALLOWED_NETWORKS``. An IPv6 address that
carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64
``64:ff9b::a.b.c.d``, 6to4 ``2002:aabb:ccdd::``) is judged by that IPv4 address too.

A host name is resolved once (:func:`checked_addresses`), every address it resolves to is
checked (one denied address denies the destination: a name must not point at a metadata service
beside a public address), and the sender connects to a checked address, never to a second
lookup of the name (no DNS rebinding between check and use). A denied destination is refused
before any connection, with the same message whatever its port, so the guard tells nothing
about which ports are open behind it.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from functools import lru_cache

from webhooks_app.conf import DEFAULT_DENIED_NETWORKS, conf
from webhooks_app.exceptions import BlockedDestinationError

__all__ = ["check_address", "check_proxied", "checked_addresses", "is_denied", "resolve"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
LOOPBACK_V6 = ipaddress.IPv6Address("::1")

# How long the addresses a name resolved to are used again. They are checked at every use, so
# this only spares a lookup per request (a keep-alive connection outlives it anyway).
RESOLVED_FOR = 5.0
_resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}


@lru_cache(maxsize=16)
def _networks(
    denied: tuple[str, ...], allowed: tuple[str, ...]
) -> tuple[tuple[Network, ...], tuple[Network, ...]]:
    return (
        tuple(ipaddress.ip_network(n, strict=False) for n in denied),
        tuple(ipaddress.ip_network(n, strict=False) for n in allowed),
    )


def _forms(ip: Address) -> list[Address]:
    """``ip``, and the IPv4 address an IPv6 address carries, if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    embedded = ip.ipv4_mapped or ip.sixtofour
    if embedded is None and ip in NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if embedded is None and ip in IPV4_COMPATIBLE and ip != LOOPBACK_V6:
        embedded = ipaddress.IPv4Address(int(ip))  # '::' carries 0.0.0.0
    return [ip] if embedded is None else [ip, embedded]


def is_denied(address: str) -> bool:
    """Whether no webhook may connect to ``address`` (an IP address, maybe with an IPv6 zone)."""
    forms = _forms(ipaddress.ip_address(address.split("%", 1)[0]))
    denied, allowed = _networks(
        DEFAULT_DENIED_NETWORKS + tuple(conf.WEBHOOKS_DENIED_NETWORKS),
        tuple(conf.WEBHOOKS_ALLOWED_NETWORKS),
    )
    if any(ip in net for ip in forms for net in allowed if ip.version == net.version):
        return False
    return any(ip in net for ip in forms for net in denied if ip.version == net.version)


def check_address(address: str) -> None:
    """Raise ``BlockedDestinationError`` if ``address`` is denied."""
    if is_denied(address):
        raise BlockedDestinationError(
            f"Destination address {address} is in a denied network; not sent."
        )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order (an address is itself).
    Raises ``socket.gaierror`` when it resolves to nothing."""
    if _is_literal(host):
        return [host]
    now = time.monotonic()
    known = _resolved.get((host, port))
    if known is not None and known[0] > now:
        return known[1]
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if len(_resolved) > 1024:
        _resolved.clear()
    _resolved[(host, port)] = (now + RESOLVED_FOR, addresses)
    return addresses


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to for ``host``, every one of them checked: raises
    ``BlockedDestinationError`` if any is denied, ``socket.gaierror`` if there are none."""
    addresses = resolve(host, port)
    for address in addresses:
        if not is_denied(address):
            continue
        if _is_literal(host):
            check_address(address)
        raise BlockedDestinationError(
            f"Destination {host} resolves to {address}, which is in a denied network; not sent."
        )
    return addresses


def check_proxied(host: str, port: int) -> None:
    """The guard for a request through a proxy, which resolves and connects itself: the
    target is checked as far as this machine can tell. An address in the URL is checked; a
    name is checked on the addresses it resolves to here, if it resolves here (a name only the
    proxy's resolver knows goes unchecked: the proxy is the place to deny destinations then).
    The proxy's own address is not checked: it is the operator's setting."""
    try:
        checked_addresses(host, port)
    except socket.gaierror:
        return
