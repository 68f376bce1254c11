"""Event rules over REST: object types as "app_label.model", the nested webhook, validation
through the model, filters and the brief form."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_rule, make_webhook
from webhooks_app.models import EventRule, Webhook

from .conftest import API, UNREGISTERED, results

pytestmark = pytest.mark.django_db

URL = f"{API}/event-rules/"


@pytest.fixture
def hook() -> Webhook:
    return make_webhook("https://example.com/", name="Target", description="the target")


def rule_data(hook: Webhook, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Sites",
        "object_types": ["inventory.site"],
        "event_types": ["object_created"],
        "webhook": hook.pk,
        **fields,
    }


def test_create_reads_object_types_as_labels_and_the_webhook_in_brief(
    api: APIClient, hook: Webhook
) -> None:
    data = rule_data(
        hook,
        object_types=["inventory.site", "inventory.device"],
        event_types=["object_created", "object_deleted"],
        conditions={"attr": "status.value", "value": "active"},
        action_data={"source": "api"},
    )
    response = api.post(URL, data, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert list(body) == [
        "id", "url", "display", "name", "description", "enabled", "object_types",
        "event_types", "conditions", "action_type", "webhook", "action_data", "created",
        "last_updated",
    ]  # fmt: skip
    assert body["url"] == f"http://testserver{URL}{body['id']}/"
    assert sorted(body["object_types"]) == ["inventory.device", "inventory.site"]
    assert body["event_types"] == ["object_created", "object_deleted"]
    assert body["action_type"] == "webhook" and body["enabled"] is True
    assert body["webhook"] == {
        "id": hook.pk,
        "url": f"http://testserver{API}/webhooks/{hook.pk}/",
        "display": "Target",
        "name": "Target",
        "description": "the target",
    }
    rule = EventRule.objects.get()
    assert sorted(ct.model for ct in rule.object_types.all()) == ["device", "site"]
    assert rule.action_data == {"source": "api"}


def test_patch_replaces_object_types_and_keeps_the_rest(api: APIClient, hook: Webhook) -> None:
    rule = make_rule(hook, models=("inventory.site", "inventory.device"), name="R")
    response = api.patch(f"{URL}{rule.pk}/", {"object_types": ["inventory.tag"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["object_types"] == ["inventory.tag"]
    assert len(response.json()["event_types"]) == 3


def test_put_replaces_the_rule_and_delete_removes_it(api: APIClient, hook: Webhook) -> None:
    rule = make_rule(hook, name="Old", conditions={"attr": "name", "value": "x"})
    url = f"{URL}{rule.pk}/"
    response = api.put(url, rule_data(hook, name="New", conditions=None), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "New" and response.json()["conditions"] is None
    assert api.delete(url).status_code == 204
    assert not EventRule.objects.exists()
    assert Webhook.objects.filter(pk=hook.pk).exists()


def test_brief_form(api: APIClient, hook: Webhook) -> None:
    rule = make_rule(hook, name="Brief", description="b")
    assert results(api.get(URL, {"brief": "true"})) == [
        {
            "id": rule.pk,
            "url": f"http://testserver{URL}{rule.pk}/",
            "display": "Brief",
            "name": "Brief",
            "description": "b",
        }
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"object_types": ["inventory.nothing"]},
            "object_types",
            f"'inventory.nothing' {UNREGISTERED}",
        ),
        ({"object_types": ["auth.user"]}, "object_types", f"'auth.user' {UNREGISTERED}"),
        (
            {"object_types": ["site"]},
            "object_types",
            "Specify an object type as '<app_label>.<model>'",
        ),
        ({"object_types": ["a.b.c"]}, "object_types", "Specify an object type"),
        ({"object_types": [7]}, "object_types", "Specify an object type"),
        ({"object_types": []}, "object_types", "Select at least one object type."),
        ({"object_types": "inventory.site"}, "object_types", "Expected a list"),
        (
            {"event_types": ["object_renamed"]},
            "event_types",
            '"object_renamed" is not a valid choice',
        ),
        ({"event_types": []}, "event_types", "may not be empty"),
        ({"conditions": {"attr": "name"}}, "conditions", "missing key 'value'"),
        (
            {"conditions": {"and": [{"attr": "a", "value": 1, "op": "regex"}]}},
            "conditions",
            "Invalid type for regex",
        ),
        (
            {"conditions": {"attr": "a", "value": "(", "op": "regex"}},
            "conditions",
            "Invalid regular expression",
        ),
        ({"conditions": [1, 2]}, "conditions", "must be a JSON object or null"),
        ({"conditions": {"attr": "a", "value": "\x00"}}, "conditions", "NUL"),
        ({"action_data": [1]}, "action_data", "Action data must be a JSON object or null."),
        ({"action_data": "text"}, "action_data", "Action data must be a JSON object or null."),
        ({"action_type": "script"}, "action_type", "not a valid choice"),
        ({"webhook": 999999}, "webhook", "does not exist"),
        ({"webhook": 10**30}, "webhook", "does not exist"),
        ({"webhook": "abc"}, "webhook", "Incorrect type"),
        ({"webhook": 1.5}, "webhook", "Incorrect type"),
        ({"webhook": {"id": 1}}, "webhook", "Incorrect type"),
        ({"enabled": "sometimes"}, "enabled", "valid boolean"),
    ],
)
def test_invalid_fields_answer_400_naming_the_field(
    api: APIClient, hook: Webhook, fields: dict[str, Any], field: str, message: str
) -> None:
    response = api.post(URL, rule_data(hook, **fields), format="json")
    assert response.status_code == 400, response.content
    errors = response.json()[field]
    text = str(errors)
    assert message in text
    assert not EventRule.objects.exists()


def test_object_types_and_webhook_and_event_types_are_required(api: APIClient) -> None:
    response = api.post(URL, {"name": "Empty"}, format="json")
    assert response.status_code == 400
    assert {"object_types", "event_types", "webhook"} <= set(response.json())


def test_repeated_types_are_stored_once(api: APIClient, hook: Webhook) -> None:
    data = rule_data(
        hook,
        object_types=["inventory.site", "Inventory.Site"],
        event_types=["object_created", "object_created"],
    )
    body = api.post(URL, data, format="json").json()
    assert body["object_types"] == ["inventory.site"]
    assert body["event_types"] == ["object_created"]


def test_filters(api: APIClient, hook: Webhook) -> None:
    other = make_webhook("https://other.example/", name="Other")
    make_rule(
        hook,
        models=("inventory.site",),
        events=("object_created",),
        name="Alpha",
        description="sites",
    )
    make_rule(
        hook, models=("inventory.device",), events=("object_updated", "object_deleted"), name="Beta"
    )
    make_rule(
        other,
        models=("inventory.site", "inventory.tag"),
        events=("object_deleted",),
        name="Gamma",
        enabled=False,
    )

    def names(**params: Any) -> list[str]:
        return [item["name"] for item in results(api.get(URL, params))]

    assert names(q="SITES") == ["Alpha"]
    assert names(name="Beta") == ["Beta"]
    assert names(enabled="false") == ["Gamma"]
    assert names(object_type="inventory.site") == ["Alpha", "Gamma"]
    assert names(object_type="inventory.ipaddress") == []
    assert names(event_type="object_deleted") == ["Beta", "Gamma"]
    assert names(event_type=["object_created", "object_updated"]) == ["Alpha", "Beta"]
    assert names(webhook=other.pk) == ["Gamma"]
    assert names(webhook=[hook.pk, other.pk]) == ["Alpha", "Beta", "Gamma"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"object_type": "site"}, "object_type"),
        ({"object_type": "auth.user"}, "object_type"),
        ({"event_type": "object_renamed"}, "event_type"),
        ({"webhook": "abc"}, "webhook"),
        ({"webhook": str(10**30)}, "webhook"),
        ({"webhook": "424242"}, "webhook"),
        ({"enabled": "sometimes"}, "enabled"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_parameter(
    api: APIClient, params: dict[str, str], name: str
) -> None:
    response = api.get(URL, params)
    assert response.status_code == 400
    assert name in response.json()


def test_the_object_type_filter_takes_only_registered_models(api: APIClient) -> None:
    hook = make_webhook("https://example.com/")
    make_rule(hook, models=("inventory.device",), name="Devices")
    response = api.get(URL, {"object_type": "auth.user"})
    assert response.status_code == 400
    assert response.json() == {"object_type": [f"'auth.user' {UNREGISTERED}"]}
    assert names_of(api.get(URL, {"object_type": "Inventory.Device"})) == ["Devices"]
    assert names_of(api.get(URL, {"object_type": "inventory.site"})) == []


def names_of(response: Any) -> list[str]:
    return [item["name"] for item in results(response)]
