"""Background tasks over REST against the real Redis and a real worker."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, EventRule
from webhooks_app.receiver import Receiver

from .conftest import API

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
    staff_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    fail_deliveries(queue, receiver, "Failing")
    Site.objects.create(name="Waiting", slug="waiting")  # queued, not drained
    body = staff_api.get(TASKS).json()
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
    staff_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Refused")
    page = staff_api.get(f"{TASKS}queues/default/failed/").json()
    assert page["count"] == 1 and page["next"] is None
    [job] = page["results"]
    delivery = Delivery.objects.get()
    assert job["id"] == job_id and job["state"] == "failed" and job["queue"] == "default"
    assert job["url"] == f"http://testserver{TASKS}jobs/{job_id}/"
    assert (job["webhook_id"], job["webhook_name"]) == (site_rule.webhook_id, "Receiver")
    assert job["event_id"] == str(delivery.event_id) and job["event_type"] == "object_created"
    assert (job["object_type"], job["object_id"]) == ("inventory.site", delivery.object_id)
    assert "Status 400" in job["error"]
    assert staff_api.get(f"{TASKS}queues/default/queued/").json()["count"] == 0


def test_job_detail_has_its_deliveries_and_traceback(
    staff_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Detailed")
    body = staff_api.get(f"{TASKS}jobs/{job_id}/").json()
    assert body["state"] == "failed"
    assert "DeliveryFailed" in body["traceback"] and "Status 400" in body["error"]
    [delivery] = body["deliveries"]
    assert delivery["context"]["data"]["name"] == "Detailed"


def test_requeue_then_a_worker_delivers_the_job(
    staff_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Retried")
    response = staff_api.post(f"{TASKS}jobs/{job_id}/requeue/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "queued"
    assert failed_jobs(queue) == []
    drain(queue)
    assert [r.status for r in receiver.wait_for(2)] == [400, 200]
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED


def test_requeue_of_a_job_that_has_not_failed_is_a_409(
    staff_api: APIClient, queue: Queue, site_rule: EventRule
) -> None:
    Site.objects.create(name="Queued", slug="queued")
    [job] = queue.get_jobs()
    response = staff_api.post(f"{TASKS}jobs/{job.id}/requeue/")
    assert response.status_code == 409
    assert "only failed jobs" in response.json()["detail"]


def test_delete_removes_the_job(
    staff_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    [job_id] = fail_deliveries(queue, receiver, "Deleted")
    assert staff_api.post(f"{TASKS}jobs/{job_id}/delete/").status_code == 204
    assert failed_jobs(queue) == []
    assert staff_api.get(f"{TASKS}jobs/{job_id}/").status_code == 404


def test_requeue_all_puts_every_failed_job_back(
    staff_api: APIClient, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    assert len(fail_deliveries(queue, receiver, "A", "B", "C")) == 3
    page = staff_api.get(f"{TASKS}queues/default/failed/", {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["next"] == f"http://testserver{TASKS}queues/default/failed/?limit=2&offset=2"
    response = staff_api.post(f"{TASKS}queues/default/requeue-all/")
    assert response.json() == {"requeued": 3}
    drain(queue)
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}


def test_unknown_job_queue_or_state_is_a_404(staff_api: APIClient, queue: Queue) -> None:
    for method, url in [
        ("get", f"{TASKS}jobs/no-such-job/"),
        ("post", f"{TASKS}jobs/no-such-job/requeue/"),
        ("post", f"{TASKS}jobs/no-such-job/delete/"),
        ("get", f"{TASKS}queues/nowhere/failed/"),
        ("post", f"{TASKS}queues/nowhere/requeue-all/"),
        ("get", f"{TASKS}queues/default/lost/"),
    ]:
        response = getattr(staff_api, method)(url)
        assert response.status_code == 404, url
        assert response.json()["detail"]
    assert (
        "Job no-such-job not found." in staff_api.get(f"{TASKS}jobs/no-such-job/").json()["detail"]
    )


def test_with_redis_down_every_endpoint_is_a_503(staff_api: APIClient, redis_down: None) -> None:
    for method, url in [
        ("get", TASKS),
        ("get", f"{TASKS}queues/default/failed/"),
        ("get", f"{TASKS}jobs/some-job/"),
        ("post", f"{TASKS}queues/default/requeue-all/"),
    ]:
        response = getattr(staff_api, method)(url)
        assert response.status_code == 503, url
        assert "Redis" in response.json()["detail"]
