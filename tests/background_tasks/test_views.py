"""The background tasks pages: counts, job lists and details, retry / retry all / delete with
confirmation, workers, permissions, caching, CSRF and an unreachable Redis."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rq import Queue
from rq.job import Job

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs, make_rule, make_webhook
from webhooks_app.delivery.redelivery import sample_delivery
from webhooks_app.dispatch.enqueue import job_spec, push_jobs
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.receiver import Receiver
from webhooks_app.worker import WebhookWorker

INDEX = "/admin/background-tasks/"
FAILED = "/admin/background-tasks/queues/default/failed/"


def job_url(job_id: str, action: str = "") -> str:
    return f"/admin/background-tasks/jobs/{job_id}/" + (f"{action}/" if action else "")


def notices(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def fail_a_site(queue: Queue, receiver: Receiver, name: str) -> str:
    """Create a site while the receiver answers 400; returns the failed job's id."""
    receiver.set_status(400)
    before = set(failed_jobs(queue))
    Site.objects.create(name=name, slug=name.lower().replace(" ", "-"))
    drain(queue)
    (job_id,) = set(failed_jobs(queue)) - before
    return job_id


def test_urls_are_named_in_the_app_namespace() -> None:
    assert reverse("webhooks_app:background-tasks") == INDEX
    assert reverse("webhooks_app:job-list", args=["default", "failed"]) == FAILED
    assert reverse("webhooks_app:job-detail", args=["j1"]) == job_url("j1")
    assert reverse("webhooks_app:job-retry", args=["j1"]) == job_url("j1", "retry")
    assert reverse("webhooks_app:job-delete", args=["j1"]) == job_url("j1", "delete")
    assert (
        reverse("webhooks_app:queue-retry-all", args=["default"])
        == "/admin/background-tasks/queues/default/retry-all/"
    )


@pytest.mark.django_db
def test_admin_index_links_to_the_page(admin_client: Client) -> None:
    content = admin_client.get("/admin/").content.decode()
    assert f'<a href="{INDEX}">Background tasks</a>' in content


