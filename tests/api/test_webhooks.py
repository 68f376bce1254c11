"""Webhooks over REST: CRUD, brief form, the write-only secret, validation, filters, pagination."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_rule, make_webhook
from webhooks_app.models import Webhook

from .conftest import API, results

pytestmark = pytest.mark.django_db

URL = f"{API}/webhooks/"
FIELDS = [
    "id",
    "url",
    "display",
    "name",
    "description",
    "payload_url",
    "http_method",
    "http_content_type",
    "additional_headers",
    "secret_headers_set",
    "body_template",
    "secret_set",
    "generated_secret",
    "secret_overlap_hours",
    "previous_secret_expires_at",
    "standard_webhooks",
    "ssl_verification",
    "ca_file_path",
    "client_certificate",
    "client_key_set",
    "created",
    "last_updated",
]


def create(api: APIClient, **fields: object) -> dict[str, object]:
    data = {"name": "Hook", "payload_url": "https://example.com/hook", **fields}
    response = api.post(URL, data, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, object] = response.json()
    return body


def test_create_answers_every_field_with_an_absolute_url(api: APIClient) -> None:
    body = create(api, description="Ops", http_method="PUT")
    assert list(body) == FIELDS
    assert body["url"] == f"http://testserver{URL}{body['id']}/"
    assert body["display"] == "Hook"
    assert body["http_method"] == "PUT"
    assert body["http_content_type"] == "application/json"
    assert body["ssl_verification"] is True and body["ca_file_path"] is None


def test_retrieve_put_patch_and_delete_one_webhook(api: APIClient) -> None:
    url = f"{URL}{create(api)['id']}/"
    assert api.get(url).json()["name"] == "Hook"
    replaced = api.put(url, {"name": "Hook 2", "payload_url": "http://h.example/x"}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["payload_url"] == "http://h.example/x"
    patched = api.patch(url, {"description": "patched"}, format="json")
    assert patched.json()["description"] == "patched" and patched.json()["name"] == "Hook 2"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_brief_list_and_retrieve_answer_five_fields(api: APIClient) -> None:
    hook = make_webhook("https://example.com/", name="Brief", description="short")
    [item] = results(api.get(URL, {"brief": "true"}))
    assert item == {
        "id": hook.pk,
        "url": f"http://testserver{URL}{hook.pk}/",
        "display": "Brief",
        "name": "Brief",
        "description": "short",
    }
    assert api.get(f"{URL}{hook.pk}/?brief=1").json() == item
    assert "payload_url" in api.get(f"{URL}{hook.pk}/?brief=false").json()


def test_secret_is_write_only_and_secret_set_tells_whether_there_is_one(api: APIClient) -> None:
    body = create(api, secret="s3cret-value")
    url = f"{URL}{body['id']}/"
    assert body["secret_set"] is True
    assert Webhook.objects.get().secret == "s3cret-value"
    for response in (api.get(URL), api.get(url), api.get(f"{URL}?brief=1")):
        assert b"s3cret-value" not in response.content
        assert b'"secret"' not in response.content
    changed = api.patch(url, {"secret": "other"}, format="json")
    assert "secret" not in changed.json() and changed.json()["secret_set"] is True
    assert Webhook.objects.get().secret == "other"
    cleared = api.patch(url, {"secret": ""}, format="json")
    assert cleared.json()["secret_set"] is False
    assert Webhook.objects.get().secret == ""


def test_a_put_without_secret_keeps_the_stored_one(api: APIClient) -> None:
    hook = make_webhook("https://example.com/", name="Keep", secret="kept")
    url = f"{URL}{hook.pk}/"
    read = api.get(url).json()
    written = {k: v for k, v in read.items() if k not in ("id", "url", "display", "secret_set")}
    response = api.put(url, written, format="json")
    assert response.status_code == 200, response.content
    assert Webhook.objects.get().secret == "kept"


def test_created_without_secret_has_none(api: APIClient) -> None:
    assert create(api)["secret_set"] is False


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"payload_url": "ftp://example.com/"}, "payload_url", "beginning with http"),
        ({"payload_url": "http://"}, "payload_url", "Enter a valid URL"),
        ({"payload_url": "https://x.example/{% if %}"}, "payload_url", "Invalid template"),
        ({"body_template": "{\n  {{ data.name }\n}"}, "body_template", "(line 2)"),
        ({"additional_headers": "X-A: 1\n{% for %}"}, "additional_headers", "(line 2)"),
        ({"standard_webhooks": True}, "standard_webhooks", "need a secret"),
        ({"ssl_verification": False, "ca_file_path": "/ca.pem"}, "ca_file_path", "SSL"),
        ({"http_method": "BREW"}, "http_method", "not a valid choice"),
        ({"ssl_verification": "maybe"}, "ssl_verification", "valid boolean"),
        ({"name": ["a"]}, "name", "Not a valid string"),
        ({"name": "x" * 151}, "name", "no more than 150"),
        ({"secret": {"k": "v"}}, "secret", "Not a valid string"),
    ],
)
def test_invalid_fields_answer_400_naming_the_field(
    api: APIClient, fields: dict[str, object], field: str, message: str
) -> None:
    data = {"name": "Bad", "payload_url": "https://example.com/", **fields}
    response = api.post(URL, data, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Webhook.objects.exists()


def test_required_fields_and_unique_name_are_enforced(api: APIClient) -> None:
    assert set(api.post(URL, {}, format="json").json()) == {"name", "payload_url"}
    create(api, name="Taken")
    response = api.post(URL, {"name": "Taken", "payload_url": "https://e.example/"}, format="json")
    assert response.status_code == 400 and "already exists" in response.json()["name"][0]


def test_a_patch_is_validated_against_the_stored_fields(api: APIClient) -> None:
    hook = make_webhook("https://example.com/", name="Verified", ssl_verification=False)
    response = api.patch(f"{URL}{hook.pk}/", {"ca_file_path": "/ca.pem"}, format="json")
    assert response.status_code == 400 and "ca_file_path" in response.json()


def test_deleting_a_webhook_used_by_a_rule_is_a_409_naming_the_rule(api: APIClient) -> None:
    hook = make_webhook("https://example.com/", name="Used")
    make_rule(hook, name="Sites rule")
    response = api.delete(f"{URL}{hook.pk}/")
    assert response.status_code == 409
    assert "event rule Sites rule" in response.json()["detail"]
    assert Webhook.objects.filter(pk=hook.pk).exists()


def test_filters_by_q_name_http_method_and_ssl_verification(api: APIClient) -> None:
    make_webhook("https://alpha.example/", name="Alpha", description="first")
    make_webhook("https://beta.example/", name="Beta", http_method="PUT", ssl_verification=False)
    make_webhook("https://gamma.example/", name="Gamma", http_method="PATCH")

    def names(**params: str | list[str]) -> list[str]:
        return [item["name"] for item in results(api.get(URL, params))]

    assert names(q="FIRST") == ["Alpha"]
    assert names(q="beta.example") == ["Beta"]
    assert names(q="  ") == ["Alpha", "Beta", "Gamma"]
    assert names(name="Gamma") == ["Gamma"]
    assert names(http_method=["PUT", "PATCH"]) == ["Beta", "Gamma"]
    assert names(ssl_verification="false") == ["Beta"]


def test_an_invalid_filter_value_is_a_400_naming_the_parameter(api: APIClient) -> None:
    response = api.get(URL, {"http_method": "BREW"})
    assert response.status_code == 400 and "http_method" in response.json()


def test_list_is_limit_offset_paginated_with_a_count(api: APIClient) -> None:
    for i in range(5):
        make_webhook(f"https://e{i}.example/", name=f"Hook {i}")
    page = api.get(URL, {"limit": 2, "offset": 2}).json()
    assert page["count"] == 5
    assert [item["name"] for item in page["results"]] == ["Hook 2", "Hook 3"]
    assert page["next"] == f"http://testserver{URL}?limit=2&offset=4"
    assert page["previous"] == f"http://testserver{URL}?limit=2"
    assert api.get(URL, {"offset": 10**30}).json()["results"] == []
