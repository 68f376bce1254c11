"""Snapshots: a model's fields by name, in NetBox's format, as plain JSON data."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

from django.utils.functional import lazy

from demo.inventory.models import Site, SiteStatus
from webhooks_app.capture.snapshots import snapshot

AT = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)
lazy_text = lazy(lambda: "lazy", str)


def test_a_snapshot_holds_fields_by_name_without_pk_or_last_updated() -> None:
    values = {"id": 4, "name": "Lab", "slug": "lab", "status": "active", "description": ""}
    values |= {"asn": 65000, "created": AT, "last_updated": AT}
    assert snapshot(Site, values, {"tags": ["Red"]}) == {
        "name": "Lab",
        "slug": "lab",
        "status": "active",
        "description": "",
        "asn": 65000,
        "created": "2024-05-01T12:00:00.123Z",
        "tags": ["Red"],
    }


def test_a_snapshot_is_plain_json_data() -> None:
    values = {
        "name": SiteStatus.ACTIVE,  # a str subclass
        "slug": lazy_text(),
        "status": ["a", ("b", Decimal("1.5"))],
        "description": {"at": AT, "id": uuid.UUID(int=3)},
        "asn": True,
        "created": datetime.date(2024, 5, 1),
    }
    result = snapshot(Site, values, {"tags": (uuid.UUID(int=1), 2)})
    assert json.loads(json.dumps(result)) == result
    assert type(result["name"]) is str
    assert result["slug"] == "lazy"
    assert result["status"] == ["a", ["b", 1.5]]  # inside JSON, as DRF's encoder writes it
    assert result["description"] == {
        "at": "2024-05-01T12:00:00.123456Z",
        "id": str(uuid.UUID(int=3)),
    }
    assert result["created"] == "2024-05-01"
    assert result["tags"] == [str(uuid.UUID(int=1)), 2]


def test_fields_missing_from_the_values_are_null() -> None:
    assert snapshot(Site, {"name": "Lab"}, {})["slug"] is None
