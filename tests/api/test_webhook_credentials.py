"""The webhook's credentials over REST: write-only secret headers and client key (with their
``*_set``), the client certificate, generating a secret (shown in that answer only), the
previous secret's expiry (never the value) and ending the overlap. No answer ever contains a
secret, a previous secret, a secret header's value or a key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from tests.conftest import make_webhook
from tests.tls_server import Authority, Issued
from webhooks_app.models import Webhook

from .conftest import API

pytestmark = pytest.mark.django_db

URL = f"{API}/webhooks/"
TOKEN = "tok-4b1e-bearer-value"


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Issued, Issued]:
    authority = Authority(tmp_path_factory.mktemp("ca"))
    return authority.client("client-1"), authority.client("client-2")


class Answers:
    """Every answer's body, to check at the end that no credential was ever in one."""

    def __init__(self, api: APIClient) -> None:
        self.api = api
        self.bodies: list[bytes] = []

    def __call__(self, method: str, url: str, data: Any = None) -> Any:
        response = getattr(self.api, method)(url, data, format="json")
        self.bodies.append(response.content)
        return response

    def never_held(self, *values: str) -> None:
        for body in self.bodies:
            for value in values:
                assert value.encode() not in body


@pytest.fixture
def answers(api: APIClient) -> Iterator[Answers]:
    yield Answers(api)


