from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from demo.inventory.models import Device, IPAddress, Site, Tag, validate_ip_interface

from .factories import make_device, make_ip, make_site


@pytest.mark.parametrize("value", ["10.0.0.1/24", "192.0.2.7/32", "2001:db8::1/64"])
def test_ip_interface_with_prefix_length_is_valid(value: str) -> None:
    validate_ip_interface(value)


@pytest.mark.parametrize("value", ["10.0.0.1", "10.0.0.300/24", "10.0.0.1/33", "host/24", ""])
def test_address_without_prefix_or_not_an_ip_is_invalid(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_ip_interface(value)


@pytest.mark.django_db
def test_full_clean_reports_a_bad_address_on_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        IPAddress(address="10.0.0.1").full_clean()
    assert "address" in info.value.message_dict


@pytest.mark.django_db
def test_defaults_are_active_and_grey() -> None:
    site = make_site()
    device = make_device(site=site)
    assert site.status == "active"
    assert device.status == "active"
    assert make_ip().status == "active"
    assert Tag.objects.create(name="x", slug="x").color == "9e9e9e"


@pytest.mark.django_db
def test_asn_out_of_range_is_invalid() -> None:
    with pytest.raises(ValidationError) as info:
        Site(name="s", slug="s", asn=4_294_967_296).full_clean()
    assert "asn" in info.value.message_dict


@pytest.mark.django_db
def test_a_site_with_devices_cannot_be_deleted() -> None:
    device = make_device()
    with pytest.raises(ProtectedError):
        device.site.delete()
    assert Site.objects.filter(pk=device.site_id).exists()


@pytest.mark.django_db
def test_deleting_a_device_keeps_its_ip_addresses_unassigned() -> None:
    device = make_device()
    ip = make_ip(device=device)
    device.delete()
    ip.refresh_from_db()
    assert ip.device is None
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_str_is_the_name_or_address() -> None:
    assert str(make_site("Berlin")) == "Berlin"
    assert str(make_ip("10.9.0.1/16")) == "10.9.0.1/16"
