"""An operator manages a webhook's credentials in a real browser: secret headers that are never
shown back, a generated secret shown once, the previous secret's expiry and ending the overlap,
and a client certificate whose key is never shown back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import make_webhook
from tests.tls_server import Authority
from webhooks_app.models import Webhook

from .conftest import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Shoot = Callable[["Page", str], None]
TOKEN = "tok-browser-3e9a1c"


def change_page(webhook: Webhook) -> str:
    return f"/admin/webhooks_app/webhook/{webhook.pk}/change/"


def save(page: Page) -> None:
    page.click("input[name=_save]")
    page.wait_for_load_state()


def test_secret_headers_are_never_shown_back(page: Page, shoot: Shoot, superuser: Any) -> None:
    log_in(page)
    page.goto("/admin/webhooks_app/webhook/add/")
    page.fill("#id_name", "Bearer hook")
    page.fill("#id_payload_url", "https://127.0.0.1:9/in")
    page.fill("#id_secret_headers", f"Authorization: Bearer {TOKEN}")
    shoot(page, "secret-headers-typed")
    save(page)
    page.wait_for_selector(".messagelist .success")
    webhook = Webhook.objects.get()
    assert webhook.secret_headers == f"Authorization: Bearer {TOKEN}"

    page.goto(change_page(webhook))
    field = page.locator("#id_secret_headers")
    assert field.input_value() == ""
    assert field.get_attribute("placeholder") == "Secret headers are set (hidden)"
    assert TOKEN not in page.content()
    shoot(page, "secret-headers-set")
    # A form sent back with an error does not show the typed value either.
    page.fill("#id_secret_headers", f"X Bad {TOKEN}: 1")
    save(page)
    assert page.locator(".errorlist", has_text="not a valid HTTP header name").is_visible()
    assert page.locator("#id_secret_headers").input_value() == ""
    assert TOKEN not in page.content()
    shoot(page, "secret-headers-error")


def test_a_generated_secret_is_shown_once_and_the_overlap_can_be_ended(
    page: Page, shoot: Shoot, superuser: Any
) -> None:
    webhook = make_webhook("https://127.0.0.1:9/in", name="Rotating", secret="first-secret")
    log_in(page)
    page.goto(change_page(webhook))
    assert page.locator(".field-previous_secret_expiry", has_text="No previous secret").is_visible()
    page.check("#id_generate_secret")
    save(page)
    shown = page.locator("#generated-secret")
    generated = shown.inner_text()
    assert generated == Webhook.objects.get().secret and len(generated) == 43
    assert page.locator("#generated-secret-overlap").is_visible()
    shoot(page, "generated-secret")

    page.click("#generated-secret-continue")
    page.wait_for_selector("#id_name")
    assert generated not in page.content() and page.locator("#generated-secret").count() == 0
    expiry = page.locator(".field-previous_secret_expiry .readonly")
    assert "X-Hook-Signature-Next" in expiry.inner_text()
    assert "first-secret" not in page.content()
    shoot(page, "previous-secret-expiry")

    page.check("#id_end_secret_overlap")
    save(page)
    page.wait_for_selector(".messagelist .success")
    page.goto(change_page(webhook))
    assert page.locator(".field-previous_secret_expiry", has_text="No previous secret").is_visible()
    assert Webhook.objects.get().previous_secret == ""


def test_a_client_certificate_and_its_key_whose_value_is_never_shown(
    page: Page, shoot: Shoot, superuser: Any, tmp_path: Path
) -> None:
    client = Authority(tmp_path).client("browser-client")
    webhook = make_webhook("https://127.0.0.1:9/in", name="mTLS")
    log_in(page)
    page.goto(change_page(webhook))
    page.fill("#id_client_certificate", client.certificate)
    page.fill("#id_client_key", client.key)
    save(page)
    page.wait_for_selector(".messagelist .success")
    assert Webhook.objects.get().client_key == client.key

    page.goto(change_page(webhook))
    assert page.locator("#id_client_certificate").input_value().strip() == (
        client.certificate.strip()
    )
    key = page.locator("#id_client_key")
    assert key.input_value() == ""
    assert key.get_attribute("placeholder") == "A client key is set (hidden)"
    assert client.key.splitlines()[1] not in page.content()
    summary = page.locator(".field-certificate_summary .readonly").inner_text()
    assert "CN=browser-client" in summary
    shoot(page, "client-certificate")
