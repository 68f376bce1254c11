from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Model, ProtectedError, RestrictedError
from rest_framework.serializers import BaseSerializer
from rest_framework.test import APIClient

from demo.inventory.api.views import SiteViewSet
from demo.inventory.models import Site
from tests.inventory.factories import make_device, make_site
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


def fail_on_second_save(error: Exception) -> Any:
    calls: list[int] = []

    def perform_bulk_save(
        self: SiteViewSet, serializer: BaseSerializer[Site], instance: None, data: Any
    ) -> Site:
        calls.append(1)
        if len(calls) == 2:
            raise error
        return serializer.create(data)

    return perform_bulk_save


@pytest.mark.django_db
def test_integrity_error_in_a_bulk_create_is_409_and_creates_nothing(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = IntegrityError("UNIQUE constraint failed: inventory_site.slug")
    monkeypatch.setattr(SiteViewSet, "perform_bulk_save", fail_on_second_save(error))
    body = [{"name": "A", "slug": "a"}, {"name": "B", "slug": "b"}]
    response = api.post(SITES, body, format="json")
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "index": 1,
            "detail": "A database constraint failed: UNIQUE constraint failed: inventory_site.slug",
        }
    ]
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_model_validation_error_while_saving_is_400_naming_the_item(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = ValidationError({"slug": ["Reserved."]})
    monkeypatch.setattr(SiteViewSet, "perform_bulk_save", fail_on_second_save(error))
    body = [{"name": "A", "slug": "a"}, {"name": "B", "slug": "b"}]
    response = api.post(SITES, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "slug": ["Reserved."]}]
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_integrity_error_in_a_single_create_is_409(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def perform_create(self: SiteViewSet, serializer: BaseSerializer[Site]) -> None:
        raise IntegrityError("CHECK constraint failed")

    monkeypatch.setattr(SiteViewSet, "perform_create", perform_create)
    response = api.post(SITES, {"name": "A", "slug": "a"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "A database constraint failed: CHECK constraint failed"}
