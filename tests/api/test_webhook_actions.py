"""``webhooks/{id}/test/`` (a real send to a real receiver) and ``webhooks/{id}/render/``."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from demo.inventory.models import Site
from tests.conftest import make_webhook
from webhooks_app.models import Delivery, Webhook
from webhooks_app.receiver import Receiver
from webhooks_app.signing import generate_signature

from .conftest import API

pytestmark = pytest.mark.django_db
# Test sends deliver for real: those tests commit, as in production.
delivers = pytest.mark.django_db(transaction=True)


def action_url(hook: Webhook, name: str) -> str:
    return f"{API}/webhooks/{hook.pk}/{name}/"


@delivers
def test_test_sends_the_object_to_the_receiver_and_reports_success(
    api: APIClient, receiver: Receiver, webhook: Webhook
) -> None:
    site = Site.objects.create(name="Lyon", slug="lyon")
    data = {"object_type": "inventory.site", "object_id": site.pk, "event_type": "object_updated"}
    response = api.post(action_url(webhook, "test"), data, format="json")
    assert response.status_code == 200, response.content
    [request] = receiver.wait_for(1)
    assert request.json()["event"] == "updated" and request.json()["data"]["name"] == "Lyon"
    assert request.json()["username"] == "full"
    assert request.signature_valid is True
    body = response.json()
    assert (body["state"], body["outcome"], body["status_code"]) == ("succeeded", "succeeded", 200)
    assert body["error"] == "" and body["duration_ms"] >= 0
    assert body["request"]["method"] == "POST" and body["request"]["url"] == receiver.url
    assert body["request"]["headers"]["X-Hook-Signature"] == request.header("X-Hook-Signature")
    assert json.loads(body["request"]["body"]) == request.json()
    assert body["response"]["status"] == 200
    assert body["response"]["body"] == "Webhook received!\n"
    logged = Delivery.objects.get(pk=body["delivery_id"])
    assert logged.object_id == str(site.pk) and logged.event_rule is None


@delivers
def test_test_without_an_object_sends_a_synthetic_one(
    api: APIClient, receiver: Receiver, webhook: Webhook
) -> None:
    response = api.post(action_url(webhook, "test"), format="json")
    assert response.status_code == 200, response.content
    [request] = receiver.wait_for(1)
    assert request.json()["event"] == "created"
    assert request.json()["data"]["display"] == "Sample object"


@delivers
def test_test_reports_a_failing_receiver(
    api: APIClient, receiver: Receiver, webhook: Webhook
) -> None:
    receiver.set_status(400)
    body = api.post(action_url(webhook, "test"), {}, format="json").json()
    assert len(receiver.requests) == 1
    assert (body["state"], body["outcome"], body["status_code"]) == ("failed", "failed", 400)
    assert body["error"].startswith("Status 400")
    assert body["response"]["status"] == 400


@delivers
def test_test_reports_an_unreachable_receiver_without_a_response(api: APIClient) -> None:
    hook = make_webhook("http://127.0.0.1:1/", name="Nobody")
    body = api.post(action_url(hook, "test"), {}, format="json").json()
    assert body["outcome"] == "retryable" and body["state"] == "failed"
    assert body["status_code"] is None and body["response"] is None
    assert "Connection failed" in body["error"]


def test_render_returns_exactly_what_would_be_sent_without_sending(
    api: APIClient, receiver: Receiver
) -> None:
    hook = make_webhook(
        receiver.url + "{{ data.slug }}",
        name="Templated",
        secret="s3cret",
        additional_headers="X-Site: {{ data.name | header_safe }}",
    )
    site = Site.objects.create(name="Nice", slug="nice")
    data = {
        "object_type": "inventory.site",
        "object_id": str(site.pk),
        "event_type": "object_deleted",
    }
    response = api.post(action_url(hook, "render"), data, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == ["method", "url", "headers", "body"]
    assert body["method"] == "POST" and body["url"] == receiver.url + "nice"
    assert body["headers"]["X-Site"] == "Nice"
    assert body["headers"]["X-Hook-Signature"] == generate_signature(
        body["body"].encode(), "s3cret"
    )
    assert json.loads(body["body"])["event"] == "deleted"
    assert receiver.requests == []
    assert not Delivery.objects.exists()


def test_render_of_a_broken_template_is_a_400_with_the_line(api: APIClient) -> None:
    # Stored without validation, as an older version or a data migration could have.
    hook = Webhook.objects.create(
        name="Broken", payload_url="https://example.com/", body_template='{"a": 1,\n {% if %}}'
    )
    response = api.post(action_url(hook, "render"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Error rendering body (line 2)")


def test_render_of_a_template_failing_at_run_time_is_a_400(api: APIClient) -> None:
    hook = make_webhook("https://example.com/", name="Divides", body_template="{{ 1 / 0 }}")
    response = api.post(action_url(hook, "render"), {}, format="json")
    assert response.status_code == 400
    assert "ZeroDivisionError" in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"object_type": "inventory.site", "object_id": "424242"},
            "object_id",
            "No inventory.site with id '424242'.",
        ),
        (
            {"object_type": "inventory.site", "object_id": "abc"},
            "object_id",
            "No inventory.site with id 'abc'.",
        ),
        (
            {"object_type": "inventory.site", "object_id": str(10**30)},
            "object_id",
            "No inventory.site",
        ),
        ({"object_type": "inventory.site"}, "object_id", "Give the object's id too."),
        ({"object_id": "1"}, "object_type", "Give the object's type too."),
        (
            {"object_type": "auth.user", "object_id": "1"},
            "object_type",
            "'auth.user' is not a model registered for webhooks",
        ),
        ({"object_type": "site", "object_id": "1"}, "object_type", "Specify an object type"),
        ({"event_type": "object_renamed"}, "event_type", "not a valid choice"),
        ({"object_id": ["1"]}, "object_id", "Not a valid string"),
    ],
)
@pytest.mark.parametrize("name", ["test", "render"])
def test_invalid_sample_input_is_a_400_naming_the_field(
    api: APIClient,
    receiver: Receiver,
    webhook: Webhook,
    name: str,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = api.post(action_url(webhook, name), data, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert receiver.requests == []


def test_unknown_webhook_is_a_404(api: APIClient) -> None:
    assert api.post(f"{API}/webhooks/424242/test/", {}, format="json").status_code == 404
    assert api.post(f"{API}/webhooks/424242/render/", {}, format="json").status_code == 404
