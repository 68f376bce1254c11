"""Admin pages of the inventory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from .models import Device, IPAddress, Site, Tag

# django-stubs makes ModelAdmin generic, but Django's class cannot be subscripted at run time.
if TYPE_CHECKING:
    TagAdminBase = admin.ModelAdmin[Tag]
    SiteAdminBase = admin.ModelAdmin[Site]
    DeviceAdminBase = admin.ModelAdmin[Device]
    IPAddressAdminBase = admin.ModelAdmin[IPAddress]
else:
    TagAdminBase = SiteAdminBase = DeviceAdminBase = IPAddressAdminBase = admin.ModelAdmin


@admin.register(Tag)
class TagAdmin(TagAdminBase):
    list_display = ["name", "slug", "color", "description", "last_updated"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Site)
class SiteAdmin(SiteAdminBase):
    list_display = ["name", "slug", "status", "asn", "description", "last_updated"]
    list_filter = ["status", "tags"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["tags"]


@admin.register(Device)
class DeviceAdmin(DeviceAdminBase):
    list_display = ["name", "site", "status", "serial", "last_updated"]
    list_filter = ["status", "site", "tags"]
    list_select_related = ["site"]
    search_fields = ["name", "serial", "site__name"]
    filter_horizontal = ["tags"]


@admin.register(IPAddress)
class IPAddressAdmin(IPAddressAdminBase):
    list_display = ["address", "status", "dns_name", "device", "last_updated"]
    list_filter = ["status", "tags"]
    list_select_related = ["device"]
    search_fields = ["address", "dns_name", "device__name"]
    autocomplete_fields = ["device"]
    filter_horizontal = ["tags"]
