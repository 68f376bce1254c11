"""Inventory API routes, mounted under /api/inventory/ by the demo project (no namespace)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from demo.inventory.models import Device, IPAddress, Site, Tag
from webhooks_app.api.bulk import BulkRouter

from .fields import route_basename
from .views import DeviceViewSet, IPAddressViewSet, SiteViewSet, TagViewSet

router = BulkRouter()
router.register("tags", TagViewSet, basename=route_basename(Tag))
router.register("sites", SiteViewSet, basename=route_basename(Site))
router.register("devices", DeviceViewSet, basename=route_basename(Device))
router.register("ip-addresses", IPAddressViewSet, basename=route_basename(IPAddress))

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)
