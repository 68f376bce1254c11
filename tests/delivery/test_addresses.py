"""The destination guard: denied networks, the IPv6 forms of IPv4 addresses, and a refusal
before any connection that reads the same whatever the port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.test import override_settings

from webhooks_app.delivery.addresses import checked_addresses, is_denied
from webhooks_app.delivery.http import OutgoingRequest, reset_pools, send
from webhooks_app.exceptions import BlockedDestinationError
from webhooks_app.receiver import Receiver

LOOPBACK_DENIED = override_settings(WEBHOOKS_DENIED_NETWORKS=["127.0.0.0/8"])


@pytest.fixture(autouse=True)
def fresh_pools() -> Iterator[None]:
    reset_pools()
    yield
    reset_pools()


def post(url: str) -> OutgoingRequest:
    return OutgoingRequest("POST", url, {}, b"{}")


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # link-local: cloud metadata
        "fe80::1",
        "fe80::1%eth0",
        "100.100.100.200",
        "fd00:ec2::254",
        "0.0.0.0",
        "::",  # IPv4-compatible 0.0.0.0
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "::169.254.169.254",  # IPv4-compatible
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    ],
)
def test_link_local_and_metadata_addresses_are_always_denied(address: str) -> None:
    assert is_denied(address)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "93.184.215.14", "2606:4700::1111"])
def test_other_addresses_are_allowed_by_default(address: str) -> None:
    assert not is_denied(address)


@LOOPBACK_DENIED
@pytest.mark.parametrize(
    "address", ["127.0.0.1", "127.8.9.10", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "::127.0.0.1"]
)
def test_denied_networks_cover_the_ipv6_forms_of_their_addresses(address: str) -> None:
    assert is_denied(address)
    assert not is_denied("::1")  # IPv6 loopback is not an IPv4 address in disguise


@override_settings(
    WEBHOOKS_DENIED_NETWORKS=["10.0.0.0/8"], WEBHOOKS_ALLOWED_NETWORKS=["10.1.0.0/16"]
)
def test_allowed_networks_are_exceptions_to_the_denied_ones() -> None:
    assert is_denied("10.2.0.1") and is_denied("::ffff:10.2.0.1")
    assert not is_denied("10.1.0.1") and not is_denied("::ffff:10.1.0.1")


def test_a_name_is_denied_when_an_address_it_resolves_to_is() -> None:
    assert "127.0.0.1" in checked_addresses("localhost", 80)
    with (
        LOOPBACK_DENIED,
        pytest.raises(BlockedDestinationError, match="localhost resolves to 127.0.0.1"),
    ):
        checked_addresses("localhost", 80)


@LOOPBACK_DENIED
def test_a_denied_destination_is_refused_alike_on_an_open_and_a_closed_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        listening.setblocking(False)
        open_port = listening.getsockname()[1]
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            closed_port = unused.getsockname()[1]
        errors = []
        for port in (open_port, closed_port):
            with pytest.raises(BlockedDestinationError) as raised:
                send(post(f"http://127.0.0.1:{port}/hook"))
            errors.append(str(raised.value))
        # A connection made would be waiting to be accepted by now.
        with pytest.raises(BlockingIOError):
            listening.accept()
    assert errors[0] == errors[1]
    assert errors[0] == "Destination address 127.0.0.1 is in a denied network; not sent."


@LOOPBACK_DENIED
def test_a_name_of_a_denied_address_is_refused_before_connecting(receiver: Receiver) -> None:
    with pytest.raises(BlockedDestinationError, match="denied network"):
        send(post(f"http://localhost:{receiver.port}/"))
    assert receiver.requests == []


@LOOPBACK_DENIED
def test_through_a_proxy_a_denied_target_is_refused_before_the_proxy_is_asked(
    receiver: Receiver,
) -> None:
    # The proxy's own address is the operator's setting: not checked.
    with override_settings(WEBHOOKS_HTTP_PROXIES={"http": receiver.url}):
        for target in ("http://127.0.0.1:9/", "http://localhost:9/"):
            with pytest.raises(BlockedDestinationError, match="denied network"):
                send(post(target))
    assert receiver.requests == []


def test_through_a_proxy_a_name_only_the_proxy_knows_is_left_to_the_proxy(
    receiver: Receiver,
) -> None:
    target = "http://webhooks-test.invalid/hook"
    with override_settings(WEBHOOKS_HTTP_PROXIES={"http": receiver.url}):
        assert send(post(target)).status_code == 200
    [request] = receiver.wait_for(1)
    assert request.path == target