def test_secret_headers_are_write_only_and_kept_unless_written(answers: Answers) -> None:
    created = answers(
        "post",
        URL,
        {
            "name": "Hook",
            "payload_url": "https://example.com/",
            "secret_headers": f"Authorization: Bearer {TOKEN}",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret_headers_set"] is True and "secret_headers" not in body
    url = f"{URL}{body['id']}/"
    read = answers("get", url).json()
    written = {k: v for k, v in read.items() if k not in ("id", "url", "display")}
    assert answers("put", url, written).status_code == 200
    assert Webhook.objects.get().secret_headers == f"Authorization: Bearer {TOKEN}"
    assert answers("patch", url, {"secret_headers": ""}).json()["secret_headers_set"] is False
    answers("get", URL)
    answers.never_held(TOKEN)


@pytest.mark.parametrize(
    ("secret_headers", "message"),
    [
        (f"X Api {TOKEN}: 1", "Line 1: A header name is not a valid HTTP header name"),
        (f"X-Key: {TOKEN}\u6771", "Line 1: Header X-Key: value cannot be sent"),
        (f"X-Key: {{{{ '{TOKEN}' }}}}\n{{% for %}}", "Invalid template (line 2); the details"),
        ("Content-Length: 5", "set by the sender"),
    ],
)
def test_invalid_secret_headers_are_refused_without_quoting_them(
    answers: Answers, secret_headers: str, message: str
) -> None:
    data = {"name": "Bad", "payload_url": "https://e.example/", "secret_headers": secret_headers}
    response = answers("post", URL, data)
    assert response.status_code == 400
    assert message in " ".join(response.json()["secret_headers"])
    answers.never_held(TOKEN, "\u6771")


def test_generate_secret_answers_the_secret_once(answers: Answers) -> None:
    created = answers(
        "post",
        URL,
        {"name": "Gen", "payload_url": "https://e.example/", "generate_secret": True},
    )
    assert created.status_code == 201, created.content
    generated = created.json()["generated_secret"]
    assert len(generated) == 43 and created.json()["secret_set"] is True
    answers.bodies.clear()  # that answer, and no other, holds it
    webhook = Webhook.objects.get()
    assert webhook.secret == generated
    url = f"{URL}{webhook.pk}/"
    assert answers("get", url).json()["generated_secret"] is None
    # With Standard Webhooks, a whsec_ secret; the one it replaced stays valid for the overlap.
    again = answers("patch", url, {"generate_secret": True, "standard_webhooks": True}).json()
    assert again["generated_secret"].startswith("whsec_")
    assert again["previous_secret_expires_at"] is not None
    assert Webhook.objects.get().previous_secret == generated
    answers.bodies.clear()
    for method in ("get", "patch"):
        assert answers(method, url, {}).json()["generated_secret"] is None
    answers("get", URL)
    answers.never_held(generated, again["generated_secret"])


def test_generate_secret_and_a_secret_together_are_refused(api: APIClient) -> None:
    data = {"name": "G", "payload_url": "https://e.example/", "generate_secret": True}
    response = api.post(URL, {**data, "secret": "x"}, format="json")
    assert response.status_code == 400 and "not both" in response.json()["generate_secret"][0]


def test_bulk_creation_generates_one_secret_per_webhook(api: APIClient) -> None:
    items = [
        {"name": f"G{n}", "payload_url": "https://e.example/", "generate_secret": True}
        for n in range(2)
    ]
    response = api.post(URL, items, format="json")
    assert response.status_code == 201, response.content
    secrets = [item["generated_secret"] for item in response.json()]
    assert len(set(secrets)) == 2
    assert sorted(w.secret for w in Webhook.objects.all()) == sorted(secrets)


def test_previous_secret_expiry_is_shown_and_the_overlap_can_be_ended(answers: Answers) -> None:
    hook = make_webhook("https://e.example/", name="Rot", secret="old-value-1")
    url = f"{URL}{hook.pk}/"
    assert answers("get", url).json()["previous_secret_expires_at"] is None
    before = timezone.now()
    # The overlap written in the same request applies to this change.
    rotated = answers("patch", url, {"secret": "new-value-2", "secret_overlap_hours": 2}).json()
    assert rotated["secret_overlap_hours"] == 2
    expires = parse_datetime(rotated["previous_secret_expires_at"])
    assert expires is not None
    assert before + timedelta(hours=2) <= expires <= timezone.now() + timedelta(hours=2)
    assert Webhook.objects.get().previous_secret == "old-value-1"
    ended = answers("patch", url, {"end_secret_overlap": True}).json()
    assert ended["previous_secret_expires_at"] is None
    assert Webhook.objects.get().previous_secret == ""
    # Ending the overlap in the request that changes the secret: the old one ends at once.
    answers("patch", url, {"secret": "new-value-3", "end_secret_overlap": True})
    assert Webhook.objects.get().previous_secret == ""
    answers.never_held("old-value-1", "new-value-2", "new-value-3")


def test_an_overlap_of_zero_hours_keeps_no_previous_secret(api: APIClient) -> None:
    hook = make_webhook("https://e.example/", name="Z", secret="a", secret_overlap_hours=0)
    answer = api.patch(f"{URL}{hook.pk}/", {"secret": "b"}, format="json").json()
    assert answer["previous_secret_expires_at"] is None
    response = api.patch(f"{URL}{hook.pk}/", {"secret_overlap_hours": -1}, format="json")
    assert response.status_code == 400 and "secret_overlap_hours" in response.json()


def test_client_certificate_is_readable_and_the_key_write_only(
    answers: Answers, issued: tuple[Issued, Issued]
) -> None:
    client, other = issued
    created = answers(
        "post",
        URL,
        {
            "name": "mTLS",
            "payload_url": "https://127.0.0.1:9/",
            "client_certificate": client.certificate,
            "client_key": client.key,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["client_certificate"] == client.certificate.strip()
    assert body["client_key_set"] is True
    url = f"{URL}{body['id']}/"
    read = answers("get", url).json()
    written = {k: v for k, v in read.items() if k not in ("id", "url", "display")}
    assert answers("put", url, written).status_code == 200  # the key is kept
    assert Webhook.objects.get().client_key == client.key
    # Another certificate with the stored key: refused, naming the key.
    mismatch = answers("patch", url, {"client_certificate": other.certificate})
    assert mismatch.status_code == 400 and "does not belong" in mismatch.json()["client_key"][0]
    cleared = answers("patch", url, {"client_certificate": "", "client_key": ""})
    assert cleared.status_code == 200 and cleared.json()["client_key_set"] is False
    answers.never_held(client.key.splitlines()[1], other.key.splitlines()[1])


def test_a_key_without_a_certificate_or_the_reverse_is_refused(
    answers: Answers, issued: tuple[Issued, Issued]
) -> None:
    client, _ = issued
    base = {"name": "Half", "payload_url": "https://e.example/"}
    only_key = answers("post", URL, {**base, "client_key": client.key})
    assert only_key.status_code == 400
    assert "needs its certificate" in only_key.json()["client_certificate"][0]
    only_cert = answers("post", URL, {**base, "client_certificate": client.certificate})
    assert only_cert.status_code == 400
    assert "needs its private key" in only_cert.json()["client_key"][0]
    garbage = answers("post", URL, {**base, "client_certificate": "x", "client_key": "y-" + TOKEN})
    assert garbage.status_code == 400 and set(garbage.json()) == {
        "client_certificate",
        "client_key",
    }
    answers.never_held(client.key.splitlines()[1], TOKEN)


def test_render_shows_secret_headers_as_hidden(api: APIClient) -> None:
    hook = make_webhook("https://e.example/", secret_headers=f"X-Api-Key: {TOKEN}")
    response = api.post(f"{URL}{hook.pk}/render/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["headers"]["X-Api-Key"] == "[hidden]"
    assert TOKEN.encode() not in response.content
