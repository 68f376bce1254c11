"""Inventory API viewsets: CRUD plus NetBox-style bulk operations on each list endpoint.

Built on the webhooks API's machinery (``webhooks_app.api``): its bulk viewset, OpenAPI schema,
model permissions, bounded pagination and 409s for conflicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from demo.inventory.models import Device, IPAddress, Site, Tag
from webhooks_app.api.bulk import BulkModelViewSet
from webhooks_app.api.parsing import SafeJSONParser
from webhooks_app.api.views import ApiViewMixin

from .schema import BulkAutoSchema  # also registers the inventory fields' schema extensions
from .serializers import DeviceSerializer, IPAddressSerializer, SiteSerializer, TagSerializer

__all__ = ["DeviceViewSet", "IPAddressViewSet", "InventoryViewSet", "SiteViewSet", "TagViewSet"]

M = TypeVar("M", bound=Model)


class InventoryViewSet(ApiViewMixin, BulkModelViewSet[M]):
    """Each write runs in one transaction (an object and its tags are saved together), and a
    write that hits a protected relation or a constraint answers 409, not 500."""

    # DRF's parsers, with JSON nested too deeply a 400 rather than a RecursionError (500).
    parser_classes: Sequence[type[BaseParser]] = [SafeJSONParser, FormParser, MultiPartParser]
    schema = BulkAutoSchema()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().create(request, *args, **kwargs)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)


class TagViewSet(InventoryViewSet[Tag]):
    """Tags, to label sites, devices and IP addresses."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filterset_fields = ["name", "slug", "color"]


class SiteViewSet(InventoryViewSet[Site]):
    """Sites. A site with devices cannot be deleted (409)."""

    queryset = Site.objects.prefetch_related("tags")
    serializer_class = SiteSerializer
    filterset_fields = ["name", "slug", "status", "asn"]


class DeviceViewSet(InventoryViewSet[Device]):
    """Devices, each at a site."""

    queryset = Device.objects.select_related("site").prefetch_related("tags")
    serializer_class = DeviceSerializer
    filterset_fields = ["name", "site", "status", "serial"]


class IPAddressViewSet(InventoryViewSet[IPAddress]):
    """IP addresses with prefix length (such as 10.0.0.1/24), optionally on a device."""

    queryset = IPAddress.objects.select_related("device").prefetch_related("tags")
    serializer_class = IPAddressSerializer
    filterset_fields = ["address", "status", "dns_name", "device"]
