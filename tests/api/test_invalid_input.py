"""Hostile and malformed requests get a 4xx that says what is wrong, never a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_webhook
from webhooks_app.models import Webhook

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
