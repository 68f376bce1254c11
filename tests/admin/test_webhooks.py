"""Webhook admin: the form (grouped, monospace templates, write-only secret), inline validation
errors, the list, Preview and Send test."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from demo.inventory.models import Site
from tests.conftest import make_rule, make_webhook
from webhooks_app.models import Delivery, Webhook
from webhooks_app.receiver import Receiver
from webhooks_app.signing import generate_signature, verify_signature

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/webhooks_app/webhook/add/"
SECRET = "correct-horse-battery-staple"


def change_url(webhook: Webhook) -> str:
    return f"/admin/webhooks_app/webhook/{webhook.pk}/change/"


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Orders",
        "description": "",
        "payload_url": "https://hooks.example.com/in",
        "http_method": "POST",
        "http_content_type": "application/json",
        "additional_headers": "",
        "body_template": "",
        "secret": "",
        "secret_overlap_hours": "24",
        "ssl_verification": "on",
        "ca_file_path": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def field_errors(response: Any, field: str) -> list[str]:
    return list(response.context["adminform"].form.errors.get(field, []))


def pre_body(content: str) -> str:
    match = re.search(r'<pre class="webhooks-code webhooks-body">(.*?)</pre>', content, re.S)
    assert match, "no body in the page"
    return html.unescape(match.group(1))


def test_add_page_groups_fields_and_uses_monospace_and_password_inputs(
    admin_client: Client,
) -> None:
    response = admin_client.get(ADD_URL)
    content = response.content.decode()
    assert response.status_code == 200
    for legend in ("Webhook", "HTTP request", "Signing", "SSL"):
        assert f">{legend}</h2>" in content
    assert re.search(
        r'<textarea name="body_template"[^>]*class="vLargeTextField webhooks-code"', content
    )
    assert re.search(r'<input type="password" name="secret"', content)
    assert 'name="clear_secret"' not in content  # nothing stored yet
    assert "webhooks_app/admin.css" in content


def test_valid_webhook_is_created_with_its_secret(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, form_data(secret=SECRET, standard_webhooks="on"))
    assert response.status_code == 302
    webhook = Webhook.objects.get(name="Orders")
    assert webhook.secret == SECRET
    assert webhook.standard_webhooks is True


def test_file_url_is_rejected_on_the_url_field(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, form_data(payload_url="file:///etc/passwd"))
    assert response.status_code == 200
    assert field_errors(response, "payload_url") == [
        "Enter a valid URL, beginning with http:// or https://."
    ]
    assert not Webhook.objects.exists()


def test_body_template_syntax_error_names_the_line(admin_client: Client) -> None:
    template = '{\n  "name": "{{ data.name }}",\n  "bad": "{{ data.name | }}"\n}'
    response = admin_client.post(ADD_URL, form_data(body_template=template))
    errors = field_errors(response, "body_template")
    assert len(errors) == 1 and "line 3" in errors[0]
    assert "line 3" in response.content.decode()


def test_standard_webhooks_without_secret_is_a_field_error(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, form_data(standard_webhooks="on"))
    assert field_errors(response, "standard_webhooks") == [
        "Standard Webhooks signatures need a secret."
    ]


def test_secret_is_never_rendered_back(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", secret=SECRET)
    page = admin_client.get(change_url(webhook)).content.decode()
    assert SECRET not in page
    assert "A secret is set" in page and 'name="clear_secret"' in page
    # Not even when the form comes back with an error and a new secret was typed.
    typed = "typed-but-not-saved-secret"
    rejected = admin_client.post(
        change_url(webhook), form_data(payload_url="ftp://x", secret=typed)
    )
    assert rejected.status_code == 200
    assert typed not in rejected.content.decode() and SECRET not in rejected.content.decode()


def test_blank_secret_on_change_keeps_the_stored_secret(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", name="Orders", secret=SECRET)
    response = admin_client.post(change_url(webhook), form_data(description="changed"))
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret == SECRET and webhook.description == "changed"


def test_typed_secret_on_change_replaces_the_stored_secret(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", name="Orders", secret=SECRET)
    admin_client.post(change_url(webhook), form_data(secret="new-secret"))
    webhook.refresh_from_db()
    assert webhook.secret == "new-secret"


def test_clear_secret_removes_the_stored_secret(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", name="Orders", secret=SECRET)
    response = admin_client.post(change_url(webhook), form_data(clear_secret="on"))
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret == ""


def test_clearing_and_typing_a_secret_together_is_an_error(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", name="Orders", secret=SECRET)
    response = admin_client.post(change_url(webhook), form_data(clear_secret="on", secret="other"))
    assert field_errors(response, "secret") == ["Enter a new secret or clear it, not both."]
    webhook.refresh_from_db()
    assert webhook.secret == SECRET


def test_list_shows_method_url_secret_flag_and_rule_count(admin_client: Client) -> None:
    signed = make_webhook("https://a.example.com/", name="Signed", secret=SECRET)
    make_webhook("https://b.example.com/", name="Unsigned")
    make_rule(signed, name="r1")
    make_rule(signed, name="r2")
    response = admin_client.get("/admin/webhooks_app/webhook/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "https://a.example.com/" in content and SECRET not in content
    rows = {row.name: row for row in response.context["cl"].result_list}
    assert rows["Signed"].rule_count == 2 and rows["Unsigned"].rule_count == 0
    assert 'alt="True"' in content and 'alt="False"' in content


def test_search_finds_webhooks_by_url(admin_client: Client) -> None:
    make_webhook("https://a.example.com/", name="Alpha")
    make_webhook("https://b.example.com/", name="Beta")
    response = admin_client.get("/admin/webhooks_app/webhook/?q=b.example")
    assert [w.name for w in response.context["cl"].result_list] == ["Beta"]


def test_change_page_offers_preview_and_send_test(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in")
    content = admin_client.get(change_url(webhook)).content.decode()
    assert f"/admin/webhooks_app/webhook/{webhook.pk}/preview/" in content
    assert f"/admin/webhooks_app/webhook/{webhook.pk}/send-test/" in content


def test_preview_of_the_sample_shows_method_url_signature_and_exact_body(
    admin_client: Client,
) -> None:
    webhook = make_webhook(
        "https://hooks.example.com/{{ model }}",
        http_method="PUT",
        secret=SECRET,
        body_template='{"event": "{{ event }}", "name": "{{ data.name }}"}',
    )
    response = admin_client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/preview/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "PUT https://hooks.example.com/sample" in content
    body = pre_body(content)
    assert body == '{"event": "created", "name": "Sample object"}'
    assert generate_signature(body.encode(), SECRET) in content
    assert SECRET not in content


def test_preview_of_a_real_object_and_event_type(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", secret=SECRET)
    site = Site.objects.create(name="Preview Site", slug="preview-site")
    query = {
        "object_type": "inventory.site",
        "object_id": str(site.pk),
        "event_type": "object_updated",
    }
    response = admin_client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/preview/", query)
    body = pre_body(response.content.decode())
    assert '"event": "updated"' in body and '"name": "Preview Site"' in body
    assert generate_signature(body.encode(), SECRET) in response.content.decode()


def test_preview_of_a_missing_object_is_a_form_error(admin_client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in")
    query = {"object_type": "inventory.site", "object_id": "999999", "event_type": "object_created"}
    response = admin_client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/preview/", query)
    assert response.context["form"].errors["object_id"] == ["There is no site with ID '999999'."]
    assert response.context["preview"] is None


def test_preview_shows_a_render_error_instead_of_a_body(admin_client: Client) -> None:
    webhook = make_webhook(
        "https://hooks.example.com/in", body_template="{{ data.missing.deeper }}"
    )
    response = admin_client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/preview/")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview-error"' in content
    assert "Error rendering body" in content and "missing" in content
    assert 'class="webhooks-code webhooks-body"' not in content


def test_send_test_page_asks_before_sending(
    admin_client: Client, webhook: Webhook, receiver: Receiver
) -> None:
    response = admin_client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/send-test/")
    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert receiver.received_count == 0


def test_send_test_delivers_a_signed_request_and_shows_the_outcome(
    admin_client: Client, webhook: Webhook, receiver: Receiver
) -> None:
    response = admin_client.post(
        f"/admin/webhooks_app/webhook/{webhook.pk}/send-test/", {"event_type": "object_created"}
    )
    (request,) = receiver.wait_for(1)
    assert request.signature_valid is True
    assert verify_signature(request.body, "s3cret", request.header("X-Hook-Signature") or "")
    content = response.content.decode()
    delivery = Delivery.objects.get()
    assert delivery.state == "succeeded" and delivery.webhook == webhook
    assert 'id="send-test-status">200<' in content
    assert f"/admin/webhooks_app/delivery/{delivery.pk}/change/" in content
    assert " ms<" in content


def test_send_test_to_a_failing_receiver_shows_status_and_error(
    admin_client: Client, webhook: Webhook, receiver: Receiver
) -> None:
    receiver.set_status(400)
    response = admin_client.post(
        f"/admin/webhooks_app/webhook/{webhook.pk}/send-test/", {"event_type": "object_deleted"}
    )
    content = response.content.decode()
    assert 'id="send-test-status">400<' in content
    assert "Status 400 returned" in content
    assert Delivery.objects.get().state == "failed"


def test_send_test_without_csrf_token_is_refused(
    admin_user: User, webhook: Webhook, receiver: Receiver
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        f"/admin/webhooks_app/webhook/{webhook.pk}/send-test/", {"event_type": "object_created"}
    )
    assert response.status_code == 403
    assert receiver.received_count == 0


def test_staff_who_may_only_view_webhooks_cannot_preview_or_send(client: Client) -> None:
    webhook = make_webhook("https://hooks.example.com/in", secret=SECRET)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhook"))
    client.force_login(viewer)
    assert client.get(change_url(webhook)).status_code == 200
    assert client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/preview/").status_code == 403
    assert client.post(f"/admin/webhooks_app/webhook/{webhook.pk}/send-test/").status_code == 403


PARENS = "{{ " + "(" * 5_000 + "1" + ")" * 5_000 + " }}"
LISTS = "{{ " + "[" * 2_000 + "]" * 2_000 + " }}"
BLOCKS = "{% if true %}" * 3_000 + "x" + "{% endif %}" * 3_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body_template", PARENS),
        ("body_template", LISTS),
        ("body_template", BLOCKS),
        ("additional_headers", "X-Deep: " + PARENS),
        ("additional_headers", BLOCKS),
        ("payload_url", "https://e.example/{{ " + "(" * 200 + "1" + ")" * 200 + " }}"),
    ],
)
def test_templates_nested_too_deeply_are_inline_errors(
    admin_client: Client, field: str, value: str
) -> None:
    """On the add and the change page: the form again, the error next to the field."""
    webhook = make_webhook("https://hooks.example.com/in", name="Kept")
    for url in (ADD_URL, change_url(webhook)):
        response = admin_client.post(url, form_data(**{field: value}))
        assert response.status_code == 200
        (message,) = field_errors(response, field)
        assert "nested too deeply" in message
    assert list(Webhook.objects.values_list("name", flat=True)) == ["Kept"]


def test_oversized_values_are_inline_errors(admin_client: Client) -> None:
    response = admin_client.post(
        ADD_URL,
        form_data(
            name="n" * 10_000,
            payload_url="https://e.example/" + "a" * 10_000,
            http_content_type="t" * 10_000,
            ca_file_path="/" * 10_000,
        ),
    )
    assert response.status_code == 200
    for field in ("name", "payload_url", "http_content_type", "ca_file_path"):
        (message,) = field_errors(response, field)
        assert message.startswith("Ensure this value has at most"), field
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("object_id", [str(2**64), "9" * 60, "-1", "1.5", "abc", "\x00"])
def test_preview_and_send_test_of_ids_that_cannot_exist_are_form_errors(
    admin_client: Client, object_id: str
) -> None:
    webhook = make_webhook("https://hooks.example.com/in")
    data = {"object_type": "inventory.site", "object_id": object_id, "event_type": "object_created"}
    base = f"/admin/webhooks_app/webhook/{webhook.pk}"
    for response in (
        admin_client.get(f"{base}/preview/", data),
        admin_client.post(f"{base}/send-test/", data),
    ):
        assert response.status_code == 200
        assert response.context["form"].errors["object_id"]
    assert not Delivery.objects.exists()
