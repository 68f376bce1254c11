from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Model, ProtectedError, RestrictedError
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.test import APIRequestFactory, force_authenticate

from demo.inventory.api.views import SiteViewSet
from demo.inventory.models import Site
from tests.inventory.factories import make_device, make_site, make_user
from webhooks_app.api.conflicts import describe_conflict

SITES = "/api/inventory/sites/"


@pytest.mark.django_db
def test_protected_error_names_the_dependent_objects() -> None:
    site = make_site()
    devices: set[Model] = {make_device(f"d{n}", site=site) for n in range(7)}
    message = describe_conflict(ProtectedError("protected", devices))
    assert message == (
        "Cannot delete: 7 dependent object(s) refer to it: "
        "device d0, device d1, device d2, device d3, device d4 and 2 more."
    )


@pytest.mark.django_db
def test_restricted_error_is_described_like_a_protected_one() -> None:
    device = make_device("d1")
    message = describe_conflict(RestrictedError("restricted", {device}))
    assert message == "Cannot delete: 1 dependent object(s) refer to it: device d1."


def test_integrity_error_gives_the_database_message() -> None:
    message = describe_conflict(IntegrityError("UNIQUE constraint failed: inventory_site.slug"))
    assert message == "A database constraint failed: UNIQUE constraint failed: inventory_site.slug"


class FailingSiteViewSet(SiteViewSet):
    """The sites API with a save that fails with ``error``: the second save of a bulk create,
    or a single create (the viewset's documented hooks, overridden)."""

    error: Exception | None = None

    def perform_bulk_save(
        self, serializer: BaseSerializer[Site], instance: Site | None, validated_data: Any
    ) -> Site:
        self.saves = getattr(self, "saves", 0) + 1  # one view instance per request
        if self.saves == 2 and self.error is not None:
            raise self.error
        return super().perform_bulk_save(serializer, instance, validated_data)

    def perform_create(self, serializer: BaseSerializer[Site]) -> None:
        if self.error is not None:
            raise self.error
        super().perform_create(serializer)


def create_with_failing_save(error: Exception, body: Any) -> Response:
    """POST ``body`` to the sites list of a :class:`FailingSiteViewSet`, as a superuser."""
    request = APIRequestFactory().post(SITES, body, format="json")
    force_authenticate(request, user=make_user(username="root", superuser=True))
    response: Response = FailingSiteViewSet.as_view({"post": "create"}, error=error)(request)
    return response


@pytest.mark.django_db
def test_integrity_error_in_a_bulk_create_is_409_and_creates_nothing() -> None:
    error = IntegrityError("UNIQUE constraint failed: inventory_site.slug")
    body = [{"name": "A", "slug": "a"}, {"name": "B", "slug": "b"}]
    response = create_with_failing_save(error, body)
    assert response.status_code == 409
    assert response.data["errors"] == [
        {
            "index": 1,
            "detail": "A database constraint failed: UNIQUE constraint failed: inventory_site.slug",
        }
    ]
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_model_validation_error_while_saving_is_400_naming_the_item() -> None:
    error = ValidationError({"slug": ["Reserved."]})
    body = [{"name": "A", "slug": "a"}, {"name": "B", "slug": "b"}]
    response = create_with_failing_save(error, body)
    assert response.status_code == 400
    assert response.data["errors"] == [{"index": 1, "slug": ["Reserved."]}]
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_integrity_error_in_a_single_create_is_409() -> None:
    error = IntegrityError("CHECK constraint failed")
    response = create_with_failing_save(error, {"name": "A", "slug": "a"})
    assert response.status_code == 409
    assert response.data == {"detail": "A database constraint failed: CHECK constraint failed"}
