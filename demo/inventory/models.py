"""The demo inventory: tags, sites, devices and IP addresses, shaped like NetBox's."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# Four-byte AS numbers (RFC 6793); 0 is reserved.
ASN_MIN = 1
ASN_MAX = 4_294_967_295


def validate_ip_interface(value: str) -> None:
    """Accept an IPv4 or IPv6 address with a prefix length, such as ``10.0.0.1/24``."""
    if "/" not in value:
        raise ValidationError(
            "Enter an IP address with a prefix length, such as 10.0.0.1/24.", code="no_prefix"
        )
    try:
        ipaddress.ip_interface(value)
    except ValueError as exc:
        raise ValidationError(
            "%(value)s is not a valid IP address with prefix length: %(reason)s",
            params={"value": value, "reason": exc},
            code="invalid",
        ) from exc


class SiteStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PLANNED = "planned", "Planned"
    STAGING = "staging", "Staging"
    RETIRED = "retired", "Retired"


class DeviceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PLANNED = "planned", "Planned"
    OFFLINE = "offline", "Offline"
    DECOMMISSIONING = "decommissioning", "Decommissioning"


class IPAddressStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESERVED = "reserved", "Reserved"
    DEPRECATED = "deprecated", "Deprecated"


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    color = models.CharField(
        max_length=6,
        default="9e9e9e",
        validators=[
            RegexValidator(r"^[0-9a-f]{6}$", "Enter six lowercase hex digits, such as 9e9e9e.")
        ],
    )
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    status = models.CharField(max_length=50, choices=SiteStatus.choices, default=SiteStatus.ACTIVE)
    description = models.CharField(max_length=200, blank=True)
    asn = models.PositiveBigIntegerField(
        "ASN",
        null=True,
        blank=True,
        validators=[MinValueValidator(ASN_MIN), MaxValueValidator(ASN_MAX)],
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="sites")
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    name = models.CharField(max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="devices")
    status = models.CharField(
        max_length=50, choices=DeviceStatus.choices, default=DeviceStatus.ACTIVE
    )
    serial = models.CharField("serial number", max_length=50, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="devices")
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class IPAddress(models.Model):
    address = models.CharField(
        max_length=64,
        validators=[validate_ip_interface],
        help_text="IPv4 or IPv6 address with prefix length, such as 10.0.0.1/24.",
    )
    status = models.CharField(
        max_length=50, choices=IPAddressStatus.choices, default=IPAddressStatus.ACTIVE
    )
    dns_name = models.CharField("DNS name", max_length=255, blank=True)
    device = models.ForeignKey(
        Device,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ip_addresses",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="ip_addresses")
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["address", "id"]
        verbose_name = "IP address"
        verbose_name_plural = "IP addresses"

    def __str__(self) -> str:
        return self.address
