"""NetBox-style bulk operations on the list URLs: all or nothing, errors naming the item."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_rule, make_webhook
from webhooks_app.models import EventRule, Webhook

from .conftest import API, UNREGISTERED

pytestmark = pytest.mark.django_db

HOOKS = f"{API}/webhooks/"
RULES = f"{API}/event-rules/"


def hook_data(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "payload_url": f"https://{name.lower()}.example/", **fields}


def test_posting_a_list_creates_every_item_in_request_order(api: APIClient) -> None:
    response = api.post(HOOKS, [hook_data("Zed"), hook_data("Amy", secret="x")], format="json")
    assert response.status_code == 201, response.content
    assert [item["name"] for item in response.json()] == ["Zed", "Amy"]
    assert [item["secret_set"] for item in response.json()] == [False, True]
    assert all("secret" not in item for item in response.json())
    assert Webhook.objects.count() == 2


def test_one_invalid_item_creates_nothing_and_names_the_index_and_field(api: APIClient) -> None:
    items = [
        hook_data("Good"),
        hook_data("Bad", payload_url="ftp://x/"),
        hook_data("Also", http_method="X"),
    ]
    response = api.post(HOOKS, items, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid item(s) at index 1, 2; no changes were made."
    assert [error["index"] for error in body["errors"]] == [1, 2]
    assert "payload_url" in body["errors"][0] and "http_method" in body["errors"][1]
    assert not Webhook.objects.exists()


def test_two_new_items_with_one_name_fail_as_a_validation_error(api: APIClient) -> None:
    response = api.post(HOOKS, [hook_data("Same"), hook_data("Same")], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == 1
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([], "Expected a non-empty list of objects."),
        ("text", "Expected an object or a list of objects."),
        ([1, {"name": "x"}], "Invalid item(s) at index 0"),
    ],
)
def test_a_body_that_is_not_a_list_of_objects_is_a_400(
    api: APIClient, body: Any, detail: str
) -> None:
    response = api.post(HOOKS, body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_bulk_patch_updates_each_item_by_id(api: APIClient) -> None:
    one = make_webhook("https://one.example/", name="One")
    two = make_webhook("https://two.example/", name="Two", secret="keep")
    response = api.patch(
        HOOKS,
        [{"id": two.pk, "description": "second"}, {"id": one.pk, "http_method": "PUT"}],
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()] == [two.pk, one.pk]
    two.refresh_from_db()
    one.refresh_from_db()
    assert two.description == "second" and two.secret == "keep"
    assert one.http_method == "PUT"


def test_bulk_put_needs_the_required_fields_of_each_item(api: APIClient) -> None:
    one = make_webhook("https://one.example/", name="One")
    missing = api.put(HOOKS, [{"id": one.pk, "name": "Renamed"}], format="json")
    assert missing.status_code == 400
    assert "payload_url" in missing.json()["errors"][0]
    response = api.put(HOOKS, [{"id": one.pk, **hook_data("Renamed")}], format="json")
    assert response.status_code == 200, response.content
    one.refresh_from_db()
    assert (one.name, one.payload_url) == ("Renamed", "https://renamed.example/")


def test_bulk_update_fails_whole_for_one_invalid_item(api: APIClient) -> None:
    one = make_webhook("https://one.example/", name="One")
    two = make_webhook("https://two.example/", name="Two")
    items = [{"id": one.pk, "description": "changed"}, {"id": two.pk, "body_template": "{{ x "}]
    response = api.patch(HOOKS, items, format="json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["index"] == 1 and error["id"] == two.pk
    assert "line 1" in error["body_template"][0]
    one.refresh_from_db()
    assert one.description == ""


@pytest.mark.parametrize(
    ("items", "detail"),
    [
        ([{"description": "no id"}], 'Each object needs an integer "id".'),
        ([{"id": "1"}], 'Each object needs an integer "id".'),
        ([{"id": 10**30}], 'Each object needs an integer "id".'),
        ([{"id": 424242}], "Not found."),
    ],
)
def test_bulk_update_needs_existing_integer_ids(
    api: APIClient, items: list[Any], detail: str
) -> None:
    response = api.patch(HOOKS, items, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == detail


def test_repeated_ids_are_rejected(api: APIClient) -> None:
    one = make_webhook("https://one.example/", name="One")
    response = api.patch(HOOKS, [{"id": one.pk}, {"id": one.pk}], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "Duplicate id; already given at index 0."


def test_bulk_delete_removes_every_listed_webhook(api: APIClient) -> None:
    hooks = [make_webhook(f"https://{i}.example/", name=f"H{i}") for i in range(3)]
    response = api.delete(HOOKS, [{"id": hooks[0].pk}, {"id": hooks[2].pk}], format="json")
    assert response.status_code == 204
    assert list(Webhook.objects.values_list("name", flat=True)) == ["H1"]


def test_bulk_delete_of_a_webhook_in_use_is_a_409_and_deletes_nothing(api: APIClient) -> None:
    free = make_webhook("https://free.example/", name="Free")
    used = make_webhook("https://used.example/", name="Used")
    make_rule(used, name="Keeps it")
    response = api.delete(HOOKS, [{"id": free.pk}, {"id": used.pk}], format="json")
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["index"] == 1 and error["id"] == used.pk
    assert "event rule Keeps it" in error["detail"]
    assert Webhook.objects.count() == 2


def test_rules_in_bulk_create_update_and_delete(api: APIClient) -> None:
    hook = make_webhook("https://h.example/", name="H")
    items = [
        {
            "name": f"R{i}",
            "object_types": ["inventory.site"],
            "event_types": ["object_created"],
            "webhook": hook.pk,
        }
        for i in range(2)
    ]
    created = api.post(RULES, items, format="json")
    assert created.status_code == 201, created.content
    ids = [item["id"] for item in created.json()]
    updated = api.patch(RULES, [{"id": pk, "enabled": False} for pk in ids], format="json")
    assert [item["enabled"] for item in updated.json()] == [False, False]
    bad = api.patch(RULES, [{"id": ids[0], "object_types": ["nope.nope"]}], format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["object_types"] == {"0": [f"'nope.nope' {UNREGISTERED}"]}
    assert api.delete(RULES, [{"id": pk} for pk in ids], format="json").status_code == 204
    assert not EventRule.objects.exists()


def test_options_on_a_list_url_describes_the_create_form(api: APIClient) -> None:
    response = api.options(HOOKS)
    assert response.status_code == 200
    assert list(response.json()["actions"]) == ["POST"]
    assert "secret" in response.json()["actions"]["POST"]
