"""URLs of the demo project."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

urlpatterns = [
    path("admin/background-tasks/", include("webhooks_app.urls")),
    path("admin/", admin.site.urls),
    path("api/inventory/", include("demo.inventory.api.urls")),
    path("api/webhooks/", include("webhooks_app.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The same schema twice: Swagger UI (try requests out) and ReDoc (read the reference).
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="demo/redoc.html"),
        name="api-redoc",
    ),
]
