from __future__ import annotations

import pytest
from django.test import Client

from .factories import make_device, make_ip, make_tag

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["tag", "site", "device", "ipaddress"])
def test_changelist_search_and_add_pages_load(admin_client: Client, model: str) -> None:
    make_ip(device=make_device()).tags.set([make_tag()])
    base = f"/admin/inventory/{model}/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(base, {"q": "1"}).status_code == 200
    assert admin_client.get(f"{base}add/").status_code == 200


def test_site_changelist_filters_by_status(admin_client: Client) -> None:
    make_device()
    response = admin_client.get("/admin/inventory/site/", {"status__exact": "active"})
    assert response.status_code == 200
    assert b"Site 1" in response.content


def test_ip_address_form_rejects_an_address_without_prefix(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/inventory/ipaddress/add/", {"address": "10.0.0.1", "status": "active"}
    )
    assert response.status_code == 200
    assert b"prefix length" in response.content
