"""Hostile and malformed requests get a 4xx that says what is wrong, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient
from rq import Queue

from tests.conftest import make_rule, make_webhook
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.models.validators import MAX_JSON_DEPTH, TOO_DEEP
from webhooks_app.receiver import Receiver

from .conftest import API

pytestmark = pytest.mark.django_db

HOOKS = f"{API}/webhooks/"
RULES = f"{API}/event-rules/"


@pytest.fixture
def hook() -> Webhook:
    return make_webhook("https://example.com/", name="Hook")


def post_raw(
    api: APIClient, url: str, body: str, content_type: str = "application/json"
) -> dict[str, object]:
    response = api.generic("POST", url, body, content_type=content_type)
    assert response.status_code == 400, response.content
    data: dict[str, object] = response.json()
    return data


def test_malformed_json_is_a_400_saying_where(api: APIClient) -> None:
    detail = str(post_raw(api, HOOKS, '{"name": "x",')["detail"])
    assert detail.startswith("JSON parse error")


def test_json_nested_too_deeply_to_parse_is_a_400(api: APIClient) -> None:
    detail = str(post_raw(api, HOOKS, "[" * 100_000 + "]" * 100_000)["detail"])
    assert "nested too deeply" in detail


def test_json_nested_deeper_than_storable_is_a_400_naming_the_field(
    api: APIClient, hook: Webhook
) -> None:
    deep = "{}"
    for _ in range(200):
        deep = '{"a": ' + deep + "}"
    body = (
        '{"name": "Deep", "object_types": ["inventory.site"], "event_types": ["object_created"],'
        f' "webhook": {hook.pk}, "action_data": {deep}}}'
    )
    assert "nested too deeply" in str(post_raw(api, RULES, body)["action_data"])


def test_nan_and_infinity_are_not_json(api: APIClient) -> None:
    assert "JSON parse error" in str(post_raw(api, HOOKS, '{"name": NaN}')["detail"])


def test_unpaired_surrogates_are_refused(api: APIClient, hook: Webhook) -> None:
    assert (
        "surrogate"
        in str(
            post_raw(api, HOOKS, '{"name": "\\ud800", "payload_url": "https://e.example/"}')
        ).lower()
    )
    body = (
        '{"name": "S", "object_types": ["inventory.site"], "event_types": ["object_created"],'
        f' "webhook": {hook.pk}, "conditions": {{"attr": "a", "value": "\\udc00"}}}}'
    )
    assert "unpaired surrogates" in str(post_raw(api, RULES, body)["conditions"])


def test_a_body_that_is_not_json_is_a_415(api: APIClient) -> None:
    response = api.generic(
        "POST", HOOKS, "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_a_detail_write_with_a_list_body_is_a_400(api: APIClient, hook: Webhook) -> None:
    response = api.patch(f"{HOOKS}{hook.pk}/", [{"name": "x"}], format="json")
    assert response.status_code == 400
    assert "Expected a dictionary" in str(response.json())


@pytest.mark.parametrize("pk", [str(2**63), str(10**40), "-1", "abc"])
def test_ids_that_cannot_exist_are_404s(api: APIClient, pk: str) -> None:
    assert api.get(f"{HOOKS}{pk}/").status_code == 404
    assert api.patch(f"{RULES}{pk}/", {}, format="json").status_code == 404
    assert api.post(f"{HOOKS}{pk}/render/", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    "params", [{"limit": "-3"}, {"limit": "abc"}, {"offset": str(10**40)}, {"limit": str(10**40)}]
)
def test_odd_pagination_values_fall_back_to_sane_pages(
    api: APIClient, hook: Webhook, params: dict[str, str]
) -> None:
    response = api.get(HOOKS, params)
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_nul_characters_in_query_parameters_are_a_400(api: APIClient) -> None:
    response = api.get(HOOKS, {"q": "a\x00b"})
    assert response.status_code == 400 and "q" in response.json()


def nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep: {"a": {"a": ... {} ...}}."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def rule_json(hook: Webhook, name: str, **raw: str) -> str:
    """An event rule as JSON text, with ``raw`` fields written as given."""
    fields = [
        f'"name": "{name}"',
        '"object_types": ["inventory.site"]',
        '"event_types": ["object_created"]',
        f'"webhook": {hook.pk}',
        *(f'"{field}": {text}' for field, text in raw.items()),
    ]
    return "{" + ", ".join(fields) + "}"


DEPTHS = [MAX_JSON_DEPTH + 1, 200, 10_000, 100_000]


@pytest.mark.parametrize("field", ["conditions", "action_data"])
def test_json_fields_too_deep_at_any_depth_are_that_fields_error(
    api: APIClient, hook: Webhook, field: str
) -> None:
    """Just over the limit or deep enough to exhaust a recursive decoder, on create and update:
    the same field error (the parser finds the field before decoding anything)."""
    rule = make_rule(hook, name="Existing")
    for depth in DEPTHS:
        body = rule_json(hook, f"Deep {depth}", **{field: nested(depth)})
        assert post_raw(api, RULES, body) == {field: [TOO_DEEP]}, depth
        response = api.generic(
            "PATCH", f"{RULES}{rule.pk}/", f'{{"{field}": {nested(depth)}}}', "application/json"
        )
        assert (response.status_code, response.json()) == (400, {field: [TOO_DEEP]}), depth
    assert list(EventRule.objects.values_list("name", flat=True)) == ["Existing"]


def test_a_bulk_item_too_deep_is_named_by_its_index(api: APIClient, hook: Webhook) -> None:
    rule = make_rule(hook, name="Existing")
    for depth in DEPTHS:
        body = f"[{rule_json(hook, 'Fine')}, {rule_json(hook, 'Deep', conditions=nested(depth))}]"
        assert post_raw(api, RULES, body) == {
            "detail": "Invalid item(s) at index 1; no changes were made.",
            "errors": [{"index": 1, "conditions": [TOO_DEEP]}],
        }
        patch = f'[{{"id": {rule.pk}, "action_data": {nested(depth)}}}]'
        response = api.generic("PATCH", RULES, patch, "application/json")
        assert response.status_code == 400
        assert response.json()["errors"] == [{"index": 0, "action_data": [TOO_DEEP]}]
    assert list(EventRule.objects.values_list("name", flat=True)) == ["Existing"]


def test_every_webhook_field_nested_too_deeply_is_that_fields_error(
    api: APIClient, hook: Webhook
) -> None:
    """Templates nested too deeply for Jinja2's parser, and JSON values nested too deeply to
    decode, in each field: created, updated and created in bulk."""
    parens = "{{ " + "(" * 5_000 + "1" + ")" * 5_000 + " }}"
    lists = "{{ " + "[" * 2_000 + "]" * 2_000 + " }}"
    blocks = "{% if true %}" * 3_000 + "x" + "{% endif %}" * 3_000
    url = "https://e.example/{{ " + "(" * 200 + "1" + ")" * 200 + " }}"
    cases = [("payload_url", url)] + [
        (field, template)
        for field in ("body_template", "additional_headers", "secret_headers")
        for template in (parens, lists, blocks)
    ]
    for field, template in cases:
        data = {"name": "Deep", "payload_url": "https://e.example/", field: template}
        response = api.post(HOOKS, data, format="json")
        assert response.status_code == 400 and list(response.json()) == [field], field
        assert "nested too deeply" in response.json()[field][0]
        response = api.patch(f"{HOOKS}{hook.pk}/", {field: template}, format="json")
        assert response.status_code == 400 and list(response.json()) == [field], field
        response = api.post(HOOKS, [data], format="json")
        assert response.status_code == 400 and field in response.json()["errors"][0], field
    for field in (
        "name",
        "payload_url",
        "body_template",
        "additional_headers",
        "secret",
        "secret_headers",
        "client_certificate",
        "client_key",
    ):
        body = f'{{"name": "Deep", "payload_url": "https://e.example/", "{field}": {nested(1000)}}}'
        assert post_raw(api, HOOKS, body) == {field: [TOO_DEEP]}
    assert list(Webhook.objects.all()) == [hook]


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
@pytest.mark.parametrize("field", ["conditions", "action_data"])
def test_numbers_out_of_range_are_refused(
    api: APIClient, hook: Webhook, field: str, number: str
) -> None:
    """1e400 decodes as infinity, which no JSON can hold: refused before it is stored."""
    body = rule_json(hook, "Huge", **{field: f'{{"attr": "a", "value": {number}}}'})
    assert post_raw(api, RULES, body) == {field: ["JSON numbers must be finite."]}


def test_integers_beyond_the_digit_limit_are_a_parse_error(api: APIClient, hook: Webhook) -> None:
    body = rule_json(hook, "Long", conditions='{"attr": "a", "value": ' + "9" * 5_000 + "}")
    assert post_raw(api, RULES, body) == {
        "detail": "JSON parse error: a number has more than 4300 digits"
    }


def test_a_body_that_is_not_text_in_its_charset_is_a_400(api: APIClient) -> None:
    response = api.generic("POST", HOOKS, b'{"name": "\xff"}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "JSON parse error: the body is not utf-8 text (invalid start byte at byte 10)."
    )
    response = api.generic("POST", HOOKS, b"{}", content_type="application/json; charset=bz2_codec")
    assert response.status_code == 400 and "charset" in response.json()["detail"]


def test_a_body_over_the_upload_limit_is_a_413_in_json(api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = api.post(HOOKS, {"name": "x" * 2_000}, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than the 1000 bytes accepted."}


def test_sample_events_nested_too_deeply_are_field_errors(
    api: APIClient, receiver: Receiver, webhook: Webhook
) -> None:
    """render and test read a sample event: a value nested too deeply is that field's error,
    and nothing is sent."""
    for action in ("render", "test"):
        for field in ("object_type", "object_id", "event_type"):
            body = f'{{"{field}": {nested(10_000)}}}'
            response = api.generic(
                "POST", f"{HOOKS}{webhook.pk}/{action}/", body, "application/json"
            )
            assert (response.status_code, response.json()) == (400, {field: [TOO_DEEP]})
        response = api.generic(
            "POST", f"{HOOKS}{webhook.pk}/{action}/", "[" * 100_000, "application/json"
        )
        assert response.status_code == 400
        assert "nested too deeply" in response.json()["detail"]
    assert receiver.requests == []


def test_actions_without_a_body_ignore_whatever_is_sent(
    api: APIClient, client_for: Callable[..., APIClient], queue: Queue, hook: Webhook
) -> None:
    """Redeliver and the background tasks' actions take no body: a hostile one changes nothing
    about the answer."""
    deep = "[" * 100_000
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(),
        webhook=hook,
        object_type="inventory.site",
        event_type="object_created",
        payload={},
    )
    tasks = f"{API}/background-tasks/"
    operator = client_for("view_delivery", "change_delivery")
    for client, url, status in [
        (api, f"{API}/deliveries/{delivery.pk}/redeliver/", 202),
        (operator, f"{tasks}queues/default/requeue-all/", 200),
        (operator, f"{tasks}jobs/no-such-job/requeue/", 404),
        (operator, f"{tasks}jobs/no-such-job/delete/", 404),
    ]:
        response = client.generic("POST", url, deep, "application/json")
        assert response.status_code == status, url
