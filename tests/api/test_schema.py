"""The OpenAPI schema: valid, warning-free, and describing the API as it behaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

OPERATIONS = {
    "/api/webhooks/webhooks/": {"get", "post", "put", "patch", "delete"},
    "/api/webhooks/webhooks/{id}/": {"get", "put", "patch", "delete"},
    "/api/webhooks/webhooks/{id}/test/": {"post"},
    "/api/webhooks/webhooks/{id}/render/": {"post"},
    "/api/webhooks/event-rules/": {"get", "post", "put", "patch", "delete"},
    "/api/webhooks/event-rules/{id}/": {"get", "put", "patch", "delete"},
    "/api/webhooks/deliveries/": {"get"},
    "/api/webhooks/deliveries/{id}/": {"get"},
    "/api/webhooks/deliveries/{id}/redeliver/": {"post"},
    "/api/webhooks/background-tasks/": {"get"},
    "/api/webhooks/background-tasks/queues/{queue}/{state}/": {"get"},
    "/api/webhooks/background-tasks/queues/{queue}/requeue-all/": {"post"},
    "/api/webhooks/background-tasks/jobs/{job_id}/": {"get"},
    "/api/webhooks/background-tasks/jobs/{job_id}/requeue/": {"post"},
    "/api/webhooks/background-tasks/jobs/{job_id}/delete/": {"post"},
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--file", str(path), "--validate", "--fail-on-warn")
    return yaml.safe_load(path.read_text())


def test_the_schema_validates_without_warnings_and_lists_every_operation(schema: Any) -> None:
    paths = {
        path: set(ops) - {"parameters"}
        for path, ops in schema["paths"].items()
        if path.startswith("/api/webhooks/")
    }
    assert paths == OPERATIONS


def test_the_secret_is_write_only_in_the_schema(schema: Any) -> None:
    components = schema["components"]["schemas"]
    assert components["WebhookRequest"]["properties"]["secret"]["writeOnly"] is True
    assert "secret" not in components["Webhook"]["properties"]
    assert components["Webhook"]["properties"]["secret_set"] == {
        "type": "boolean",
        "readOnly": True,
        "description": "Whether a secret is set.",
    }


WRITE_ONLY = ["secret", "generate_secret", "end_secret_overlap", "secret_headers", "client_key"]
READ_ONLY = [
    "secret_set",
    "generated_secret",
    "previous_secret_expires_at",
    "secret_headers_set",
    "client_key_set",
]


def test_credentials_are_write_only_and_what_is_shown_of_them_read_only(schema: Any) -> None:
    components = schema["components"]["schemas"]
    request, response = (components[name]["properties"] for name in ("WebhookRequest", "Webhook"))
    for name in WRITE_ONLY:
        assert request[name]["writeOnly"] is True, name
        assert name not in response, name
    for name in READ_ONLY:
        assert response[name]["readOnly"] is True, name
        assert name not in request, name
    assert request["generate_secret"]["type"] == request["end_secret_overlap"]["type"] == "boolean"
    assert response["generated_secret"]["type"] == "string"
    assert response["generated_secret"]["nullable"] is True
    assert response["previous_secret_expires_at"] == {
        "type": "string",
        "format": "date-time",
        "readOnly": True,
        "nullable": True,
        "description": response["previous_secret_expires_at"]["description"],
    }
    assert response["secret_overlap_hours"]["type"] == request["secret_overlap_hours"]["type"]
    assert request["secret_overlap_hours"]["minimum"] == 0
    assert request["client_certificate"]["type"] == response["client_certificate"]["type"]
    # The descriptions say what a client needs to know.
    assert "generated_secret" in request["generate_secret"]["description"]
    assert "[hidden]" in request["secret_headers"]["description"]


def test_reads_are_full_or_brief_and_writes_one_or_many(schema: Any) -> None:
    components = schema["components"]["schemas"]
    assert components["WebhookOrBrief"]["oneOf"] == [
        {"$ref": "#/components/schemas/Webhook"},
        {"$ref": "#/components/schemas/BriefWebhook"},
    ]
    assert components["BriefWebhook"]["additionalProperties"] is False
    post = schema["paths"]["/api/webhooks/event-rules/"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EventRuleOneOrManyRequest"}
    assert list(post["requestBody"]["content"]) == ["application/json"]


def test_object_and_event_types_are_enumerated_for_writes(schema: Any) -> None:
    components = schema["components"]["schemas"]
    assert components["ObjectType"]["enum"] == [
        "inventory.tag",
        "inventory.site",
        "inventory.device",
        "inventory.ipaddress",
    ]
    assert components["EventType"]["enum"] == ["object_created", "object_updated", "object_deleted"]
    rule = components["EventRuleRequest"]["properties"]
    assert rule["object_types"]["items"] == {"$ref": "#/components/schemas/ObjectType"}
    assert rule["webhook"]["type"] == "integer"


def test_the_object_type_filter_of_event_rules_lists_the_registered_models(schema: Any) -> None:
    parameters = schema["paths"]["/api/webhooks/event-rules/"]["get"]["parameters"]
    [object_type] = [p for p in parameters if p["name"] == "object_type"]
    assert object_type["schema"] == {
        "type": "string",
        "enum": ["inventory.tag", "inventory.site", "inventory.device", "inventory.ipaddress"],
    }


def test_schema_and_docs_are_served() -> None:
    assert APIClient().get("/api/schema/").status_code == 200
    assert APIClient().get("/api/docs/").status_code == 200
