"""Demo data: an admin user with a token, a small inventory and a webhook to the demo receiver.

Every function is idempotent: it creates what is missing and leaves the rest alone, so
``manage.py seed_demo`` can run on each start of the demo.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from rest_framework.authtoken.models import Token

from webhooks_app.models import EventRule, Webhook

from .models import Device, DeviceStatus, IPAddress, Site, SiteStatus, Tag

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
WEBHOOK_NAME = "Demo receiver"
WEBHOOK_SECRET = "demo-secret"
EVENT_RULE_NAME = "Sites to demo receiver"
EVENT_TYPES = ["object_created", "object_updated", "object_deleted"]


@dataclass(frozen=True)
class SeedReport:
    """What a seeding run found or created."""

    admin_created: bool
    token: str
    inventory_created: bool
    webhook_created: bool
    event_rule_created: bool


def ensure_admin() -> tuple[bool, str]:
    """The superuser ``admin`` (password ``admin``) and its API token: (created, token key)."""
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: ADMIN_USERNAME}).first()
    created = user is None
    if user is None:
        user = user_model.objects.create_superuser(
            ADMIN_USERNAME, email="admin@example.com", password=ADMIN_PASSWORD
        )
    token, _ = Token.objects.get_or_create(user=user)
    return created, token.key


def create_sample_inventory() -> bool:
    """Three tags, three sites, two devices and three IP addresses, unless there are sites."""
    if Site.objects.exists():
        return False
    production = Tag.objects.create(name="Production", slug="production", color="f44336")
    lab = Tag.objects.create(name="Lab", slug="lab", color="4caf50")
    edge = Tag.objects.create(name="Edge", slug="edge", color="2196f3")

    amsterdam = Site.objects.create(
        name="Amsterdam AMS1", slug="ams1", asn=65001, description="Main data centre"
    )
    amsterdam.tags.set([production])
    berlin = Site.objects.create(
        name="Berlin BER1", slug="ber1", status=SiteStatus.PLANNED, asn=65002
    )
    berlin.tags.set([edge])
    Site.objects.create(name="Chicago ORD1", slug="ord1", status=SiteStatus.STAGING)

    core = Device.objects.create(name="ams1-core-01", site=amsterdam, serial="SN-AMS-0001")
    core.tags.set([production])
    edge_router = Device.objects.create(
        name="ber1-edge-01", site=berlin, status=DeviceStatus.PLANNED, serial="SN-BER-0001"
    )
    edge_router.tags.set([edge, lab])

    IPAddress.objects.create(
        address="10.1.0.1/24", device=core, dns_name="ams1-core-01.example.net"
    )
    IPAddress.objects.create(address="2001:db8:1::1/64", device=core)
    IPAddress.objects.create(address="10.2.0.1/24", device=edge_router)
    return True


def ensure_demo_webhook(receiver_port: int) -> tuple[bool, bool]:
    """The webhook to the demo receiver and a rule sending it site changes: (created, created)."""
    webhook, webhook_created = Webhook.objects.get_or_create(
        name=WEBHOOK_NAME,
        defaults={
            "payload_url": f"http://127.0.0.1:{receiver_port}/",
            "secret": WEBHOOK_SECRET,
        },
    )
    rule_created = False
    if not EventRule.objects.filter(name=EVENT_RULE_NAME).exists():
        rule = EventRule.objects.create(
            name=EVENT_RULE_NAME, event_types=EVENT_TYPES, webhook=webhook
        )
        rule.object_types.set([ContentType.objects.get_for_model(Site)])
        rule_created = True
    return webhook_created, rule_created


def seed_demo(receiver_port: int) -> SeedReport:
    # Separate transactions: the sample inventory is committed before the rule exists, so
    # seeding itself sends no webhooks (events are matched to rules when a transaction commits).
    with transaction.atomic():
        admin_created, token = ensure_admin()
    with transaction.atomic():
        inventory_created = create_sample_inventory()
    with transaction.atomic():
        webhook_created, rule_created = ensure_demo_webhook(receiver_port)
    return SeedReport(admin_created, token, inventory_created, webhook_created, rule_created)
