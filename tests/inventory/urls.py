"""Only the inventory API, so its OpenAPI schema can be checked apart from other apps."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/inventory/", include("demo.inventory.api.urls")),
]
