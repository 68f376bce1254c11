"""The request middleware: a request's jobs are in Redis before its response is returned, and
Redis's answer is read when the response is closed (refused jobs go to the outbox then)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from redis import Redis
from rest_framework.authtoken.models import Token
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import queued_deliveries
from webhooks_app.capture.middleware import REQUEST_ID_HEADER, WebhooksMiddleware
from webhooks_app.dispatch.enqueue import get_queue, relay_outbox
from webhooks_app.models import EventRule, OutboxEntry

pytestmark = pytest.mark.django_db(transaction=True)


def connections_in_use(client: Redis) -> int:
    return len(client.connection_pool._in_use_connections)  # type: ignore[attr-defined]


def creating(name: str, response: Callable[[], HttpResponse] = HttpResponse) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        Site.objects.create(name=name, slug=name.lower())
        return response()

    return view


def through_middleware(view: Any) -> HttpResponse:
    return WebhooksMiddleware(view)(RequestFactory().post("/sites/"))


@pytest.fixture
def client(queue: Queue) -> Redis:
    return get_queue().connection


@pytest.fixture
def redis_full(client: Redis) -> Iterator[None]:
    """Redis refusing every write (out of memory, no eviction), as after a full disk of RAM."""
    before = client.config_get("maxmemory*")
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)
    try:
        yield
    finally:
        client.config_set("maxmemory", before["maxmemory"])
        client.config_set("maxmemory-policy", before["maxmemory-policy"])


def test_the_jobs_are_queued_before_the_response_is_returned_and_confirmed_on_close(
    client: Redis, queue: Queue, site_rule: EventRule
) -> None:
    response = through_middleware(creating("Early"))
    assert [d[0]["context"]["data"]["name"] for d in queued_deliveries(queue)] == ["Early"]
    assert connections_in_use(client) == 1  # Redis's answer not read yet
    assert response.has_header(REQUEST_ID_HEADER)
    response.close()
    assert connections_in_use(client) == 0
    assert not OutboxEntry.objects.exists()


def test_jobs_redis_refuses_are_saved_to_the_outbox_when_the_response_closes(
    client: Redis, queue: Queue, site_rule: EventRule, redis_full: None, caplog: Any
) -> None:
    response = through_middleware(creating("Refused"))
    assert queue.count == 0 and not OutboxEntry.objects.exists()
    response.close()
    [entry] = OutboxEntry.objects.all()
    assert entry.job["deliveries"][0]["context"]["data"]["name"] == "Refused"
    assert "maxmemory" in caplog.text and "saved to the outbox" in caplog.text
    assert connections_in_use(client) == 0


def test_refused_jobs_are_relayed_once_redis_takes_writes_again(
    client: Redis, queue: Queue, site_rule: EventRule, redis_full: None
) -> None:
    through_middleware(creating("Later")).close()
    client.config_set("maxmemory", 0)
    assert relay_outbox() == 1
    assert [d[0]["context"]["data"]["name"] for d in queued_deliveries(queue)] == ["Later"]


def test_a_streaming_response_is_confirmed_before_it_is_returned(
    client: Redis, queue: Queue, site_rule: EventRule
) -> None:
    response = through_middleware(creating("Stream", lambda: StreamingHttpResponse(iter([b"x"]))))
    assert queue.count == 1
    assert connections_in_use(client) == 0
    response.close()


def test_a_view_that_raises_after_committing_still_queues_and_confirms(
    client: Redis, queue: Queue, site_rule: EventRule
) -> None:
    def broken() -> HttpResponse:
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        through_middleware(creating("Committed", broken))
    assert queue.count == 1
    assert connections_in_use(client) == 0


def test_a_request_without_changes_holds_no_connection(client: Redis, queue: Queue) -> None:
    response = through_middleware(lambda request: HttpResponse())
    assert connections_in_use(client) == 0
    response.close()
    assert queue.count == 0


def test_over_a_real_http_server_the_job_is_queued_and_the_connection_given_back(
    live_server: Any, client: Redis, queue: Queue, site_rule: EventRule, admin_user: Any
) -> None:
    token = Token.objects.create(user=admin_user)
    with requests.Session() as http:
        http.trust_env = False
        response = http.post(
            f"{live_server.url}/api/inventory/sites/",
            json={"name": "Served", "slug": "served"},
            headers={"Authorization": f"Token {token.key}"},
            timeout=10,
        )
    assert response.status_code == 201
    assert [d[0]["context"]["data"]["name"] for d in queued_deliveries(queue)] == ["Served"]
    deadline = time.monotonic() + 5  # the server closes the response after writing it
    while connections_in_use(client) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connections_in_use(client) == 0
    assert not OutboxEntry.objects.exists()
