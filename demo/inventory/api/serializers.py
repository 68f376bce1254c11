"""API serializers of the inventory, also used to build the ``data`` of webhook payloads.

They need no request: ``SiteSerializer(site, context={"request": None}).data`` gives relative
URLs such as ``/api/inventory/sites/1/``. Tags are read through ``obj.tags.all()``, so a
``prefetch_related("tags")`` on the queryset is honoured.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model
from rest_framework import serializers

from demo.inventory.models import Device, IPAddress, Site, Tag

from .fields import ApiUrlField, BriefRelatedField, ValueLabelChoiceField

M = TypeVar("M", bound=Model)


class InventoryModelSerializer(serializers.ModelSerializer[M]):
    """Adds ``url`` and ``display``; model choice fields read as ``{value, label}``."""

    serializer_choice_field = ValueLabelChoiceField

    url = ApiUrlField()
    display = serializers.SerializerMethodField()

    def get_display(self, obj: M) -> str:
        return str(obj)


# Brief forms: how an object appears when nested in another one.


class BriefTagSerializer(InventoryModelSerializer[Tag]):
    class Meta:
        model = Tag
        fields = ["id", "url", "display", "name", "slug", "color"]


class BriefSiteSerializer(InventoryModelSerializer[Site]):
    class Meta:
        model = Site
        fields = ["id", "url", "display", "name", "slug"]


class BriefDeviceSerializer(InventoryModelSerializer[Device]):
    class Meta:
        model = Device
        fields = ["id", "url", "display", "name"]


def tags_field() -> Any:
    """The ``tags`` field: brief tags on read; ids or ``{"id"|"name"|"slug": ...}`` on write."""
    return BriefRelatedField(
        serializer=BriefTagSerializer,
        lookups=("id", "name", "slug"),
        queryset=Tag.objects.all(),
        many=True,
        required=False,
    )


# Full forms.


class TagSerializer(InventoryModelSerializer[Tag]):
    class Meta:
        model = Tag
        fields = [
            "id",
            "url",
            "display",
            "name",
            "slug",
            "color",
            "description",
            "created",
            "last_updated",
        ]


class SiteSerializer(InventoryModelSerializer[Site]):
    tags = tags_field()

    class Meta:
        model = Site
        fields = [
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


class DeviceSerializer(InventoryModelSerializer[Device]):
    site: BriefRelatedField[Site] = BriefRelatedField(
        serializer=BriefSiteSerializer,
        lookups=("id", "name", "slug"),
        queryset=Site.objects.all(),
    )
    tags = tags_field()

    class Meta:
        model = Device
        fields = [
            "id",
            "url",
            "display",
            "name",
            "site",
            "status",
            "serial",
            "tags",
            "created",
            "last_updated",
        ]


class IPAddressSerializer(InventoryModelSerializer[IPAddress]):
    device: BriefRelatedField[Device] = BriefRelatedField(
        serializer=BriefDeviceSerializer,
        queryset=Device.objects.all(),
        allow_null=True,
        required=False,
    )
    tags = tags_field()

    class Meta:
        model = IPAddress
        fields = [
            "id",
            "url",
            "display",
            "address",
            "status",
            "dns_name",
            "device",
            "tags",
            "created",
            "last_updated",
        ]
