from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from demo.inventory.api.serializers import (
    DeviceSerializer,
    IPAddressSerializer,
    SiteSerializer,
    TagSerializer,
)
from demo.inventory.models import Site
from tests.inventory.factories import make_device, make_ip, make_site, make_tag

pytestmark = pytest.mark.django_db


def test_without_a_request_urls_are_relative() -> None:
    site = make_site()
    site.tags.set([make_tag()])
    data = SiteSerializer(site, context={"request": None}).data
    assert data["url"] == f"/api/inventory/sites/{site.pk}/"
    assert data["tags"][0]["url"].startswith("/api/inventory/tags/")


def test_without_any_context_urls_are_relative() -> None:
    site = make_site()
    assert SiteSerializer(site).data["url"] == f"/api/inventory/sites/{site.pk}/"


def test_with_a_request_urls_are_absolute() -> None:
    site = make_site()
    request = APIRequestFactory().get("/api/inventory/sites/")
    data = SiteSerializer(site, context={"request": request}).data
    assert data["url"] == f"http://testserver/api/inventory/sites/{site.pk}/"


def test_site_has_netbox_shape() -> None:
    site = make_site("Amsterdam", slug="ams", status="planned", asn=65001, description="d")
    site.tags.set([make_tag("Edge", color="2196f3")])
    data: dict[str, Any] = SiteSerializer(site, context={"request": None}).data
    tag = site.tags.get()
    assert list(data) == [
        "id",
        "url",
        "display",
        "name",
        "slug",
        "status",
        "description",
        "asn",
        "tags",
        "created",
        "last_updated",
    ]
    assert data["display"] == "Amsterdam"
    assert data["status"] == {"value": "planned", "label": "Planned"}
    assert data["tags"] == [
        {
            "id": tag.pk,
            "url": f"/api/inventory/tags/{tag.pk}/",
            "display": "Edge",
            "name": "Edge",
            "slug": "edge",
            "color": "2196f3",
        }
    ]
    assert data["created"].endswith("Z")


def test_device_site_is_a_brief_site() -> None:
    device = make_device("core-1", site=make_site("Berlin", slug="ber"))
    data = DeviceSerializer(device, context={"request": None}).data
    assert data["site"] == {
        "id": device.site_id,
        "url": f"/api/inventory/sites/{device.site_id}/",
        "display": "Berlin",
        "name": "Berlin",
        "slug": "ber",
    }
    assert data["status"] == {"value": "active", "label": "Active"}


def test_ip_address_device_is_a_brief_device_or_null() -> None:
    device = make_device("core-1")
    assigned = IPAddressSerializer(make_ip(device=device), context={"request": None}).data
    unassigned = IPAddressSerializer(make_ip("10.0.0.2/24"), context={"request": None}).data
    assert assigned["device"] == {
        "id": device.pk,
        "url": f"/api/inventory/devices/{device.pk}/",
        "display": "core-1",
        "name": "core-1",
    }
    assert assigned["display"] == "10.0.0.1/24"
    assert unassigned["device"] is None


def test_tag_has_its_fields() -> None:
    data = TagSerializer(make_tag("Lab", description="x"), context={"request": None}).data
    assert data["color"] == "9e9e9e"
    assert data["description"] == "x"
    assert data["url"].startswith("/api/inventory/tags/")


def test_a_prefetched_tags_cache_is_used() -> None:
    for number in range(3):
        make_site(f"Site {number}").tags.set([make_tag(f"Tag {number}")])
    sites = list(Site.objects.prefetch_related("tags"))
    with CaptureQueriesContext(connection) as queries:
        data = SiteSerializer(sites, many=True, context={"request": None}).data
    assert len(queries) == 0
    assert [len(item["tags"]) for item in data] == [1, 1, 1]


def test_choice_written_as_the_bare_value() -> None:
    serializer = SiteSerializer(data={"name": "S", "slug": "s", "status": "retired"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.save().status == "retired"


def test_choice_written_as_an_object_is_rejected() -> None:
    serializer = SiteSerializer(data={"name": "S", "slug": "s", "status": {"value": "retired"}})
    assert not serializer.is_valid()
    assert "status" in serializer.errors


def test_unknown_choice_is_rejected() -> None:
    serializer = SiteSerializer(data={"name": "S", "slug": "s", "status": "closed"})
    assert not serializer.is_valid()
    assert serializer.errors["status"] == ['"closed" is not a valid choice.']


def test_tags_written_as_ids_or_lookup_objects() -> None:
    lab, edge, core = make_tag("Lab"), make_tag("Edge"), make_tag("Core")
    serializer = SiteSerializer(
        data={"name": "S", "slug": "s", "tags": [lab.pk, {"slug": "edge"}, {"name": "Core"}]}
    )
    assert serializer.is_valid(), serializer.errors
    assert set(serializer.save().tags.all()) == {lab, edge, core}


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([{"color": "9e9e9e"}], "Pass an id or an object with exactly one of: id, name, slug."),
        ([{"slug": "nope"}], "No object matches {'slug': 'nope'}."),
        ([999], 'Invalid pk "999" - object does not exist.'),
    ],
)
def test_bad_tag_references_are_rejected(tags: list[Any], message: str) -> None:
    serializer = SiteSerializer(data={"name": "S", "slug": "s", "tags": tags})
    assert not serializer.is_valid()
    assert serializer.errors["tags"] == [message]


def test_device_site_written_as_an_id() -> None:
    site = make_site()
    serializer = DeviceSerializer(data={"name": "d", "site": site.pk})
    assert serializer.is_valid(), serializer.errors
    assert serializer.save().site == site


def test_ip_address_is_validated() -> None:
    serializer = IPAddressSerializer(data={"address": "10.0.0.1"})
    assert not serializer.is_valid()
    assert "address" in serializer.errors


def test_ip_address_device_can_be_cleared() -> None:
    ip = make_ip(device=make_device())
    serializer = IPAddressSerializer(ip, data={"device": None}, partial=True)
    assert serializer.is_valid(), serializer.errors
    assert serializer.save().device is None
