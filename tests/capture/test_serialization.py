"""Event data: the object as its REST serializer shows it, as plain JSON data."""

from __future__ import annotations

import datetime
import enum
import json
import uuid
import zoneinfo
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.safestring import mark_safe
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.utils.serializer_helpers import ReturnDict

from demo.inventory.models import Site, SiteStatus
from webhooks_app.capture.serialization import event_serializer, serialize_for_event, to_json_data

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOON_UTC = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)


class Colour(enum.IntEnum):
    RED = 1


class Ratio(float):
    pass


class Loud(str):
    def __str__(self) -> str:
        return self.upper()


VALUES: list[Any] = [
    {"a": 1, "b": [1, 2.5, None, True, "x"]},
    {"nested": {"deeper": [{"id": 3}]}},
    {"price": Decimal("1.50"), "id": uuid.UUID(int=7), "at": NOON_UTC},
    {"day": datetime.date(2024, 5, 1), "span": datetime.timedelta(seconds=90)},
    {"pair": (1, "two"), "inner": [(3, 4)]},
    {1: "int key", None: "null key", 2.5: "float key"},
    {"choice": Colour.RED, "safe": mark_safe("<b>"), "loud": Loud("quiet"), "pi": Ratio(3.14)},
    {"status": SiteStatus.ACTIVE, "nan": float("nan"), "inf": float("-inf")},
    OrderedDict(b=1, a=2),
    ReturnDict({"x": [Decimal("2")]}, serializer=None),
    [Decimal("3"), {"k": uuid.UUID(int=1)}],
    "text",
    7,
]


@pytest.mark.parametrize("value", VALUES)
def test_json_data_is_what_a_json_round_trip_gives(value: Any) -> None:
    expected = json.loads(json.dumps(value, cls=JSONEncoder))
    result = to_json_data(value)
    assert json.dumps(result) == json.dumps(expected)  # same key order and types
    assert [type(v) for v in _leaves(result)] == [type(v) for v in _leaves(expected)]


def test_json_data_shares_no_container_with_the_value() -> None:
    value = {"tags": [{"name": "Red"}]}
    result = to_json_data(value)
    result["tags"][0]["name"] = "Blue"
    assert value == {"tags": [{"name": "Red"}]}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


@pytest.mark.django_db
def test_datetimes_follow_the_timezone_active_when_serializing() -> None:
    site = Site.objects.create(name="Lab", slug="lab")
    Site.objects.filter(pk=site.pk).update(created=NOON_UTC)
    site.refresh_from_db()
    assert serialize_for_event(site)["created"] == "2024-05-01T12:00:00Z"
    with timezone.override(PARIS):
        assert serialize_for_event(site)["created"] == "2024-05-01T14:00:00+02:00"
    assert serialize_for_event(site)["created"] == "2024-05-01T12:00:00Z"


@pytest.mark.django_db
@override_settings(USE_TZ=False)
def test_datetimes_are_naive_without_time_zone_support() -> None:
    site = Site.objects.create(name="Lab", slug="lab")
    assert "+" not in serialize_for_event(site)["created"]
    assert not serialize_for_event(site)["created"].endswith("Z")


class StampSerializer(serializers.ModelSerializer[Site]):
    created = serializers.DateTimeField(default_timezone=PARIS)

    class Meta:
        model = Site
        fields = ["id", "created", "last_updated"]


@pytest.mark.django_db
@override_settings(
    WEBHOOKS_MODELS={"inventory.site": "tests.capture.test_serialization.StampSerializer"}
)
def test_a_datetime_field_with_its_own_timezone_keeps_it() -> None:
    site = Site.objects.create(name="Lab", slug="lab")
    Site.objects.filter(pk=site.pk).update(created=NOON_UTC, last_updated=NOON_UTC)
    site.refresh_from_db()
    assert serialize_for_event(site) == {
        "id": site.pk,
        "created": "2024-05-01T14:00:00+02:00",
        "last_updated": "2024-05-01T12:00:00Z",
    }


def test_one_serializer_per_model_and_timezone() -> None:
    assert event_serializer(Site) is event_serializer(Site)
    with timezone.override(PARIS):
        paris = event_serializer(Site)
        assert paris is event_serializer(Site)
    assert paris is not event_serializer(Site)
