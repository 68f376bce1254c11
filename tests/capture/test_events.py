"""Events: a model change becomes queued webhook jobs, coalesced per object (NetBox's rules)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site, Tag
from tests.conftest import make_rule, queued_deliveries
from webhooks_app.models import EventRule, Webhook

# Real commits: the events leave only when the outermost transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(admin_user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def contexts(queue: Queue) -> list[dict[str, Any]]:
    return [d["context"] for job in queued_deliveries(queue) for d in job]


def test_api_create_with_two_tags_gives_one_created_job(
    api: APIClient, queue: Queue, webhook: Webhook
) -> None:
    make_rule(webhook, events=("object_created",), action_data={"source": "rule", "name": "loses"})
    red = Tag.objects.create(name="Red", slug="red")
    blue = Tag.objects.create(name="Blue", slug="blue")
    response = api.post(
        "/api/inventory/sites/",
        {"name": "One", "slug": "one", "tags": [red.pk, blue.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    jobs = queued_deliveries(queue)
    assert len(jobs) == 1 and len(jobs[0]) == 1
    context = jobs[0][0]["context"]
    assert list(context) == [
        "event",
        "timestamp",
        "object_type",
        "username",
        "request_id",
        "data",
        "request",
        "snapshots",
    ]
    assert context["event"] == "created"
    assert context["object_type"] == "inventory.site"
    assert context["data"]["id"] == response.json()["id"]
    assert context["data"]["source"] == "rule"
    assert context["data"]["name"] == "One"  # object fields win over action_data
    assert sorted(t["name"] for t in context["data"]["tags"]) == ["Blue", "Red"]
    assert context["snapshots"]["prechange"] is None
    assert context["snapshots"]["postchange"]["name"] == "One"
    assert context["snapshots"]["postchange"]["tags"] == ["Blue", "Red"]
    assert context["username"] == "admin"
    assert context["request"]["method"] == "POST"
    assert context["request"]["path"] == "/api/inventory/sites/"
    assert context["request_id"] == response["X-Request-ID"] == context["request"]["id"]


@pytest.mark.parametrize("batch_size, expected_jobs", [(1, 3), (100, 1)])
def test_bulk_create_gives_one_delivery_per_site_in_request_order(
    api: APIClient,
    queue: Queue,
    site_rule: EventRule,
    settings: Any,
    batch_size: int,
    expected_jobs: int,
) -> None:
    settings.WEBHOOKS_BATCH_SIZE = batch_size
    body = [{"name": f"S{i}", "slug": f"s{i}"} for i in range(3)]
    response = api.post("/api/inventory/sites/", body, format="json")
    assert response.status_code == 201, response.content
    assert len(queued_deliveries(queue)) == expected_jobs
    assert [c["data"]["name"] for c in contexts(queue)] == ["S0", "S1", "S2"]
    assert {c["event"] for c in contexts(queue)} == {"created"}
    assert len({c["request_id"] for c in contexts(queue)}) == 1


def test_bulk_update_and_delete_carry_per_object_snapshots(
    api: APIClient, queue: Queue, site_rule: EventRule
) -> None:
    sites = [Site.objects.create(name=f"S{i}", slug=f"s{i}") for i in range(3)]
    queue.empty()
    body = [{"id": s.pk, "description": f"new {s.pk}"} for s in sites]
    assert api.patch("/api/inventory/sites/", body, format="json").status_code == 200
    updated = contexts(queue)
    assert [c["event"] for c in updated] == ["updated"] * 3
    assert [c["snapshots"]["prechange"]["description"] for c in updated] == ["", "", ""]
    assert [c["snapshots"]["postchange"]["description"] for c in updated] == [
        f"new {s.pk}" for s in sites
    ]
    queue.empty()
    assert (
        api.delete(
            "/api/inventory/sites/", [{"id": s.pk} for s in sites], format="json"
        ).status_code
        == 204
    )
    deleted = contexts(queue)
    assert [c["event"] for c in deleted] == ["deleted"] * 3
    assert [c["data"]["id"] for c in deleted] == [s.pk for s in sites]
    assert all(c["snapshots"]["postchange"] is None for c in deleted)
    assert [c["snapshots"]["prechange"]["description"] for c in deleted] == [
        f"new {s.pk}" for s in sites
    ]


def test_rename_and_retag_gives_one_update_with_old_and_new_state(
    api: APIClient, queue: Queue, site_rule: EventRule
) -> None:
    old_tag, new_tag = (
        Tag.objects.create(name="Old", slug="old"),
        Tag.objects.create(name="New", slug="new"),
    )
    site = Site.objects.create(name="Before", slug="before")
    site.tags.set([old_tag])
    queue.empty()
    response = api.patch(
        f"/api/inventory/sites/{site.pk}/", {"name": "After", "tags": [new_tag.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    [context] = contexts(queue)
    assert context["event"] == "updated"
    assert context["snapshots"]["prechange"]["name"] == "Before"
    assert context["snapshots"]["prechange"]["tags"] == ["Old"]
    assert context["snapshots"]["postchange"]["name"] == "After"
    assert context["snapshots"]["postchange"]["tags"] == ["New"]


def test_prechange_is_the_stored_state_even_after_in_memory_changes(
    queue: Queue, site_rule: EventRule
) -> None:
    Site.objects.create(name="Stored", slug="stored")
    queue.empty()
    site = Site.objects.get(slug="stored")
    site.name = "Changed in memory"
    site.description = "x"
    site.save()
    [context] = contexts(queue)
    assert context["snapshots"]["prechange"]["name"] == "Stored"
    assert context["snapshots"]["postchange"]["name"] == "Changed in memory"


@pytest.mark.parametrize(
    "steps, expected",
    [
        (["create", "update"], "created"),
        (["update", "update"], "updated"),
        (["update", "delete"], "deleted"),
        (["create", "delete"], "deleted"),
    ],
)
def test_changes_in_one_transaction_coalesce_into_one_job(
    queue: Queue, site_rule: EventRule, steps: list[str], expected: str
) -> None:
    site = None if steps[0] == "create" else Site.objects.create(name="Existing", slug="existing")
    queue.empty()
    with transaction.atomic():
        for step in steps:
            if step == "create":
                site = Site.objects.create(name="New", slug="new")
            elif step == "update":
                assert site is not None
                site.description += "+"
                site.save()
            else:
                assert site is not None
                site.delete()
        assert queue.count == 0  # nothing leaves before commit
    [context] = contexts(queue)
    assert context["event"] == expected