@pytest.mark.django_db
def test_pages_extend_the_admin_and_never_cache(admin_client: Client, queue: Queue) -> None:
    for url in (INDEX, FAILED, "/admin/background-tasks/queues/default/queued/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
        assert 'id="site-name"' in response.content.decode()  # the admin's header
    assert "no-store" in admin_client.get(job_url("missing")).headers["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_failed_job_is_counted_listed_and_detailed(
    admin_client: Client, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    job_id = fail_a_site(queue, receiver, "Broken Site")
    index = admin_client.get(INDEX).content.decode()
    assert 'id="count-default-failed">1</a>' in index
    listing = admin_client.get(FAILED).content.decode()
    assert job_url(job_id) in listing
    assert "Receiver" in listing and "object_created" in listing and "inventory.site:" in listing
    assert "Status 400 returned" in listing
    detail = admin_client.get(job_url(job_id)).content.decode()
    assert (
        'id="job-arguments"' in detail
        and "&quot;object_type&quot;: &quot;inventory.site&quot;" in detail
    )
    assert "Traceback (most recent call last)" in detail and "DeliveryFailed" in detail
    assert job_url(job_id, "retry") in detail and job_url(job_id, "delete") in detail


@pytest.mark.django_db(transaction=True)
def test_retry_confirms_then_requeues_and_the_delivery_succeeds(
    admin_client: Client, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    job_id = fail_a_site(queue, receiver, "Retry Site")
    confirm = admin_client.get(job_url(job_id, "retry"))
    assert (
        "Retry this job?" in confirm.content.decode()
        and 'name="csrfmiddlewaretoken"' in confirm.content.decode()
    )
    assert failed_jobs(queue) == [job_id]
    receiver.set_status(200)
    response = admin_client.post(job_url(job_id, "retry"))
    assert response.status_code == 302 and response["Location"] == job_url(job_id)
    assert notices(response) == [f"Job {job_id} has been put back on the default queue."]
    drain(queue)
    assert failed_jobs(queue) == []
    delivery = Delivery.objects.get()
    assert delivery.state == "succeeded" and delivery.attempt_count == 2


@pytest.mark.django_db(transaction=True)
def test_retry_all_failed_requeues_every_failed_job(
    admin_client: Client, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    fail_a_site(queue, receiver, "First")
    fail_a_site(queue, receiver, "Second")
    url = "/admin/background-tasks/queues/default/retry-all/"
    assert "all 2 failed job(s)" in admin_client.get(url).content.decode()
    receiver.set_status(200)
    response = admin_client.post(url)
    assert response["Location"] == FAILED
    assert notices(response) == ["2 failed job(s) put back on the default queue."]
    drain(queue)
    assert sorted(Delivery.objects.values_list("state", flat=True)) == ["succeeded", "succeeded"]


@pytest.mark.django_db(transaction=True)
def test_delete_confirms_then_removes_the_job(
    admin_client: Client, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    job_id = fail_a_site(queue, receiver, "Doomed")
    assert "Delete this job?" in admin_client.get(job_url(job_id, "delete")).content.decode()
    response = admin_client.post(job_url(job_id, "delete"))
    assert response["Location"] == FAILED
    assert notices(response) == [f"Job {job_id} has been deleted."]
    assert failed_jobs(queue) == []
    assert not Job.exists(job_id, connection=queue.connection)
    assert admin_client.get(job_url(job_id)).status_code == 404


@pytest.mark.django_db
def test_retrying_a_job_that_has_not_failed_says_so(
    admin_client: Client, queue: Queue, webhook: Webhook
) -> None:
    spec = job_spec([sample_delivery(webhook)])
    push_jobs([spec])
    response = admin_client.post(job_url(spec["id"], "retry"))
    assert notices(response) == [
        f"Job {spec['id']} is not failed; only failed jobs can be retried."
    ]
    assert queue.count == 1


@pytest.mark.django_db
def test_queued_jobs_are_paginated(admin_client: Client, queue: Queue, webhook: Webhook) -> None:
    push_jobs([job_spec([sample_delivery(webhook)]) for _ in range(27)])
    first = admin_client.get("/admin/background-tasks/queues/default/queued/")
    assert first.context["total"] == 27 and len(first.context["jobs"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    second = admin_client.get("/admin/background-tasks/queues/default/queued/", {"page": "2"})
    assert len(second.context["jobs"]) == 2


@pytest.mark.django_db
def test_unknown_job_queue_or_state_is_404(admin_client: Client, queue: Queue) -> None:
    assert admin_client.get(job_url("no-such-job")).status_code == 404
    assert admin_client.post(job_url("no-such-job", "retry")).status_code == 404
    assert admin_client.get("/admin/background-tasks/queues/default/exploded/").status_code == 404
    assert admin_client.get("/admin/background-tasks/queues/nope/failed/").status_code == 404


@pytest.mark.django_db
def test_running_workers_are_listed(admin_client: Client, queue: Queue) -> None:
    worker = WebhookWorker([queue], connection=queue.connection, name="test-worker-1")
    worker.register_birth()
    try:
        content = admin_client.get(INDEX).content.decode()
    finally:
        worker.register_death()
    assert "test-worker-1" in content
    assert "No worker is running" in admin_client.get(INDEX).content.decode()


@pytest.mark.django_db
def test_anonymous_and_non_staff_users_are_sent_to_the_login(client: Client) -> None:
    assert client.get(INDEX)["Location"].startswith("/admin/login/?next=")
    User.objects.create_user("member", password="pw")
    client.login(username="member", password="pw")
    response = client.post(job_url("x", "delete"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def staff_with(*codenames: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="webhooks_app", codename=codename)
        )
    return user


MODELS = ("webhook", "eventrule", "delivery")
VIEW_ONLY = tuple(f"view_{model}" for model in MODELS)
EVERY_PERMISSION = tuple(
    f"{action}_{model}" for model in MODELS for action in ("view", "add", "change", "delete")
)


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_of_a_shared_job_shows_its_reason(
    admin_client: Client, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    """A job carrying deliveries to two webhooks, one answering 400: the failed one becomes a
    failed job of its own, and its page says why."""
    with Receiver() as good:
        make_rule(make_webhook(good.url, name="Good"), name="Also sites")
        job_id = fail_a_site(queue, receiver, "Half Broken")
        assert len(good.requests) == 1
    detail = admin_client.get(job_url(job_id)).content.decode()
    assert "Status 400 returned" in detail
    assert "Webhook delivery failed after 1 attempt(s)" in detail


@pytest.mark.django_db(transaction=True)
def test_reading_needs_view_delivery_and_acting_change_delivery(
    client: Client, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    """The REST API's rule (tests/api/test_background_tasks.py), for every page: staff without
    webhook permissions get 403 everywhere, staff who may only view read the pages but neither
    confirm nor perform an action, and staff with every webhook permission do everything."""
    job_id = fail_a_site(queue, receiver, "Guarded Site")
    pages = [INDEX, FAILED, job_url(job_id)]
    actions = [
        job_url(job_id, "retry"),
        "/admin/background-tasks/queues/default/retry-all/",
        job_url(job_id, "delete"),
    ]
    for user in (
        staff_with(username="plain"),
        staff_with("change_webhook", "change_eventrule", username="no-deliveries"),
        staff_with(*VIEW_ONLY, username="viewer"),
    ):
        client.force_login(user)
        for url in actions:
            assert client.get(url).status_code == 403, (user.username, url)
            assert client.post(url).status_code == 403, (user.username, url)
        for url in pages:
            expected = 200 if user.username == "viewer" else 403
            response = client.get(url)
            assert response.status_code == expected, (user.username, url)
            if expected == 200:  # the viewer is offered no action it may not take
                for action in actions:
                    assert action not in response.content.decode(), (url, action)
    assert failed_jobs(queue) == [job_id]  # nothing was retried or deleted

    client.force_login(staff_with(*EVERY_PERMISSION, username="operator"))
    for url in pages + actions:
        assert client.get(url).status_code == 200, url
    assert actions[0] in client.get(job_url(job_id)).content.decode()
    assert client.post(actions[0])["Location"] == job_url(job_id)
    assert failed_jobs(queue) == []
    assert client.post(actions[1])["Location"] == FAILED
    assert client.post(actions[2])["Location"] == "/admin/background-tasks/queues/default/queued/"
    assert not Job.exists(job_id, connection=queue.connection)


@pytest.mark.django_db(transaction=True)
def test_actions_without_csrf_token_are_refused(
    admin_user: User, queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    job_id = fail_a_site(queue, receiver, "Csrf Site")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(job_url(job_id, "retry")).status_code == 403
    assert client.post(job_url(job_id, "delete")).status_code == 403
    assert failed_jobs(queue) == [job_id]


@pytest.mark.django_db
def test_unreachable_redis_is_explained_not_a_server_error(
    admin_client: Client, redis_down: None
) -> None:
    for response in (
        admin_client.get(INDEX),
        admin_client.get(FAILED),
        admin_client.post(job_url("x", "retry")),
    ):
        content = response.content.decode()
        assert response.status_code == 503
        assert "Redis is unreachable" in content and "database outbox" in content
        assert "no-store" in response["Cache-Control"]
