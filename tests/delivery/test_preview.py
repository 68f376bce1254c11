"""Previews (the API's render endpoint) and test sends of requests that cannot be sent: the
reason the worker logs, never a server error."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from demo.inventory.models import Site
from tests.api.conftest import make_user, token_client
from tests.conftest import make_webhook
from tests.delivery.test_poisoned_deliveries import POISONS
from webhooks_app.delivery.preview import preview_request
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api() -> APIClient:
    return token_client(make_user("change_webhook", "view_webhook", username="editor"))


@pytest.mark.parametrize(("fields", "site_name", "reason"), POISONS)
def test_render_and_test_answer_with_the_reason(
    api: APIClient, receiver: Receiver, fields: dict[str, str], site_name: str, reason: str
) -> None:
    hook = make_webhook(receiver.url, name="Poisoned", **fields)
    site = Site.objects.create(name=site_name, slug="tokyo")
    sample = {"object_type": "inventory.site", "object_id": site.pk}
    url = f"/api/webhooks/webhooks/{hook.pk}"

    rendered = api.post(f"{url}/render/", sample, format="json")
    assert (rendered.status_code, rendered.json()) == (400, {"detail": reason})

    tested = api.post(f"{url}/test/", sample, format="json")
    assert tested.status_code == 400  # nothing could be sent: the reason in detail
    assert reason in tested.json().values()
    assert receiver.requests == []
    assert Delivery.objects.get().last_error == reason


def test_a_preview_renders_exactly_what_the_worker_would_send(receiver: Receiver) -> None:
    hook = make_webhook(
        receiver.url + "{{ data.slug }}",
        secret="s3cret",
        additional_headers="X-Name: {{ data.name }}",
        body_template="{{ data.name }}",
    )
    preview = preview_request(hook, Site.objects.create(name="Lyon", slug="lyon"))
    assert preview.error is None and preview.request is not None
    assert preview.request.url == receiver.url + "lyon"
    assert preview.request.headers["X-Name"] == "Lyon"
    assert preview.body_text == "Lyon"
