"""Event rule admin: registered object types, event types as checkboxes, JSON fields whose
errors say what is wrong and where, the list and its filters."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from tests.conftest import make_rule, make_webhook
from webhooks_app.models import EventRule, Webhook

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/webhooks_app/eventrule/add/"


@pytest.fixture
def target() -> Webhook:
    return make_webhook("https://hooks.example.com/in", name="Target")


def content_type_id(label: str) -> int:
    app_label, model = label.split(".")
    return ContentType.objects.get_by_natural_key(app_label, model).pk


def form_data(webhook: Webhook, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Sites created",
        "description": "",
        "enabled": "on",
        "object_types": [content_type_id("inventory.site")],
        "event_types": ["object_created"],
        "conditions": "",
        "webhook": webhook.pk,
        "action_data": "",
    }
    data.update(overrides)
    return data


def errors(response: Any, field: str) -> list[str]:
    return list(response.context["adminform"].form.errors.get(field, []))


def test_add_page_offers_only_registered_models_and_event_type_checkboxes(
    admin_client: Client, target: Webhook
) -> None:
    content = admin_client.get(ADD_URL).content.decode()
    object_type_values = re.findall(r'name="object_types" value="(\d+)"', content)
    assert sorted(map(int, object_type_values)) == sorted(
        content_type_id(label)
        for label in ("inventory.site", "inventory.device", "inventory.ipaddress", "inventory.tag")
    )
    assert "(inventory.site)" in content
    assert str(content_type_id("auth.user")) not in object_type_values
    assert re.findall(r'type="checkbox" name="event_types" value="(\w+)"', content) == [
        "object_created",
        "object_updated",
        "object_deleted",
    ]
    assert re.search(r'<textarea name="conditions"[^>]*webhooks-code', content)


def test_valid_rule_is_saved_with_types_conditions_and_action_data(
    admin_client: Client, target: Webhook
) -> None:
    conditions = '{"and": [{"attr": "status.value", "value": "active"}]}'
    response = admin_client.post(
        ADD_URL,
        form_data(
            target,
            event_types=["object_created", "object_deleted"],
            conditions=conditions,
            action_data='{"source": "admin"}',
        ),
    )
    assert response.status_code == 302
    rule = EventRule.objects.get()
    assert rule.event_types == ["object_created", "object_deleted"]
    assert rule.conditions == {"and": [{"attr": "status.value", "value": "active"}]}
    assert rule.action_data == {"source": "admin"}
    assert [ct.model for ct in rule.object_types.all()] == ["site"]
    assert rule.webhook == target


def test_change_page_shows_stored_json_pretty_printed(
    admin_client: Client, target: Webhook
) -> None:
    rule = make_rule(target, conditions={"attr": "status.value", "value": "active"})
    content = admin_client.get(f"/admin/webhooks_app/eventrule/{rule.pk}/change/").content.decode()
    assert "{\n  &quot;attr&quot;: &quot;status.value&quot;," in content


def test_json_syntax_error_in_conditions_gives_line_and_column(
    admin_client: Client, target: Webhook
) -> None:
    broken = '{\n  "attr": "status.value",\n  "value": "active"\n  "op": "eq"}'
    response = admin_client.post(ADD_URL, form_data(target, conditions=broken))
    assert errors(response, "conditions") == [
        "Invalid JSON at line 4, column 3: Expecting ',' delimiter"
    ]
    content = response.content.decode()
    assert "line 4, column 3" in content
    assert "&quot;value&quot;: &quot;active&quot;\n  &quot;op&quot;" in content  # kept as typed
    assert not EventRule.objects.exists()


def test_malformed_condition_says_what_and_where(admin_client: Client, target: Webhook) -> None:
    conditions = '{"and": [{"attr": "status.value", "value": "active"}, {"value": "x"}]}'
    response = admin_client.post(ADD_URL, form_data(target, conditions=conditions))
    (message,) = errors(response, "conditions")
    assert "and[1]" in message and "attr" in message


def test_unknown_operator_is_rejected(admin_client: Client, target: Webhook) -> None:
    conditions = '{"attr": "status.value", "value": "active", "op": "like"}'
    response = admin_client.post(ADD_URL, form_data(target, conditions=conditions))
    (message,) = errors(response, "conditions")
    assert "like" in message


def test_action_data_must_be_an_object(admin_client: Client, target: Webhook) -> None:
    response = admin_client.post(ADD_URL, form_data(target, action_data="[1, 2]"))
    assert errors(response, "action_data") == ["Action data must be a JSON object or null."]


def test_action_data_syntax_error_gives_line_and_column(
    admin_client: Client, target: Webhook
) -> None:
    response = admin_client.post(ADD_URL, form_data(target, action_data='{"a": tru}'))
    (message,) = errors(response, "action_data")
    assert message.startswith("Invalid JSON at line 1, column 7:")


def test_unknown_event_type_is_rejected(admin_client: Client, target: Webhook) -> None:
    response = admin_client.post(ADD_URL, form_data(target, event_types=["object_exploded"]))
    (message,) = errors(response, "event_types")
    assert "object_exploded is not one of the available choices" in message


def test_event_and_object_types_are_required(admin_client: Client, target: Webhook) -> None:
    response = admin_client.post(ADD_URL, form_data(target, event_types=[], object_types=[]))
    assert errors(response, "event_types") == ["This field is required."]
    assert errors(response, "object_types") == ["This field is required."]


def test_unregistered_object_type_is_rejected(admin_client: Client, target: Webhook) -> None:
    response = admin_client.post(
        ADD_URL, form_data(target, object_types=[content_type_id("auth.user")])
    )
    (message,) = errors(response, "object_types")
    assert "Select a valid choice" in message


def test_list_shows_webhook_object_types_and_event_types(
    admin_client: Client, target: Webhook
) -> None:
    make_rule(
        target,
        name="Devices",
        models=("inventory.device", "inventory.site"),
        events=("object_deleted",),
    )
    content = admin_client.get("/admin/webhooks_app/eventrule/").content.decode()
    assert "inventory.device, inventory.site" in content
    assert "Object deleted" in content
    assert "Target" in content


def test_list_filters_by_event_type_and_webhook(admin_client: Client, target: Webhook) -> None:
    other = make_webhook("https://other.example.com/", name="Other")
    make_rule(target, name="Created", events=("object_created",))
    make_rule(target, name="Deleted", events=("object_deleted", "object_updated"))
    make_rule(other, name="Elsewhere", events=("object_deleted",))
    by_event = admin_client.get("/admin/webhooks_app/eventrule/?event_type=object_deleted")
    assert [r.name for r in by_event.context["cl"].result_list] == ["Deleted", "Elsewhere"]
    both = admin_client.get(
        f"/admin/webhooks_app/eventrule/?event_type=object_deleted&webhook__id__exact={target.pk}"
    )
    assert [r.name for r in both.context["cl"].result_list] == ["Deleted"]
    disabled = admin_client.get("/admin/webhooks_app/eventrule/?enabled__exact=0")
    assert list(disabled.context["cl"].result_list) == []


def nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep: {"a": {"a": ... {} ...}}."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize("field", ["conditions", "action_data"])
def test_json_too_deep_out_of_range_or_unstorable_is_an_inline_error(
    admin_client: Client, target: Webhook, field: str
) -> None:
    """Each input is answered with the form again, the error next to the field and the text as
    typed; nothing is saved. (Deep JSON used to raise RecursionError: a 500.)"""
    cases = [
        (nested(65), "Invalid JSON at line 1, column 385: nested too deeply (more than 64 levels)"),
        (nested(1_000), "Invalid JSON at line 1, column 385: nested too deeply"),
        ("[" * 100_000, "Invalid JSON at line 1, column 65: nested too deeply"),
        ('{"and": [' * 5_000 + "{}" + "]}" * 5_000, "nested too deeply"),
        ('{"attr": "a", "value": 1e400}', "JSON numbers must be finite."),
        ('{"attr": "a", "value": ' + "9" * 5_000 + "}", "a number has more than 4300 digits"),
        ('{"attr": "a", "value": NaN}', "Invalid JSON: NaN is not a JSON value"),
        ('{"attr": "a\\u0000", "value": 1}', "cannot contain NUL characters"),
        ('{"attr": "a", "value": "\\udc00"}', "unpaired surrogates"),
    ]
    for text, message in cases:
        response = admin_client.post(ADD_URL, form_data(target, **{field: text}))
        assert response.status_code == 200, text[:40]
        (error,) = errors(response, field)
        assert message in error, (text[:40], error)
        assert response.context["adminform"].form[field].value() == text  # as typed
    assert not EventRule.objects.exists()
    # Just within the limit: saved.
    response = admin_client.post(ADD_URL, form_data(target, action_data=nested(64)))
    assert response.status_code == 302
    assert EventRule.objects.get().action_data is not None


@pytest.mark.parametrize("value", [str(2**64), "9" * 30, "abc"])
def test_values_that_cannot_be_ids_are_inline_errors(
    admin_client: Client, target: Webhook, value: str
) -> None:
    data = {**form_data(target, object_types=[value]), "webhook": value}
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 200
    for field in ("object_types", "webhook"):
        (message,) = errors(response, field)
        assert "Select a valid choice" in message


def test_list_filters_by_the_registered_object_types_only(
    admin_client: Client, target: Webhook
) -> None:
    make_rule(target, name="Sites", models=("inventory.site",))
    make_rule(target, name="Devices", models=("inventory.device", "inventory.tag"))
    response = admin_client.get("/admin/webhooks_app/eventrule/")
    [spec] = [s for s in response.context["cl"].filter_specs if s.title == "object type"]
    choices = [choice["display"] for choice in spec.choices(response.context["cl"])]
    assert choices == [
        "All",
        "Tag (inventory.tag)",
        "Site (inventory.site)",
        "Device (inventory.device)",
        "IP address (inventory.ipaddress)",
    ]
    by_type = admin_client.get("/admin/webhooks_app/eventrule/?object_type=inventory.device")
    assert [r.name for r in by_type.context["cl"].result_list] == ["Devices"]
    content = response.content.decode()
    assert "Permission (auth.permission)" not in content and "session" not in content
