from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from rest_framework.exceptions import ValidationError

from demo.inventory.api.fields import (
    BriefRelatedField,
    ValueLabelChoiceField,
    detail_path,
    route_basename,
)
from demo.inventory.api.serializers import BriefDeviceSerializer, SiteSerializer
from demo.inventory.models import Device, IPAddress, Site, Tag
from tests.inventory.factories import make_device, make_site


def test_route_basename_is_app_label_and_model_name() -> None:
    assert route_basename(IPAddress) == "inventory-ipaddress"


@pytest.mark.parametrize("pk", [1, 987654321, "a-b"])
def test_detail_path_is_what_reverse_gives(pk: object) -> None:
    expected = reverse("inventory-site-detail", kwargs={"pk": pk})
    assert detail_path(Site, pk) == expected


def test_detail_path_follows_the_script_prefix() -> None:
    assert detail_path(Site, 7) == "/api/inventory/sites/7/"
    set_script_prefix("/netbox/")
    try:
        assert detail_path(Site, 7) == "/netbox/api/inventory/sites/7/"
    finally:
        set_script_prefix("/")
    assert detail_path(Site, 7) == "/api/inventory/sites/7/"


def test_choice_reads_value_and_label_and_blank_as_null() -> None:
    field = ValueLabelChoiceField(choices=[("a", "Alpha")], allow_blank=True)
    assert field.to_representation("a") == {"value": "a", "label": "Alpha"}
    assert field.to_representation("") is None
    assert field.to_internal_value("") == ""


def test_choice_rejects_a_list() -> None:
    field = ValueLabelChoiceField(choices=[("a", "Alpha")])
    with pytest.raises(ValidationError):
        field.to_internal_value(["a"])


@pytest.mark.django_db
def test_lookup_matching_several_objects_is_rejected() -> None:
    site = make_site()
    make_device("twin", site=site)
    make_device("twin", site=site)
    field: BriefRelatedField[Device] = BriefRelatedField(
        serializer=BriefDeviceSerializer, lookups=("name",), queryset=Device.objects.all()
    )
    with pytest.raises(ValidationError) as info:
        field.to_internal_value({"name": "twin"})
    assert info.value.detail == ["More than one object matches {'name': 'twin'}."]


@pytest.mark.django_db
def test_lookup_by_id_of_the_wrong_type_is_no_match() -> None:
    field: BriefRelatedField[Device] = BriefRelatedField(
        serializer=BriefDeviceSerializer, queryset=Device.objects.all()
    )
    with pytest.raises(ValidationError) as info:
        field.to_internal_value({"id": "seven"})
    assert info.value.detail == ["No object matches {'id': 'seven'}."]


@pytest.mark.django_db
def test_prefetched_tags_are_read_from_the_prefetch_cache() -> None:
    site = make_site()
    site.tags.add(Tag.objects.create(name="Red", slug="red"))
    serializer = SiteSerializer(context={"request": None})
    expected = serializer.to_representation(Site.objects.get(pk=site.pk))["tags"]
    prefetched = Site.objects.prefetch_related("tags").get(pk=site.pk)
    with CaptureQueriesContext(connection) as queries:
        tags = serializer.to_representation(prefetched)["tags"]
    assert len(queries) == 0
    assert tags == expected
    assert [tag["name"] for tag in tags] == ["Red"]


@pytest.mark.django_db
def test_tags_not_prefetched_are_queried() -> None:
    site = make_site()
    site.tags.add(Tag.objects.create(name="Red", slug="red"))
    serializer = SiteSerializer(context={"request": None})
    with CaptureQueriesContext(connection) as queries:
        tags = serializer.to_representation(Site.objects.get(pk=site.pk))["tags"]
    assert len(queries) == 2  # the site, then its tags
    assert [tag["name"] for tag in tags] == ["Red"]


def test_an_unsaved_object_has_no_tags() -> None:
    assert SiteSerializer(context={"request": None}).fields["tags"].get_attribute(Site()) == []
