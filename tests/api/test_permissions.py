"""Who may do what: anonymous, no permission, view only, full model permissions, staff."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.conftest import make_rule, make_webhook
from webhooks_app.models import Delivery, Webhook

from .conftest import API, make_user

pytestmark = pytest.mark.django_db

Client = Callable[..., APIClient]


@pytest.fixture
def hook() -> Webhook:
    return make_webhook("https://example.com/", name="Hook")


@pytest.fixture
def delivery(hook: Webhook) -> Delivery:
    return Delivery.objects.create(
        event_id=uuid.uuid4(),
        webhook=hook,
        object_type="inventory.site",
        event_type="object_created",
        payload={},
    )


def endpoints(hook: Webhook, delivery: Delivery) -> list[tuple[str, str]]:
    rule = make_rule(hook, name="Rule")
    return [
        ("get", f"{API}/webhooks/"),
        ("get", f"{API}/webhooks/{hook.pk}/"),
        ("post", f"{API}/webhooks/"),
        ("patch", f"{API}/webhooks/{hook.pk}/"),
        ("delete", f"{API}/webhooks/{hook.pk}/"),
        ("post", f"{API}/webhooks/{hook.pk}/test/"),
        ("post", f"{API}/webhooks/{hook.pk}/render/"),
        ("get", f"{API}/event-rules/"),
        ("patch", f"{API}/event-rules/{rule.pk}/"),
        ("get", f"{API}/deliveries/"),
        ("get", f"{API}/deliveries/{delivery.pk}/"),
        ("post", f"{API}/deliveries/{delivery.pk}/redeliver/"),
        ("get", f"{API}/background-tasks/"),
        ("get", f"{API}/background-tasks/queues/default/failed/"),
        ("post", f"{API}/background-tasks/queues/default/requeue-all/"),
    ]


def test_anonymous_requests_get_401_everywhere(hook: Webhook, delivery: Delivery) -> None:
    client = APIClient()
    for method, url in endpoints(hook, delivery):
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Token"


def test_an_invalid_token_is_a_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(f"{API}/webhooks/").status_code == 401


def test_a_user_without_permissions_gets_403_everywhere(
    client_for: Client, hook: Webhook, delivery: Delivery
) -> None:
    client = client_for()
    for method, url in endpoints(hook, delivery):
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)


def test_view_permission_reads_but_cannot_write_test_or_render(
    client_for: Client, hook: Webhook
) -> None:
    client = client_for("view_webhook")
    url = f"{API}/webhooks/{hook.pk}/"
    assert client.get(f"{API}/webhooks/").status_code == 200
    assert client.get(url).status_code == 200
    assert client.post(f"{API}/webhooks/", {"name": "n"}, format="json").status_code == 403
    assert client.patch(url, {"description": "x"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    assert client.post(f"{url}test/", {}, format="json").status_code == 403
    assert client.post(f"{url}render/", {}, format="json").status_code == 403
    assert client.get(f"{API}/event-rules/").status_code == 403


def test_each_write_needs_its_own_permission(client_for: Client, hook: Webhook) -> None:
    adder = client_for("view_webhook", "add_webhook")
    data = {"name": "New", "payload_url": "https://new.example/"}
    assert adder.post(f"{API}/webhooks/", data, format="json").status_code == 201
    assert adder.patch(f"{API}/webhooks/{hook.pk}/", {}, format="json").status_code == 403
    changer = client_for("view_webhook", "change_webhook")
    assert (
        changer.patch(f"{API}/webhooks/{hook.pk}/", {"description": "x"}, format="json").status_code
        == 200
    )
    assert changer.post(f"{API}/webhooks/{hook.pk}/render/", {}, format="json").status_code == 200
    assert changer.delete(f"{API}/webhooks/{hook.pk}/").status_code == 403
    deleter = client_for("view_webhook", "delete_webhook")
    assert deleter.delete(f"{API}/webhooks/{hook.pk}/").status_code == 204


def test_bulk_writes_need_the_same_permissions(client_for: Client, hook: Webhook) -> None:
    viewer = client_for("view_webhook")
    assert viewer.patch(f"{API}/webhooks/", [{"id": hook.pk}], format="json").status_code == 403
    assert viewer.delete(f"{API}/webhooks/", [{"id": hook.pk}], format="json").status_code == 403
    assert Webhook.objects.filter(pk=hook.pk).exists()


def test_redeliver_needs_the_change_permission_on_deliveries(
    client_for: Client, delivery: Delivery
) -> None:
    url = f"{API}/deliveries/{delivery.pk}/redeliver/"
    viewer = client_for("view_delivery")
    assert viewer.get(f"{API}/deliveries/{delivery.pk}/").status_code == 200
    assert viewer.post(url).status_code == 403
    assert client_for("view_delivery", "change_webhook").post(url).status_code == 403


def test_deliveries_are_read_only_even_with_every_permission(
    api: APIClient, delivery: Delivery
) -> None:
    url = f"{API}/deliveries/{delivery.pk}/"
    assert api.delete(url).status_code == 405
    assert api.patch(url, {}, format="json").status_code == 405
    assert api.post(f"{API}/deliveries/", {}, format="json").status_code == 405


def test_background_tasks_follow_the_delivery_permissions_not_staff_status(
    api: APIClient, staff_api: APIClient, client_for: Client
) -> None:
    """See tests/api/test_background_tasks.py for every endpoint with each kind of user."""
    assert api.get(f"{API}/background-tasks/").status_code == 200  # every model permission
    assert staff_api.get(f"{API}/background-tasks/").status_code == 403  # staff, no permission
    assert client_for("view_delivery").get(f"{API}/background-tasks/").status_code == 200
    url = f"{API}/background-tasks/queues/default/requeue-all/"
    assert client_for("view_delivery").post(url).status_code == 403


def test_session_authentication_reads_and_needs_csrf_to_write(hook: Webhook) -> None:
    user: User = make_user("view_webhook", "change_webhook", username="browser")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(f"{API}/webhooks/").status_code == 200
    response = client.patch(f"{API}/webhooks/{hook.pk}/", {"description": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
