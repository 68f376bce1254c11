"""http: the one place that sends HTTP (timeouts, no redirects, a cap on answers, TLS per
webhook, proxies from settings only, keep-alive connections shared by threads)."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from urllib3.exceptions import InsecureRequestWarning

from tests.delivery.loopback import Loopback
from webhooks_app.delivery.http import (
    ConnectionFailed,
    InvalidRequest,
    OutgoingRequest,
    SendTimeout,
    pool_manager,
    reset_pools,
    send,
)
from webhooks_app.receiver import Receiver


@pytest.fixture(autouse=True)
def fresh_pools() -> Iterator[None]:
    reset_pools()
    yield
    reset_pools()


def post(url: str, body: bytes = b"{}") -> OutgoingRequest:
    return OutgoingRequest("POST", url, {"Content-Type": "application/json"}, body)


def test_the_body_and_headers_arrive_as_given_with_the_host_of_the_url() -> None:
    with Loopback(status=201, body=b"created", headers={"X-Answer": "yes"}) as server:
        response = send(
            OutgoingRequest("PUT", server.url("localhost"), {"X-Custom": "yes"}, b'{"a": 1}')
        )
    [seen] = server.seen
    assert (response.status_code, response.body, response.headers["X-Answer"]) == (
        201,
        b"created",
        "yes",
    )
    assert seen.method == "PUT" and seen.body == b'{"a": 1}'
    assert seen.headers["X-Custom"] == "yes" and seen.headers["Content-Length"] == "8"
    assert seen.headers["Host"] == f"localhost:{server.port}"
    assert response.elapsed_ms > 0 and not response.truncated


def test_cookies_a_receiver_sets_are_not_sent_back(receiver: Receiver) -> None:
    receiver.set_responses([(200, {"Set-Cookie": "session=abc; Path=/"})])
    send(post(receiver.url))
    send(post(receiver.url))
    first, second = receiver.wait_for(2)
    assert "Cookie" not in second.headers


def test_urls_are_percent_encoded() -> None:
    with Loopback() as server:
        for _ in range(2):  # the second time from the cache
            send(post(f"{server.url()}hooks/caf\u00e9 ou th\u00e9?q=a b&x=%41#fragment"))
    paths = {seen.path for seen in server.seen}
    assert paths == {"/hooks/caf%C3%A9%20ou%20th%C3%A9?q=a%20b&x=%41"}


def test_an_invalid_url_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InvalidRequest, match="not an http"):
        send(post("ftp://127.0.0.1/x"))


def test_requests_one_after_the_other_share_one_kept_connection() -> None:
    with Loopback() as server:
        for _ in range(5):
            assert send(post(server.url())).status_code == 200
    assert len(set(server.client_ports)) == 1


def test_requests_from_two_threads_are_in_flight_at_once_and_their_connections_kept() -> None:
    with Loopback(delay=0.3) as server:
        both_sent = threading.Barrier(2)

        def send_one() -> None:
            both_sent.wait()
            assert send(post(server.url())).status_code == 200

        threads = [threading.Thread(target=send_one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first_two = set(server.client_ports)
        server.delay = 0
        for _ in range(5):
            send(post(server.url()))
    assert len(first_two) == 2  # two connections at once
    assert set(server.client_ports) == first_two  # and nothing new afterwards
    pool = pool_manager().connection_from_host("127.0.0.1", server.port, "http")
    assert pool.num_connections == 2


def test_a_refused_connection_is_a_connection_failure() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionFailed, match="refused"):
        send(post(f"http://127.0.0.1:{port}/"))


def test_a_name_that_does_not_resolve_is_a_connection_failure() -> None:
    with pytest.raises(ConnectionFailed, match="resolve 'webhooks-test.invalid'"):
        send(post("http://webhooks-test.invalid/"))


def test_an_answer_later_than_the_timeout_is_a_timeout() -> None:
    with Loopback(delay=0.5) as server:
        with pytest.raises(SendTimeout, match=r"read timeout=0\.1"):
            send(post(server.url()), timeout=0.1)
        server.delay = 0
        assert send(post(server.url())).status_code == 200  # the pool is fine afterwards


def test_a_redirect_is_answered_not_followed() -> None:
    with Loopback(status=302, headers={"Location": "http://127.0.0.1:1/elsewhere"}) as server:
        response = send(post(server.url()))
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:1/elsewhere"
    assert len(server.seen) == 1


@override_settings(WEBHOOKS_MAX_RESPONSE_BYTES=10)
def test_a_long_answer_is_cut_and_its_connection_not_reused() -> None:
    with Loopback(body=b"x" * 100_000) as server:
        response = send(post(server.url()))
        assert response.truncated and response.body == b"x" * 10
        assert send(post(server.url())).status_code == 200
    first, second = server.client_ports
    assert first != second


def test_a_closed_pool_is_a_connection_failure() -> None:
    with Loopback() as server:
        send(post(server.url()))
        pool_manager().connection_from_host("127.0.0.1", server.port, "http").close()
        with pytest.raises(ConnectionFailed, match="closed"):
            send(post(server.url()))


def test_requests_through_a_proxy_name_the_whole_target(receiver: Receiver) -> None:
    # The receiver plays the proxy: a proxied request names the whole target URL.
    target = "http://127.0.0.1:9/hooks/in"
    with override_settings(WEBHOOKS_HTTP_PROXIES={"http": receiver.url}):
        assert send(post(target)).status_code == 200
    [request] = receiver.wait_for(1)
    assert request.path == target


def test_credentials_in_the_proxy_url_are_sent_to_the_proxy(receiver: Receiver) -> None:
    proxy = receiver.url.replace("http://", "http://us%40er:p%3Ass@")
    with override_settings(WEBHOOKS_HTTP_PROXIES={"http": proxy}):
        send(post("http://127.0.0.1:9/"))
    [request] = receiver.wait_for(1)
    assert request.header("Proxy-Authorization") == "Basic " + base64.b64encode(
        b"us@er:p:ss"
    ).decode("ascii")


def test_a_proxy_for_another_scheme_is_not_used(receiver: Receiver) -> None:
    with (
        Loopback() as server,
        override_settings(WEBHOOKS_HTTP_PROXIES={"https": receiver.url}),
    ):
        assert send(post(server.url())).status_code == 200
    assert len(server.seen) == 1 and receiver.requests == []


def make_certificate(directory: Path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (a DNS name or an IP address): (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    kind = "IP" if name[0].isdigit() else "DNS"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName={kind}:{name}"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_is_verified_against_the_given_ca_bundle(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "127.0.0.1")
    with Loopback(status=204, tls=(cert, key)) as server:
        assert send(post(server.url()), verify=cert).status_code == 204
        with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
            send(post(server.url()), verify=True)  # self-signed: not in the default bundle
        with pytest.warns(InsecureRequestWarning):  # the webhook's choice, said once per host
            assert send(post(server.url()), verify=False).status_code == 204
        assert send(post(server.url()), verify=cert).status_code == 204


def test_https_to_a_name_uses_the_name_for_sni_and_the_certificate_check(
    tmp_path: Path,
) -> None:
    """The connection goes to the address the guard checked, the TLS handshake names the
    host of the URL."""
    cert, key = make_certificate(tmp_path, "localhost")
    with Loopback(status=204, tls=(cert, key)) as server:
        assert send(post(server.url("localhost")), verify=cert).status_code == 204
        assert server.server_names == ["localhost"]
        assert server.seen[0].headers["Host"] == f"localhost:{server.port}"
        with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED|match"):
            send(post(server.url("127.0.0.1")), verify=cert)  # not the certificate's name
