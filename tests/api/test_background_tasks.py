"""Background tasks over REST against the real Redis and a real worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, EventRule
from webhooks_app.receiver import Receiver

from .conftest import API, MODELS

pytestmark = pytest.mark.django_db(transaction=True)

TASKS = f"{API}/background-tasks/"


def fail_deliveries(queue: Queue, receiver: Receiver, *names: str) -> list[str]:
    """Sites whose deliveries the receiver refuses (400): their jobs end up failed."""
    receiver.set_status(400)
    for name in names:
        Site.objects.create(name=name, slug=name.lower())
    drain(queue)
    receiver.set_status(200)
    return failed_jobs(queue)


def test_overview_lists_queues_with_counts_per_state_and_workers(
    operator_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    fail_deliveries(queue, receiver, "Failing")
    Site.objects.create(name="Waiting", slug="waiting")  # queued, not drained
    body = operator_api.get(TASKS).json()
    [default] = body["queues"]
    assert default == {
        "name": "default",
        "queued": 1,
        "started": 0,
        "scheduled": 0,
        "deferred": 0,
        "finished": 0,
        "failed": 1,
        "workers": 0,
    }
    assert body["workers"] == []


def test_a_failed_job_is_listed_with_its_webhook_event_object_and_error(
    operator_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Refused")
    page = operator_api.get(f"{TASKS}queues/default/failed/").json()
    assert page["count"] == 1 and page["next"] is None
    [job] = page["results"]
    delivery = Delivery.objects.get()
    assert job["id"] == job_id and job["state"] == "failed" and job["queue"] == "default"
    assert job["url"] == f"http://testserver{TASKS}jobs/{job_id}/"
    assert (job["webhook_id"], job["webhook_name"]) == (site_rule.webhook_id, "Receiver")
    assert job["event_id"] == str(delivery.event_id) and job["event_type"] == "object_created"
    assert (job["object_type"], job["object_id"]) == ("inventory.site", delivery.object_id)
    assert "Status 400" in job["error"]
    assert operator_api.get(f"{TASKS}queues/default/queued/").json()["count"] == 0


def test_job_detail_has_its_deliveries_and_traceback(
    operator_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Detailed")
    body = operator_api.get(f"{TASKS}jobs/{job_id}/").json()
    assert body["state"] == "failed"
    assert "DeliveryFailed" in body["traceback"] and "Status 400" in body["error"]
    [delivery] = body["deliveries"]
    assert delivery["context"]["data"]["name"] == "Detailed"


def test_requeue_then_a_worker_delivers_the_job(
    operator_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Retried")
    response = operator_api.post(f"{TASKS}jobs/{job_id}/requeue/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "queued"
    assert failed_jobs(queue) == []
    drain(queue)
    assert [r.status for r in receiver.wait_for(2)] == [400, 200]
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED


def test_requeue_of_a_job_that_has_not_failed_is_a_409(
    operator_api: APIClient, queue: Queue, site_rule: EventRule
) -> None:
    Site.objects.create(name="Queued", slug="queued")
    [job] = queue.get_jobs()
    response = operator_api.post(f"{TASKS}jobs/{job.id}/requeue/")
    assert response.status_code == 409
    assert "only failed jobs" in response.json()["detail"]


def test_delete_removes_the_job(
    operator_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Deleted")
    assert operator_api.post(f"{TASKS}jobs/{job_id}/delete/").status_code == 204
    assert failed_jobs(queue) == []
    assert operator_api.get(f"{TASKS}jobs/{job_id}/").status_code == 404


def test_requeue_all_puts_every_failed_job_back(
    operator_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    assert len(fail_deliveries(queue, receiver, "A", "B", "C")) == 3
    page = operator_api.get(f"{TASKS}queues/default/failed/", {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["next"] == f"http://testserver{TASKS}queues/default/failed/?limit=2&offset=2"
    response = operator_api.post(f"{TASKS}queues/default/requeue-all/")
    assert response.json() == {"requeued": 3}
    drain(queue)
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}


def test_unknown_job_queue_or_state_is_a_404(operator_api: APIClient, queue: Queue) -> None:
    for method, url in [
        ("get", f"{TASKS}jobs/no-such-job/"),
        ("post", f"{TASKS}jobs/no-such-job/requeue/"),
        ("post", f"{TASKS}jobs/no-such-job/delete/"),
        ("get", f"{TASKS}queues/nowhere/failed/"),
        ("post", f"{TASKS}queues/nowhere/requeue-all/"),
        ("get", f"{TASKS}queues/default/lost/"),
    ]:
        response = getattr(operator_api, method)(url)
        assert response.status_code == 404, url
        assert response.json()["detail"]
    assert (
        "Job no-such-job not found."
        in operator_api.get(f"{TASKS}jobs/no-such-job/").json()["detail"]
    )


def test_with_redis_down_every_endpoint_is_a_503(operator_api: APIClient, redis_down: None) -> None:
    for method, url in [
        ("get", TASKS),
        ("get", f"{TASKS}queues/default/failed/"),
        ("get", f"{TASKS}jobs/some-job/"),
        ("post", f"{TASKS}queues/default/requeue-all/"),
    ]:
        response = getattr(operator_api, method)(url)
        assert response.status_code == 503, url
        assert "Redis" in response.json()["detail"]


VIEW_ONLY = tuple(f"view_{model}" for model in MODELS)
EVERY_PERMISSION = tuple(
    f"{action}_{model}" for model in MODELS for action in ("view", "add", "change", "delete")
)


def test_one_rule_reading_needs_view_delivery_acting_needs_change_delivery(
    client_for: Callable[..., APIClient],
    queue: Queue,
    receiver: Receiver,
    site_rule: EventRule,
) -> None:
    """Staff without webhook permissions are refused everything, staff who may only view read
    (as the delivery log lets them) but cannot requeue or delete, and a user with every webhook
    permission (not staff) may do everything."""
    [job_id] = fail_deliveries(queue, receiver, "Guarded")
    reads = [
        f"{TASKS}",
        f"{TASKS}queues/default/failed/",
        f"{TASKS}jobs/{job_id}/",
    ]
    acts = [
        f"{TASKS}jobs/{job_id}/requeue/",
        f"{TASKS}queues/default/requeue-all/",
        f"{TASKS}jobs/{job_id}/delete/",
    ]
    plain_staff = client_for(staff=True)
    viewer = client_for(*VIEW_ONLY, staff=True)
    for client in (plain_staff, viewer):
        for url in acts:
            assert client.post(url).status_code == 403, url
    assert failed_jobs(queue) == [job_id]  # nothing was requeued or deleted
    for url in reads:
        assert plain_staff.get(url).status_code == 403, url
        assert viewer.get(url).status_code == 200, url
    assert plain_staff.get(f"{API}/deliveries/").status_code == 403  # the same rule
    assert viewer.get(f"{API}/deliveries/").status_code == 200

    operator = client_for(*EVERY_PERMISSION)
    for url in reads:
        assert operator.get(url).status_code == 200, url
    assert operator.post(acts[0]).status_code == 200  # requeued
    assert failed_jobs(queue) == []
    assert operator.post(acts[1]).json() == {"requeued": 0}
    assert operator.post(acts[2]).status_code == 204
    assert operator.get(reads[2]).status_code == 404


def test_change_delivery_without_view_delivery_cannot_act(
    client_for: Callable[..., APIClient], queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Blind")
    client = client_for("change_delivery", "change_webhook", staff=True)
    assert client.get(f"{TASKS}jobs/{job_id}/").status_code == 403
    assert client.post(f"{TASKS}jobs/{job_id}/requeue/").status_code == 403
    assert failed_jobs(queue) == [job_id]
