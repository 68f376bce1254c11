from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from demo.inventory.models import Device, IPAddress, Site, Tag
from tests.inventory.factories import make_device, make_site, make_tag, make_user, token_client

pytestmark = pytest.mark.django_db

BASE = "/api/inventory"


def test_api_root_lists_the_endpoints(api: APIClient) -> None:
    response = api.get(f"{BASE}/")
    assert response.status_code == 200
    assert set(response.json()) == {"tags", "sites", "devices", "ip-addresses"}


def test_tag_crud(api: APIClient) -> None:
    created = api.post(f"{BASE}/tags/", {"name": "Lab", "slug": "lab"}, format="json")
    assert created.status_code == 201, created.json()
    url = f"{BASE}/tags/{created.json()['id']}/"
    assert created.json()["url"] == f"http://testserver{url}"
    assert api.get(url).json()["name"] == "Lab"
    changed = api.patch(url, {"color": "ff0000"}, format="json")
    assert changed.json()["color"] == "ff0000"
    replaced = api.put(url, {"name": "Lab 2", "slug": "lab-2"}, format="json")
    assert replaced.json()["slug"] == "lab-2"
    assert api.delete(url).status_code == 204
    assert not Tag.objects.exists()


def test_site_crud(api: APIClient) -> None:
    tag = make_tag()
    body = {"name": "Berlin", "slug": "ber", "status": "planned", "asn": 65002, "tags": [tag.pk]}
    created = api.post(f"{BASE}/sites/", body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["status"] == {"value": "planned", "label": "Planned"}
    assert [t["slug"] for t in data["tags"]] == ["lab"]
    url = f"{BASE}/sites/{data['id']}/"
    changed = api.patch(url, {"status": "active", "tags": []}, format="json")
    assert changed.json()["status"]["value"] == "active"
    assert changed.json()["tags"] == []
    assert api.get(f"{BASE}/sites/").json()["count"] == 1
    assert api.delete(url).status_code == 204
    assert not Site.objects.exists()


def test_device_crud(api: APIClient) -> None:
    site = make_site()
    created = api.post(f"{BASE}/devices/", {"name": "core-1", "site": site.pk}, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["site"]["id"] == site.pk
    assert data["site"]["url"] == f"http://testserver{BASE}/sites/{site.pk}/"
    url = f"{BASE}/devices/{data['id']}/"
    changed = api.patch(url, {"status": "offline", "serial": "SN1"}, format="json")
    assert changed.json()["status"] == {"value": "offline", "label": "Offline"}
    assert api.delete(url).status_code == 204
    assert not Device.objects.exists()


def test_ip_address_crud(api: APIClient) -> None:
    device = make_device()
    body = {"address": "10.0.0.1/24", "device": device.pk, "dns_name": "a.example"}
    created = api.post(f"{BASE}/ip-addresses/", body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["device"]["name"] == device.name
    url = f"{BASE}/ip-addresses/{data['id']}/"
    assert api.patch(url, {"device": None}, format="json").json()["device"] is None
    bad = api.patch(url, {"address": "10.0.0.1"}, format="json")
    assert bad.status_code == 400
    assert "address" in bad.json()
    assert api.delete(url).status_code == 204
    assert not IPAddress.objects.exists()


def test_list_is_paginated_and_filterable(api: APIClient) -> None:
    make_site("A", status="planned")
    make_site("B")
    response = api.get(f"{BASE}/sites/", {"status": "planned"})
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0]["name"] == "A"
    assert set(body) == {"count", "next", "previous", "results"}


def test_list_of_devices_does_not_query_per_device(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    site = make_site()
    for number in range(10):
        make_device(f"d{number}", site=site).tags.set([make_tag(f"t{number}")])
    # Token auth (2), count, page, tags prefetch.
    with django_assert_max_num_queries(5):
        assert len(api.get(f"{BASE}/devices/").json()["results"]) == 10


def test_validation_errors_are_400_by_field(api: APIClient) -> None:
    make_site("Taken", slug="taken")
    response = api.post(f"{BASE}/sites/", {"name": "Taken", "slug": "x y"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "name": ["site with this name already exists."],
        "slug": ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
    }


@pytest.mark.parametrize("body", ['"text"', "42", "null"])
def test_a_body_that_is_neither_object_nor_list_is_400(api: APIClient, body: str) -> None:
    response = api.post(f"{BASE}/sites/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Expected an object or a list of objects."}


def test_malformed_json_is_400(api: APIClient) -> None:
    response = api.post(f"{BASE}/sites/", "{", content_type="application/json")
    assert response.status_code == 400


def test_json_nested_too_deeply_to_parse_is_400(api: APIClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = api.generic("POST", f"{BASE}/sites/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("tag", ["1e400", '{"id": 1e400}', "1.5", str(2**63)])
def test_a_tag_reference_no_id_can_match_is_400(api: APIClient, tag: str) -> None:
    body = f'{{"name": "S", "slug": "s", "tags": [{tag}]}}'
    response = api.generic("POST", f"{BASE}/sites/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["tags"]
    assert not Site.objects.exists()


def test_options_on_a_list_url_describes_the_create_form(api: APIClient) -> None:
    response = api.options(f"{BASE}/sites/")
    assert response.status_code == 200
    assert list(response.json()["actions"]) == ["POST"]


def test_deleting_a_site_with_devices_is_409(api: APIClient) -> None:
    device = make_device("core-1")
    response = api.delete(f"{BASE}/sites/{device.site_id}/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Cannot delete: 1 dependent object(s) refer to it: device core-1."
    }
    assert Site.objects.filter(pk=device.site_id).exists()


def test_unknown_object_is_404(api: APIClient) -> None:
    assert api.get(f"{BASE}/sites/999/").status_code == 404


# Authentication and permissions


def test_unauthenticated_requests_are_401() -> None:
    assert APIClient().get(f"{BASE}/sites/").status_code == 401


def test_a_wrong_token_is_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000")
    assert client.get(f"{BASE}/sites/").status_code == 401


def test_session_authentication_works() -> None:
    make_user("inventory.view_site")
    client = APIClient()
    assert client.login(username="user", password="pw")
    assert client.get(f"{BASE}/sites/").status_code == 200


def test_session_writes_need_a_csrf_token() -> None:
    make_user("inventory.add_site")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="user", password="pw")
    response = client.post(f"{BASE}/sites/", {"name": "S", "slug": "s"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_view_permission_allows_reading_but_not_creating() -> None:
    client = token_client(make_user("inventory.view_site"))
    assert client.get(f"{BASE}/sites/").status_code == 200
    response = client.post(f"{BASE}/sites/", {"name": "S", "slug": "s"}, format="json")
    assert response.status_code == 403
    assert not Site.objects.exists()


def test_view_permission_does_not_allow_bulk_writes() -> None:
    site = make_site()
    client = token_client(make_user("inventory.view_site"))
    assert (
        client.post(f"{BASE}/sites/", [{"name": "S", "slug": "s"}], format="json").status_code
        == 403
    )
    assert client.patch(f"{BASE}/sites/", [{"id": site.pk}], format="json").status_code == 403
    assert client.delete(f"{BASE}/sites/", [{"id": site.pk}], format="json").status_code == 403


def test_reading_needs_the_view_permission() -> None:
    client = token_client(make_user("inventory.view_device"))
    assert client.get(f"{BASE}/sites/").status_code == 403
    assert client.get(f"{BASE}/devices/").status_code == 200


def test_add_permission_allows_creating() -> None:
    client = token_client(make_user("inventory.add_site"))
    response = client.post(f"{BASE}/sites/", {"name": "S", "slug": "s"}, format="json")
    assert response.status_code == 201
