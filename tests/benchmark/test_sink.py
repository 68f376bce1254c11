"""The benchmark's receiver (demo/benchmark/sink.py): answers at once or after its delay, notes
what arrived, refuses what it does not read."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from demo.benchmark.sink import Sink


def post(url: str, body: bytes) -> requests.Response:
    """One POST on a connection of its own, as a worker sends a webhook."""
    with requests.Session() as session:
        session.trust_env = False
        headers = {"Content-Type": "application/json"}
        return session.post(f"{url}hooks", data=body, headers=headers, timeout=5)


def test_requests_are_answered_and_noted_with_their_body_and_arrival() -> None:
    with Sink(status=204) as sink:
        before = time.time()
        answers = [post(sink.url, f'{{"n": {n}}}'.encode()) for n in range(3)]
        assert [a.status_code for a in answers] == [204, 204, 204]
        assert [r.body for r in sink.requests] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
        assert all(before <= r.received_at <= time.time() for r in sink.requests)
        assert {r.path for r in sink.requests} == {"/hooks"}


def test_a_body_split_over_several_writes_is_read_whole() -> None:
    with (
        Sink(status=200, keep=True) as sink,
        socket.create_connection(("127.0.0.1", urlsplit(sink.url).port)) as client,
    ):
        client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
        time.sleep(0.05)
        client.sendall(b"56789")
        assert client.recv(1000).startswith(b"HTTP/1.1 200 OK\r\nContent-Length: 0")
        assert [r.body for r in sink.requests] == [b"0123456789"]


def test_answers_wait_for_the_delay_without_holding_up_other_requests() -> None:
    with Sink(delay=0.3) as sink, ThreadPoolExecutor(2) as senders:
        began = time.perf_counter()
        pending = [senders.submit(post, sink.url, b"{}") for _ in range(2)]
        while sink.received_count < 2:
            time.sleep(0.01)
        assert time.perf_counter() - began < 0.25  # both noted before either was answered
        assert [p.result().status_code for p in pending] == [204, 204]
        assert 0.3 <= time.perf_counter() - began < 0.55


def test_without_keep_requests_are_only_counted() -> None:
    with Sink(keep=False) as sink:
        post(sink.url, b"{}")
        assert sink.received_count == 1 and sink.requests == []


def test_a_chunked_request_is_refused() -> None:
    with Sink() as sink, requests.Session() as session:
        session.trust_env = False
        response = session.post(sink.url, data=iter([b"{}"]), timeout=5)  # chunked
        assert response.status_code == 400
        assert sink.received_count == 0
