"""Webhook admin, credentials: write-only secret headers and client key (never rendered back,
not even on a form with errors), the client certificate, a generated secret shown once, the
previous secret's expiry and ending the overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import make_webhook
from tests.tls_server import Authority, Issued
from webhooks_app.models import Webhook

from .test_webhooks import ADD_URL, change_url, field_errors, form_data

pytestmark = pytest.mark.django_db

TOKEN = "tok-77aa-admin-bearer"


@pytest.fixture
def client_cert(tmp_path: Path) -> Issued:
    return Authority(tmp_path).client("admin-client")


def test_secret_headers_are_saved_never_shown_and_can_be_cleared(admin_client: Client) -> None:
    response = admin_client.post(
        ADD_URL, form_data(secret_headers=f"Authorization: Bearer {TOKEN}")
    )
    assert response.status_code == 302
    webhook = Webhook.objects.get()
    assert webhook.secret_headers == f"Authorization: Bearer {TOKEN}"
    page = admin_client.get(change_url(webhook)).content.decode()
    assert TOKEN not in page
    assert 'placeholder="Secret headers are set (hidden)"' in page
    assert 'name="clear_secret_headers"' in page
    # Saving without typing keeps them; the clear checkbox removes them.
    assert admin_client.post(change_url(webhook), form_data()).status_code == 302
    assert Webhook.objects.get().secret_headers == f"Authorization: Bearer {TOKEN}"
    admin_client.post(change_url(webhook), form_data(clear_secret_headers="on"))
    assert Webhook.objects.get().secret_headers == ""


def test_a_form_with_errors_never_shows_the_typed_credentials(
    admin_client: Client, client_cert: Issued
) -> None:
    response = admin_client.post(
        ADD_URL,
        form_data(
            payload_url="ftp://wrong",
            secret=TOKEN + "-s",
            secret_headers=f"X Bad {TOKEN}: 1",
            client_key=client_cert.key,
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert TOKEN not in page and client_cert.key.splitlines()[1] not in page
    assert field_errors(response, "secret_headers") == [
        "Line 1: A header name is not a valid HTTP header name (a name is letters, digits and "
        "!#$%&'*+-.^_`|~)."
    ]
    # The key without a certificate: named, without quoting it.
    assert field_errors(response, "client_certificate") == ["A client key needs its certificate."]


def test_a_generated_secret_is_shown_once_on_the_page_answering_the_save(
    admin_client: Client,
) -> None:
    webhook = make_webhook("https://hooks.example.com/in", name="Orders", secret="old-one")
    response = admin_client.post(change_url(webhook), form_data(generate_secret="on"))
    assert response.status_code == 200  # not a redirect: the secret is in no message
    assert "no-store" in response["Cache-Control"]
    generated = Webhook.objects.get().secret
    assert generated != "old-one" and len(generated) == 43
    page = response.content.decode()
    assert f'<code class="webhooks-break" id="generated-secret">{generated}</code>' in page
    assert 'id="generated-secret-overlap"' in page  # the old one stays valid meanwhile
    assert Webhook.objects.get().previous_secret == "old-one"
    for url in (change_url(webhook), "/admin/webhooks_app/webhook/"):
        assert generated not in admin_client.get(url).content.decode()
    # With Standard Webhooks on, a whsec_ secret.
    admin_client.post(change_url(webhook), form_data(generate_secret="on", standard_webhooks="on"))
    assert Webhook.objects.get().secret.startswith("whsec_")


def test_generate_with_a_typed_secret_is_refused(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, form_data(generate_secret="on", secret="typed"))
    assert response.status_code == 200
    assert field_errors(response, "generate_secret") == [
        "Generate a secret, enter one or clear it."
    ]
    assert not Webhook.objects.exists()


def test_the_previous_secret_expiry_is_shown_and_the_overlap_can_be_ended(
    admin_client: Client,
) -> None:
    webhook = make_webhook("https://hooks.example.com/in", name="Orders", secret="first-secret")
    page = admin_client.get(change_url(webhook)).content.decode()
    assert "No previous secret: only the current secret signs." in page
    admin_client.post(change_url(webhook), form_data(secret="second-secret"))
    stored = Webhook.objects.get()
    assert stored.previous_secret == "first-secret"
    page = admin_client.get(change_url(webhook)).content.decode()
    assert "Previous secret expires at" in page and "X-Hook-Signature-Next" in page
    assert "first-secret" not in page and "second-secret" not in page
    admin_client.post(change_url(webhook), form_data(end_secret_overlap="on"))
    stored = Webhook.objects.get()
    assert (stored.secret, stored.previous_secret, stored.previous_secret_expires_at) == (
        "second-secret",
        "",
        None,
    )


def test_a_client_certificate_and_key_are_saved_and_the_key_never_shown(
    admin_client: Client, client_cert: Issued
) -> None:
    data = form_data(client_certificate=client_cert.certificate, client_key=client_cert.key)
    assert admin_client.post(ADD_URL, data).status_code == 302
    webhook = Webhook.objects.get()
    assert webhook.client_key == client_cert.key
    page = admin_client.get(change_url(webhook)).content.decode()
    assert client_cert.key.splitlines()[1] not in page
    assert "CN=admin-client, issued by CN=Test CA" in page  # the certificate's summary
    assert 'placeholder="A client key is set (hidden)"' in page
    cleared = admin_client.post(
        change_url(webhook), form_data(client_certificate="", clear_client_key="on")
    )
    assert cleared.status_code == 302
    assert (Webhook.objects.get().client_certificate, Webhook.objects.get().client_key) == ("", "")


def test_clearing_only_the_key_is_refused(admin_client: Client, client_cert: Issued) -> None:
    webhook = make_webhook(
        "https://hooks.example.com/in",
        client_certificate=client_cert.certificate,
        client_key=client_cert.key,
    )
    data: dict[str, Any] = form_data(
        name=webhook.name, client_certificate=client_cert.certificate, clear_client_key="on"
    )
    response = admin_client.post(change_url(webhook), data)
    assert field_errors(response, "client_key") == ["A client certificate needs its private key."]


def test_the_preview_shows_secret_headers_as_hidden(admin_client: Client) -> None:
    webhook = make_webhook(
        "https://hooks.example.com/in",
        additional_headers="X-Public: shown",
        secret_headers=f"Authorization: Bearer {TOKEN}",
    )
    page = admin_client.get(f"{change_url(webhook).removesuffix('change/')}preview/")
    content = page.content.decode()
    assert "<code>Authorization</code>" in content and "[hidden]" in content
    assert "shown" in content and TOKEN not in content
