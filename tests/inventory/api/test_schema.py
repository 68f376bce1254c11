from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    GENERATOR_STATS.reset()  # warnings counted by earlier schema generations in this session
    call_command(
        "spectacular",
        *("--urlconf", "tests.inventory.urls", "--file", str(path)),
        *("--validate", "--fail-on-warn"),
    )
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_list_url_has_list_create_and_bulk_operations(schema: dict[str, Any]) -> None:
    operations = schema["paths"]["/api/inventory/sites/"]
    # The prefix of operation ids depends on the URLconf ("inventory_" in the demo's).
    assert {method: op["operationId"] for method, op in operations.items()} == {
        "get": "sites_list",
        "post": "sites_create",
        "put": "sites_bulk_update",
        "patch": "sites_bulk_partial_update",
        "delete": "sites_bulk_destroy",
    }


def test_bulk_delete_documents_its_list_of_ids(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/inventory/ip-addresses/"]["delete"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/BulkDeleteIdRequest"},
    }
    assert set(operation["responses"]) == {"204", "400", "409"}


def test_bulk_update_answers_a_plain_list(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/inventory/devices/"]["patch"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"type": "array", "items": {"$ref": "#/components/schemas/Device"}}
    assert "parameters" not in operation


def test_choices_read_as_value_and_label_and_write_as_value(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["Site"]["properties"]["status"] == {"$ref": "#/components/schemas/SiteStatus"}
    assert components["SiteRequest"]["properties"]["status"] == {
        "$ref": "#/components/schemas/SiteStatusEnum"
    }
    assert set(components["SiteStatus"]["properties"]) == {"value", "label"}


def test_related_objects_read_brief_and_write_as_ids(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    device_site = components["Device"]["properties"]["site"]
    assert device_site == {"$ref": "#/components/schemas/BriefSite"}
    ip_device = components["IPAddressRequest"]["properties"]["device"]
    assert ip_device == {"type": "integer", "nullable": True}
    tags = components["SiteRequest"]["properties"]["tags"]["items"]["oneOf"]
    assert tags[0] == {"type": "integer"}
    assert [list(option["properties"]) for option in tags[1:]] == [["id"], ["name"], ["slug"]]
