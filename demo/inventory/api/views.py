"""Inventory API viewsets: CRUD plus NetBox-style bulk operations on each list endpoint."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from demo.inventory.models import Device, IPAddress, Site, Tag

from .bulk import BulkModelViewSet
from .conflicts import CONFLICT_ERRORS, Conflict, describe_conflict
from .schema import BulkAutoSchema
from .serializers import DeviceSerializer, IPAddressSerializer, SiteSerializer, TagSerializer

M = TypeVar("M", bound=Model)


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, and reading needs the view permission (as in NetBox)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class InventoryViewSet(BulkModelViewSet[M]):
    """Each write runs in one transaction (an object and its tags are saved together), and a
    write that hits a protected relation or a constraint answers 409, not 500."""

    permission_classes = [ModelPermissions]
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

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, CONFLICT_ERRORS):
            exc = Conflict(describe_conflict(exc))
        return super().handle_exception(exc)


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
