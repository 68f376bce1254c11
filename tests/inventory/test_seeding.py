from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from demo.inventory import seeding
from demo.inventory.models import Device, IPAddress, Site, Tag
from webhooks_app.models import EventRule, Webhook

from .factories import make_site

pytestmark = pytest.mark.django_db


def test_seed_creates_admin_inventory_webhook_and_rule() -> None:
    report = seeding.seed_demo(receiver_port=9123)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.check_password("admin")
    assert report.token == Token.objects.get(user=admin).key
    assert (Tag.objects.count(), Site.objects.count()) == (3, 3)
    assert Device.objects.count() == 2
    assert IPAddress.objects.count() == 3
    webhook = Webhook.objects.get(name="Demo receiver")
    assert webhook.payload_url == "http://127.0.0.1:9123/"
    assert webhook.secret == "demo-secret"
    rule = EventRule.objects.get(name="Sites to demo receiver")
    assert rule.webhook == webhook
    assert rule.event_types == ["object_created", "object_updated", "object_deleted"]
    assert [ct.model for ct in rule.object_types.all()] == ["site"]
    assert report == seeding.SeedReport(True, report.token, True, True, True)


def test_seeding_again_changes_nothing() -> None:
    first = seeding.seed_demo(receiver_port=9000)
    second = seeding.seed_demo(receiver_port=9000)
    assert second == seeding.SeedReport(False, first.token, False, False, False)
    assert Site.objects.count() == 3
    assert Webhook.objects.count() == 1


def test_sample_inventory_is_skipped_when_there_are_sites() -> None:
    make_site("Mine")
    assert not seeding.create_sample_inventory()
    assert list(Site.objects.values_list("name", flat=True)) == ["Mine"]


def test_sample_data_is_valid() -> None:
    seeding.create_sample_inventory()
    for model in (Tag, Site, Device, IPAddress):
        for obj in model.objects.all():
            obj.full_clean()
