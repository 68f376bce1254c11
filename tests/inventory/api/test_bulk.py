from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_delete
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from demo.inventory.models import Device, Site, Tag
from tests.inventory.factories import make_device, make_site, make_tag

pytestmark = pytest.mark.django_db

SITES = "/api/inventory/sites/"


@pytest.fixture
def saved_sites() -> Iterator[list[Site]]:
    """The sites passed to post_save, in order."""
    seen: list[Site] = []

    def remember(sender: type[Site], instance: Site, **kwargs: Any) -> None:
        seen.append(instance)

    post_save.connect(remember, sender=Site)
    yield seen
    post_save.disconnect(remember, sender=Site)


# Bulk create


def test_bulk_create_returns_the_objects_in_request_order(api: APIClient) -> None:
    tag = make_tag()
    body = [
        {"name": "B", "slug": "b", "tags": [tag.pk]},
        {"name": "A", "slug": "a", "status": "planned"},
    ]
    response = api.post(SITES, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [item["name"] for item in data] == ["B", "A"]
    assert data[0]["tags"][0]["slug"] == "lab"
    assert data[1]["status"]["value"] == "planned"
    assert Site.objects.count() == 2


def test_bulk_create_saves_each_object_so_signals_fire(
    api: APIClient, saved_sites: list[Site]
) -> None:
    body = [{"name": f"S{n}", "slug": f"s{n}"} for n in range(3)]
    assert api.post(SITES, body, format="json").status_code == 201
    assert [site.name for site in saved_sites] == ["S0", "S1", "S2"]


def test_bulk_create_with_an_invalid_item_creates_nothing(api: APIClient) -> None:
    body = [{"name": "A", "slug": "a"}, {"slug": "b"}, {"name": "C", "slug": "c"}]
    response = api.post(SITES, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid item(s) at index 1; no changes were made.",
        "errors": [{"index": 1, "name": ["This field is required."]}],
    }
    assert not Site.objects.exists()


def test_bulk_create_reports_every_invalid_item(api: APIClient) -> None:
    body = [{"name": "A"}, {"name": "B", "slug": "b"}, {"name": "C", "status": "gone"}]
    response = api.post(SITES, body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["index"] for error in errors] == [0, 2]
    assert errors[1]["status"] == ['"gone" is not a valid choice.']
    assert not Site.objects.exists()


def test_bulk_create_with_a_duplicate_slug_in_the_request_creates_nothing(api: APIClient) -> None:
    body = [{"name": "A", "slug": "same"}, {"name": "B", "slug": "same"}]
    response = api.post(SITES, body, format="json")
    assert response.status_code in (400, 409)
    assert response.json()["errors"] == [
        {"index": 1, "slug": ["site with this slug already exists."]}
    ]
    assert not Site.objects.exists()


def test_bulk_create_with_a_non_object_item_is_400(api: APIClient) -> None:
    response = api.post(SITES, [{"name": "A", "slug": "a"}, 7], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "detail": "Expected an object."}]
    assert not Site.objects.exists()


def test_bulk_create_of_an_empty_list_is_400(api: APIClient) -> None:
    response = api.post(SITES, [], format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Expected a non-empty list of objects."


def test_bulk_create_devices_refers_to_sites_by_id(api: APIClient) -> None:
    site = make_site()
    body = [{"name": "d1", "site": site.pk}, {"name": "d2", "site": site.pk}]
    response = api.post("/api/inventory/devices/", body, format="json")
    assert response.status_code == 201
    assert Device.objects.filter(site=site).count() == 2


# Bulk update


@pytest.mark.parametrize("method", ["patch", "put"])
def test_bulk_update_changes_each_object(api: APIClient, method: str) -> None:
    a, b = make_site("A"), make_site("B")
    body = [
        {"id": b.pk, "name": "B2", "slug": "b2", "status": "retired"},
        {"id": a.pk, "name": "A2", "slug": "a2"},
    ]
    response = getattr(api, method)(SITES, body, format="json")
    assert response.status_code == 200, response.json()
    assert [item["name"] for item in response.json()] == ["B2", "A2"]
    b.refresh_from_db()
    assert (b.name, b.status) == ("B2", "retired")


def test_bulk_put_needs_every_required_field(api: APIClient) -> None:
    site = make_site("A")
    response = api.put(SITES, [{"id": site.pk, "description": "x"}], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["id"] == site.pk
    assert "name" in response.json()["errors"][0]


def test_bulk_update_with_an_invalid_item_changes_nothing(api: APIClient) -> None:
    a, b = make_site("A"), make_site("B")
    body = [{"id": a.pk, "description": "changed"}, {"id": b.pk, "name": "A"}]
    response = api.patch(SITES, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "id": b.pk, "name": ["site with this name already exists."]}
    ]
    a.refresh_from_db()
    assert a.description == ""


def test_bulk_update_of_unknown_ids_is_400_naming_them(api: APIClient) -> None:
    site = make_site("A")
    body = [{"id": site.pk, "description": "x"}, {"id": 998}, {"id": 999}]
    response = api.patch(SITES, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Unknown id(s): 998, 999; no changes were made.",
        "errors": [
            {"index": 1, "id": 998, "detail": "Not found."},
            {"index": 2, "id": 999, "detail": "Not found."},
        ],
    }
    site.refresh_from_db()
    assert site.description == ""


@pytest.mark.parametrize(
    "item", [{"description": "x"}, {"id": "1"}, {"id": True}, {"id": 0}, {"id": 2**63}]
)
def test_bulk_update_items_need_an_integer_id(api: APIClient, item: dict[str, Any]) -> None:
    response = api.patch(SITES, [item], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "detail": 'Each object needs an integer "id".'}
    ]


