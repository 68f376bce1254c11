"""The request middleware: a request id, and the request's jobs queued before its response is
returned (or saved to the outbox if Redis refuses them, the response unchanged)."""

from __future__ import annotations

import uuid
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


def creating(name: str, response: Callable[[], HttpResponse] = HttpResponse) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        Site.objects.create(name=name, slug=name.lower())
        return response()

    return view


def through_middleware(view: Any) -> HttpResponse:
    return WebhooksMiddleware(view)(RequestFactory().post("/sites/"))


def queued_names(queue: Queue) -> list[str]:
    return [d["context"]["data"]["name"] for job in queued_deliveries(queue) for d in job]


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


def test_the_jobs_are_queued_when_the_response_is_returned(
    queue: Queue, site_rule: EventRule
) -> None:
    response = through_middleware(creating("Early"))
    assert queued_names(queue) == ["Early"]
    assert not OutboxEntry.objects.exists()
    [delivery] = queued_deliveries(queue)[0]
    assert delivery["context"]["request_id"] == response[REQUEST_ID_HEADER]
    assert uuid.UUID(response[REQUEST_ID_HEADER]).version == 4


def test_jobs_redis_refuses_are_in_the_outbox_when_the_response_is_returned(
    queue: Queue, site_rule: EventRule, redis_full: None, caplog: Any
) -> None:
    response = through_middleware(creating("Refused"))
    assert response.status_code == 200
    assert queue.count == 0
    [entry] = OutboxEntry.objects.all()
    assert entry.job["deliveries"][0]["context"]["data"]["name"] == "Refused"
    assert "maxmemory" in caplog.text and "saved to the outbox" in caplog.text


def test_with_redis_down_the_jobs_are_in_the_outbox_and_the_response_is_unchanged(
    queue: Queue, site_rule: EventRule, redis_down: None
) -> None:
    response = through_middleware(creating("Offline"))
    assert response.status_code == 200
    [entry] = OutboxEntry.objects.all()
    assert entry.job["deliveries"][0]["context"]["data"]["name"] == "Offline"


def test_refused_jobs_are_relayed_once_redis_takes_writes_again(
    client: Redis, queue: Queue, site_rule: EventRule, redis_full: None
) -> None:
    through_middleware(creating("Later"))
    client.config_set("maxmemory", 0)
    assert relay_outbox() == 1
    assert queued_names(queue) == ["Later"]


def test_a_streaming_response_gets_its_jobs_queued_the_same_way(
    queue: Queue, site_rule: EventRule
) -> None:
    response = through_middleware(creating("Stream", lambda: StreamingHttpResponse(iter([b"x"]))))
    assert queued_names(queue) == ["Stream"]
    assert response.has_header(REQUEST_ID_HEADER)
    response.close()


def test_a_view_that_raises_after_committing_still_queues_its_jobs(
    queue: Queue, site_rule: EventRule
) -> None:
    def broken() -> HttpResponse:
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        through_middleware(creating("Committed", broken))
    assert queued_names(queue) == ["Committed"]


def test_a_request_without_changes_queues_nothing(queue: Queue, site_rule: EventRule) -> None:
    response = through_middleware(lambda request: HttpResponse())
    assert response.has_header(REQUEST_ID_HEADER)
    assert queue.count == 0


def test_over_a_real_http_server_the_job_is_queued_when_the_client_has_the_response(
    live_server: Any, queue: Queue, site_rule: EventRule, admin_user: Any
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
    assert queued_names(queue) == ["Served"]
    [delivery] = queued_deliveries(queue)[0]
    assert delivery["context"]["request_id"] == response.headers[REQUEST_ID_HEADER]
    assert delivery["context"]["username"] == admin_user.get_username()
    assert not OutboxEntry.objects.exists()
