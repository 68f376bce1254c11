"""The loopback receiver: recording, keep-alive, scripted answers, failures, delays, signatures."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as StdWebhook

from webhooks_app.choices import SIGNATURE_HEADER
from webhooks_app.receiver import ReceivedRequest, Receiver
from webhooks_app.signing import (
    generate_signature,
    generate_standard_signature,
    standard_secret,
)

SECRET = "s3cret-key"
BODY = json.dumps({"event": "created", "data": {"id": 1}}).encode()


@pytest.fixture
def signed_receiver() -> Iterator[Receiver]:
    """A receiver checking signatures; the plain ``receiver`` fixture comes from conftest."""
    with Receiver(secret=SECRET) as running:
        yield running


def send(
    receiver: Receiver,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "POST",
    path: str = "/",
) -> http.client.HTTPResponse:
    """One request on a fresh connection; the response body is read before closing."""
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def standard_headers(body: bytes, secret: str = SECRET, msg_id: str = "msg_1") -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": generate_standard_signature(msg_id, timestamp, body, secret),
    }


def test_records_method_path_headers_and_body(receiver: Receiver) -> None:
    before = time.time()

    response = send(receiver, BODY, {"Content-Type": "application/json"}, path="/hooks/?a=1")

    [request] = receiver.wait_for(1)
    assert response.status == 200
    assert (request.number, request.method, request.path) == (1, "POST", "/hooks/?a=1")
    assert request.header("content-type") == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == BODY
    assert request.json() == {"event": "created", "data": {"id": 1}}
    assert before <= request.received_at <= time.time()
    assert request.status == 200


def test_answers_with_text_and_content_length(receiver: Receiver) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    connection.request("POST", "/", body=b"x")
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert body == b"Webhook received!\n"
    assert response.getheader("Content-Length") == str(len(body))


def test_keep_alive_serves_two_requests_over_one_connection(receiver: Receiver) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    try:
        connection.request("POST", "/one", body=b"1")
        first = connection.getresponse()
        first.read()
        first_socket = connection.sock
        connection.request("POST", "/two", body=b"2")
        second = connection.getresponse()
        second.read()
        assert connection.sock is first_socket
    finally:
        connection.close()

    assert (first.status, second.status) == (200, 200)
    assert [r.path for r in receiver.wait_for(2)] == ["/one", "/two"]


def test_reads_chunked_request_bodies(receiver: Receiver) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    try:
        connection.request("POST", "/", body=iter([b"hello ", b"world"]), encode_chunked=True)
        connection.getresponse().read()
        connection.request("POST", "/after", body=b"next")
        assert connection.getresponse().read() == b"Webhook received!\n"
    finally:
        connection.close()

    assert [r.body for r in receiver.wait_for(2)] == [b"hello world", b"next"]


def test_malformed_chunked_body_is_answered_400(receiver: Receiver) -> None:
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        answer = sock.recv(1024)

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert receiver.requests == []


def test_scripted_responses_are_used_in_order_then_the_default(receiver: Receiver) -> None:
    receiver.set_responses([503, 503, 200])
    receiver.set_status(202)

    statuses = [send(receiver, b"{}").status for _ in range(4)]

    assert statuses == [503, 503, 200, 202]
    assert [r.status for r in receiver.wait_for(4)] == [503, 503, 200, 202]


def test_scripted_tuple_adds_response_headers_such_as_retry_after(receiver: Receiver) -> None:
    receiver.set_responses([(503, {"Retry-After": "7"})])

    first, second = send(receiver), send(receiver)

    assert (first.status, first.getheader("Retry-After")) == (503, "7")
    assert (second.status, second.getheader("Retry-After")) == (200, None)


def test_error_answers_carry_a_short_error_text(receiver: Receiver) -> None:
    receiver.set_responses([503, 599])
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    try:
        bodies = []
        for _ in range(2):
            connection.request("POST", "/", body=b"{}")
            bodies.append(connection.getresponse().read())
    finally:
        connection.close()

    assert bodies == [b"503 Service Unavailable\n", b"599 Error\n"]


def test_204_is_answered_without_a_body_and_keeps_the_connection_usable() -> None:
    with Receiver(status=204) as receiver:
        connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
        try:
            statuses = []
            for _ in range(2):
                connection.request("POST", "/", body=b"{}")
                response = connection.getresponse()
                assert response.read() == b""
                statuses.append(response.status)
        finally:
            connection.close()

    assert statuses == [204, 204]


@pytest.mark.parametrize(("fail_rate", "expected"), [(1.0, 503), (0.0, 200)])
def test_fail_rate_one_always_fails_and_zero_never(fail_rate: float, expected: int) -> None:
    with Receiver(fail_rate=fail_rate) as receiver:
        statuses = {send(receiver).status for _ in range(10)}

    assert statuses == {expected}


def test_fail_rate_is_reproducible_with_a_seed() -> None:
    outcomes = []
    for _ in range(2):
        with Receiver(fail_rate=0.5, seed=42) as receiver:
            outcomes.append([send(receiver).status for _ in range(12)])

    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 503}


def test_delay_delays_answers_without_blocking_other_connections() -> None:
    with Receiver(delay=0.5) as receiver, ThreadPoolExecutor(max_workers=2) as pool:

        def timed_send() -> float:
            started = time.monotonic()
            send(receiver)
            return time.monotonic() - started

        started = time.monotonic()
        durations = list(pool.map(lambda _: timed_send(), range(2)))
        total = time.monotonic() - started

    assert min(durations) >= 0.5
    assert total < 0.9


def test_set_delay_changes_the_delay_of_later_requests(receiver: Receiver) -> None:
    receiver.set_delay(0.3)
    started = time.monotonic()
    send(receiver)

    assert time.monotonic() - started >= 0.3


def test_wait_for_raises_a_clear_assertion_on_timeout(receiver: Receiver) -> None:
    send(receiver, path="/only")

    expected = r"Expected 2 request\(s\) .* within 0.1s, received 1: POST /only -> 200"
    with pytest.raises(AssertionError, match=expected) as info:
        receiver.wait_for(2, timeout=0.1)
    assert isinstance(info.value, TimeoutError)


def test_clear_forgets_requests_but_numbering_continues(receiver: Receiver) -> None:
    send(receiver)
    receiver.wait_for(1)
    receiver.clear()
    send(receiver)

    [request] = receiver.wait_for(1)
    assert request.number == 2
    assert receiver.received_count == 1


def test_keep_false_counts_requests_without_recording_them() -> None:
    with Receiver(keep=False) as receiver:
        send(receiver)
        send(receiver)

        assert receiver.wait_for(2) == []
        assert receiver.received_count == 2


def test_stop_is_idempotent_closes_keep_alive_connections_and_frees_the_port() -> None:
    receiver = Receiver().start()
    connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
    connection.request("GET", "/")
    connection.getresponse().read()
    port = receiver.port

    started = time.monotonic()
    receiver.stop()
    receiver.stop()
    connection.close()

    assert time.monotonic() - started < 2
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_forever_returns_when_stopped_from_another_thread() -> None:
    receiver = Receiver()
    receiver.bind()
    server = threading.Thread(target=receiver.serve_forever)
    server.start()

    assert send(receiver).status == 200
    receiver.stop()
    server.join(timeout=5)
    assert not server.is_alive()


def test_url_and_port_name_the_bound_loopback_address(receiver: Receiver) -> None:
    assert receiver.port > 0
    assert receiver.url == f"http://127.0.0.1:{receiver.port}/"


def test_serves_ipv6_loopback_when_available() -> None:
    try:
        receiver = Receiver(host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with receiver:
        connection = http.client.HTTPConnection("::1", receiver.port, timeout=5)
        connection.request("GET", "/v6")
        assert connection.getresponse().status == 200
        connection.close()

    assert receiver.url == f"http://[::1]:{receiver.port}/"


@pytest.mark.parametrize(
    ("name", "value"),
    [("fail_rate", 1.5), ("fail_rate", -0.1), ("status", 99), ("status", 600), ("delay", -1)],
)
def test_invalid_settings_are_rejected(name: str, value: float) -> None:
    settings: dict[str, Any] = {name: value}
    with pytest.raises(ValueError, match=f"{name} must be"):
        Receiver(**settings)


def test_invalid_scripted_status_is_rejected(receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="status must be between 100 and 599"):
        receiver.set_responses([200, (700, {})])


def hook_signature_request(receiver: Receiver, signature: str | None) -> ReceivedRequest:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    send(receiver, BODY, headers)
    return receiver.wait_for(1)[-1]


def test_hook_signature_is_valid_when_made_with_the_secret(signed_receiver: Receiver) -> None:
    request = hook_signature_request(signed_receiver, generate_signature(BODY, SECRET))

    assert request.signature_valid is True
    assert request.standard_signature_valid is None


def test_hook_signature_is_invalid_when_made_with_another_secret(signed_receiver: Receiver) -> None:
    request = hook_signature_request(signed_receiver, generate_signature(BODY, "other"))

    assert request.signature_valid is False


def test_hook_signature_is_none_when_missing(signed_receiver: Receiver) -> None:
    assert hook_signature_request(signed_receiver, None).signature_valid is None


def test_signatures_are_not_checked_without_a_secret() -> None:
    with Receiver() as receiver:
        headers = {SIGNATURE_HEADER: "nonsense", **standard_headers(BODY)}
        send(receiver, BODY, headers)
        [request] = receiver.wait_for(1)

    assert (request.signature_valid, request.standard_signature_valid) == (None, None)


def test_standard_signature_is_valid_and_accepted_by_the_standardwebhooks_library(
    signed_receiver: Receiver,
) -> None:
    headers = standard_headers(BODY)
    StdWebhook(standard_secret(SECRET)).verify(BODY, headers)

    send(signed_receiver, BODY, {"Content-Type": "application/json", **headers})

    [request] = signed_receiver.wait_for(1)
    assert request.standard_signature_valid is True
    assert request.signature_valid is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: {**h, "webhook-signature": generate_standard_signature("x", 1, BODY, "other")},
        lambda h: {**h, "webhook-id": "another-id"},
        lambda h: {k: v for k, v in h.items() if k != "webhook-id"},
        lambda h: {**h, "webhook-timestamp": "yesterday"},
    ],
    ids=["other-secret", "other-id", "missing-id", "bad-timestamp"],
)
def test_standard_signature_is_invalid_when_tampered_or_incomplete(
    signed_receiver: Receiver, tamper: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    headers = tamper(standard_headers(BODY))

    send(signed_receiver, BODY, headers)

    assert signed_receiver.wait_for(1)[0].standard_signature_valid is False


def test_standard_signature_is_none_when_its_headers_are_absent(signed_receiver: Receiver) -> None:
    send(signed_receiver, BODY, {SIGNATURE_HEADER: generate_signature(BODY, SECRET)})

    assert signed_receiver.wait_for(1)[0].standard_signature_valid is None


def test_restarts_on_the_same_port_after_stop() -> None:
    receiver = Receiver().start()
    port = receiver.port
    receiver.stop()

    with receiver:
        assert receiver.port == port
        assert send(receiver).status == 200