def test_bulk_update_rejects_a_repeated_id(api: APIClient) -> None:
    site = make_site()
    response = api.patch(SITES, [{"id": site.pk}, {"id": site.pk}], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "id": site.pk, "detail": "Duplicate id; already given at index 0."}
    ]


@pytest.mark.parametrize("body", [{"id": 1}, [], "text"])
def test_bulk_update_needs_a_non_empty_list(api: APIClient, body: Any) -> None:
    response = api.patch(SITES, body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Expected a non-empty list of objects."


def test_bulk_update_fetches_the_objects_in_one_query(
    api: APIClient, saved_sites: list[Site]
) -> None:
    sites = [make_site(f"S{n}") for n in range(20)]
    saved_sites.clear()
    body = [{"id": site.pk, "description": "bulk"} for site in sites]
    with CaptureQueriesContext(connection) as queries:
        response = api.patch(SITES, body, format="json")
    assert response.status_code == 200
    statements = [q["sql"] for q in queries]
    first_update = next(i for i, sql in enumerate(statements) if sql.startswith("UPDATE"))
    fetches = [sql for sql in statements[:first_update] if '"inventory_site"."id" IN (' in sql]
    assert len(fetches) == 1
    assert len(saved_sites) == 20
    assert Site.objects.filter(description="bulk").count() == 20


def test_bulk_update_of_tags_by_slug(api: APIClient) -> None:
    site = make_site()
    make_tag("Edge")
    response = api.patch(SITES, [{"id": site.pk, "tags": [{"slug": "edge"}]}], format="json")
    assert response.status_code == 200
    assert response.json()[0]["tags"][0]["name"] == "Edge"
    assert list(site.tags.values_list("slug", flat=True)) == ["edge"]


# Bulk delete


def test_bulk_delete_deletes_each_object(api: APIClient) -> None:
    tags = [make_tag(f"T{n}") for n in range(3)]
    deleted: list[int] = []

    def remember(sender: type[Tag], instance: Tag, **kwargs: Any) -> None:
        deleted.append(instance.pk)

    pre_delete.connect(remember, sender=Tag)
    try:
        body = [{"id": tag.pk} for tag in tags[:2]]
        response = api.delete("/api/inventory/tags/", body, format="json")
    finally:
        pre_delete.disconnect(remember, sender=Tag)
    assert response.status_code == 204
    assert deleted == [tags[0].pk, tags[1].pk]
    assert list(Tag.objects.all()) == [tags[2]]


def test_bulk_delete_of_a_protected_site_is_409_and_deletes_nothing(api: APIClient) -> None:
    free = make_site("Free")
    busy = make_device("core-1", site=make_site("Busy")).site
    response = api.delete(SITES, [{"id": free.pk}, {"id": busy.pk}], format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Item at index 1 conflicts with stored data; no changes were made.",
        "errors": [
            {
                "index": 1,
                "id": busy.pk,
                "detail": "Cannot delete: 1 dependent object(s) refer to it: device core-1.",
            }
        ],
    }
    assert Site.objects.count() == 2


def test_bulk_delete_of_unknown_ids_is_400_and_deletes_nothing(api: APIClient) -> None:
    site = make_site()
    response = api.delete(SITES, [{"id": site.pk}, {"id": 12345}], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "id": 12345, "detail": "Not found."}]
    assert Site.objects.exists()


def test_bulk_delete_without_a_body_is_400(api: APIClient) -> None:
    response = api.delete(SITES)
    assert response.status_code == 400
    assert response.json()["detail"] == "Expected a non-empty list of objects."


@pytest.mark.parametrize("object_id", [2**63, 10**40])
def test_bulk_delete_of_an_id_beyond_64_bits_is_400(api: APIClient, object_id: int) -> None:
    response = api.delete(SITES, [{"id": object_id}], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "detail": 'Each object needs an integer "id".'}
    ]
