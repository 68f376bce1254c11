"""transport.send: the one place that sends HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from requests.models import PreparedRequest

from webhooks_app.receiver import Receiver
from webhooks_app.transport import OutgoingRequest, get_session, reset_session, send


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
