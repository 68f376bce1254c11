"""REST API URLs (mounted under /api/webhooks/ by the project)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "webhooks_api"
urlpatterns: list[URLPattern | URLResolver] = []
