"""The destination guard: addresses no webhook may connect to.

Checked on the address a socket actually connected to, so DNS tricks (a name that resolves to a
metadata address, or changes between check and use) do not get around it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from webhooks_app.conf import DEFAULT_DENIED_NETWORKS, conf
from webhooks_app.exceptions import BlockedDestinationError

__all__ = ["check_address", "is_denied"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(
    denied: tuple[str, ...], allowed: tuple[str, ...]
) -> tuple[tuple[Network, ...], tuple[Network, ...]]:
    return (
        tuple(ipaddress.ip_network(n, strict=False) for n in denied),
        tuple(ipaddress.ip_network(n, strict=False) for n in allowed),
    )


def is_denied(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    denied, allowed = _networks(
        DEFAULT_DENIED_NETWORKS + tuple(conf.WEBHOOKS_DENIED_NETWORKS),
        tuple(conf.WEBHOOKS_ALLOWED_NETWORKS),
    )
    if any(ip in net for net in allowed):
        return False
    return any(ip in net for net in denied)


def check_address(address: str) -> None:
    if is_denied(address):
        raise BlockedDestinationError(
            f"Destination address {address} is in a denied network; not sent."
        )
