"""transport: the one place that sends HTTP (send, and start/finish for requests in flight)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.test import override_settings
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from urllib3.connectionpool import HTTPConnectionPool

from webhooks_app.delivery.http import OutgoingRequest, get_session, reset_session, send, start
from webhooks_app.receiver import Receiver


@pytest.fixture
def fresh_session() -> Iterator[None]:
    reset_session()
    yield
    reset_session()


def post(url: str, body: bytes = b"{}") -> OutgoingRequest:
    return OutgoingRequest("POST", url, {"Content-Type": "application/json"}, body)


def test_cookies_a_receiver_sets_are_neither_kept_nor_sent_back(
    receiver: Receiver, fresh_session: None
) -> None:
    receiver.set_responses([(200, {"Set-Cookie": "session=abc; Path=/"})])
    send(post(receiver.url))
    send(post(receiver.url))
    first, second = receiver.wait_for(2)
    assert "Cookie" not in second.headers
    assert len(get_session().cookies) == 0


def test_urls_are_quoted_as_requests_would_quote_them(receiver: Receiver) -> None:
    url = f"{receiver.url}hooks/caf\u00e9 ou th\u00e9?q=a b&x=%41"
    expected = PreparedRequest()
    expected.prepare_url(url, None)
    for _ in range(2):  # the second time from the cache
        send(post(url))
    paths = [r.path for r in receiver.wait_for(2)]
    assert expected.url is not None and expected.url.endswith(paths[0])
    assert paths[0] == paths[1]


def test_the_body_and_headers_arrive_as_given(receiver: Receiver) -> None:
    response = send(
        OutgoingRequest("PUT", receiver.url, {"X-Custom": "yes"}, b'{"a": 1}'), timeout=5
    )
    [request] = receiver.wait_for(1)
    assert response.status_code == 200
    assert request.method == "PUT" and request.body == b'{"a": 1}'
    assert request.headers["X-Custom"] == "yes" and request.headers["Content-Length"] == "8"


def pool_for(url: str) -> HTTPConnectionPool:
    """The pool of keep-alive connections the transport uses for ``url``."""
    prepared = PreparedRequest()
    prepared.prepare(method="POST", url=url)
    adapter = get_session().get_adapter(url)
    assert isinstance(adapter, HTTPAdapter)
    pool = adapter.get_connection_with_tls_context(prepared, True)
    assert isinstance(pool, HTTPConnectionPool)
    return pool


def test_two_requests_are_in_flight_at_once_on_two_kept_connections(
    receiver: Receiver, fresh_session: None
) -> None:
    receiver.set_delay(0.3)
    began = time.perf_counter()
    first, second = start(post(receiver.url, b"1")), start(post(receiver.url, b"2"))
    receiver.wait_for(2, timeout=0.25)  # both arrived before either answer was read
    answers = [first.finish(), second.finish()]
    assert time.perf_counter() - began < 0.55  # answered together, not one after the other
    assert [a.status_code for a in answers] == [200, 200]
    receiver.set_delay(0)
    for _ in range(10):
        pair = [start(post(receiver.url)), start(post(receiver.url))]
        assert [exchange.finish().status_code for exchange in pair] == [200, 200]
    assert pool_for(receiver.url).num_connections == 2


def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(requests.ConnectionError, match="refused"):
        send(post(f"http://127.0.0.1:{port}/"))


def test_an_answer_later_than_the_timeout_is_a_read_timeout(receiver: Receiver) -> None:
    receiver.set_delay(0.5)
    with pytest.raises(requests.ReadTimeout, match=r"read timeout=0\.1"):
        send(post(receiver.url), timeout=0.1)
    receiver.set_delay(0)
    assert send(post(receiver.url)).status_code == 200  # the pool is fine afterwards


@override_settings(WEBHOOKS_MAX_RESPONSE_BYTES=10)
def test_a_long_answer_is_cut_and_its_connection_not_reused(
    receiver: Receiver, fresh_session: None
) -> None:
    response = send(post(receiver.url))
    assert response.truncated and len(response.body) == 10
    assert send(post(receiver.url)).status_code == 200
    assert pool_for(receiver.url).num_connections == 2


def test_an_abandoned_exchange_closes_its_connection(
    receiver: Receiver, fresh_session: None
) -> None:
    receiver.set_delay(0.2)
    start(post(receiver.url)).abandon()
    receiver.set_delay(0)
    assert send(post(receiver.url)).status_code == 200
    assert pool_for(receiver.url).num_connections == 2


def test_requests_through_a_proxy_go_by_requests_itself(receiver: Receiver) -> None:
    # The receiver plays the proxy: a proxied request names the whole target URL.
    target = "http://127.0.0.1:9/hooks/in"
    with override_settings(WEBHOOKS_HTTP_PROXIES={"http": receiver.url}):
        exchange = start(post(target))
    assert exchange.finish().status_code == 200
    [request] = receiver.wait_for(1)
    assert request.path == target


def test_a_closed_pool_is_a_connection_error(receiver: Receiver, fresh_session: None) -> None:
    send(post(receiver.url))
    pool_for(receiver.url).close()  # what resetting the session does under a running send
    with pytest.raises(requests.ConnectionError, match="closed"):
        send(post(receiver.url))


class _TLSHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An HTTPS server on loopback with a self-signed certificate: (URL, certificate path)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TLSHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", str(cert)
    server.shutdown()
    server.server_close()


def test_https_is_verified_against_the_given_ca_bundle(
    tls_server: tuple[str, str], fresh_session: None
) -> None:
    url, ca_bundle = tls_server
    assert send(post(url), verify=ca_bundle).status_code == 204
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        send(post(url), verify=True)  # self-signed: not trusted by the default bundle
    assert send(post(url), verify=False).status_code == 204
    pair = [start(post(url), verify=ca_bundle), start(post(url), verify=ca_bundle)]
    assert [exchange.finish().status_code for exchange in pair] == [204, 204]
