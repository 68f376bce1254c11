"""Delivery end to end: a real receiver on loopback, the real queue, a real worker draining it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from rest_framework.test import APIClient
from rq import Queue
from standardwebhooks.webhooks import Webhook as StandardWebhook

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs, make_rule, make_webhook, queued_deliveries
from tests.tls_server import Authority, Issued, MutualTLSServer
from tests.worker_processes import WorkerPool, wait_until
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, DeliveryAttempt, EventRule, Webhook
from webhooks_app.receiver import Receiver
from webhooks_app.signing import generate_signature, standard_secret

pytestmark = pytest.mark.django_db(transaction=True)

CAPTURES = Path(__file__).resolve().parents[1] / "netbox_payloads"


def shape(value: Any) -> Any:
    """Keys (in order) and value types, recursively: what 'the same shape' means."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return ["list"]
    return type(value).__name__


def netbox_capture(name: str) -> dict[str, Any]:
    return json.loads((CAPTURES / f"{name}.raw.json").read_text())  # type: ignore[no-any-return]


def test_create_update_delete_bodies_have_netbox_shape_and_verify(
    queue: Queue, receiver: Receiver, site_rule: EventRule, admin_user: Any
) -> None:
    api = APIClient()
    api.force_authenticate(admin_user)
    created = api.post(
        "/api/inventory/sites/",
        {"name": "Anchor Site 1", "slug": "anchor-site-1", "description": "created"},
        format="json",
    )
    assert created.status_code == 201, created.content
    url = f"/api/inventory/sites/{created.json()['id']}/"
    assert api.patch(url, {"description": "updated"}, format="json").status_code == 200
    assert api.delete(url).status_code == 204
    drain(queue)
    requests = receiver.wait_for(3)
    for request, name, method in zip(
        requests, ["created", "updated", "deleted"], ["POST", "PATCH", "DELETE"], strict=True
    ):
        body = request.json()
        reference = netbox_capture(name)
        assert list(body) == list(reference)
        assert body["event"] == reference["event"]
        assert body["object_type"] == "inventory.site"
        for key in ("event", "timestamp", "username", "request_id", "request"):
            assert shape(body[key]) == shape(reference[key])
        assert body["request"]["method"] == method and body["request"]["user"] == "admin"
        assert list(body["snapshots"]) == ["prechange", "postchange"]
        assert body["data"]["url"].startswith("/api/inventory/sites/")
        assert body["data"]["status"] == {"value": "active", "label": "Active"}
        assert request.header("X-Hook-Signature") == generate_signature(request.body, "s3cret")
        assert request.signature_valid is True
        assert request.header("Content-Type") == "application/json"
        assert request.body.decode("ascii")  # ensure_ascii, like NetBox
    assert requests[0].json()["snapshots"]["prechange"] is None
    assert requests[2].json()["snapshots"]["postchange"] is None
    assert requests[1].json()["snapshots"]["prechange"]["description"] == "created"
    assert requests[1].json()["snapshots"]["postchange"]["description"] == "updated"
    assert requests[2].json()["data"]["description"] == "updated"


def test_standard_webhooks_signature_verifies_with_the_library(
    queue: Queue, receiver: Receiver
) -> None:
    hook = make_webhook(receiver.url, secret="topsecret", standard_webhooks=True)
    make_rule(hook)
    Site.objects.create(name="Std", slug="std")
    drain(queue)
    [request] = receiver.wait_for(1)
    verifier = StandardWebhook(standard_secret("topsecret"))
    payload = verifier.verify(request.body, {k.lower(): v for k, v in request.headers.items()})
    assert payload["data"]["name"] == "Std"
    assert request.header("webhook-id") == request.header("X-Hook-Event-Id")


def test_templated_url_headers_and_body_render_as_configured(
    queue: Queue, receiver: Receiver
) -> None:
    hook = make_webhook(
        receiver.url + "{{ model }}/{{ data.slug }}?e={{ event }}",
        http_method="PUT",
        http_content_type="text/plain",
        additional_headers="X-Event: {{ event }}\nX-Name: {{ data.name | header_safe }}\n\nno colon here",
        body_template='{"id": {{ data.id }}, "user": {{ username | tojson }}}',
    )
    make_rule(hook)
    site = Site.objects.create(name='Quoted "x"\r\nX-Injected: yes', slug="tpl")
    drain(queue)
    [request] = receiver.wait_for(1)
    assert request.method == "PUT"
    assert request.path == "/site/tpl?e=created"
    assert request.header("X-Event") == "created"
    assert request.header("X-Name") == 'Quoted "x"X-Injected: yes'
    assert request.header("X-Injected") is None
    assert json.loads(request.body) == {"id": site.pk, "user": None}


def test_header_injection_without_header_safe_fails_the_attempt(
    queue: Queue, receiver: Receiver
) -> None:
    hook = make_webhook(receiver.url, additional_headers="X-Name: {{ data.name }}")
    make_rule(hook)
    Site.objects.create(name="evil\r\nX-Injected: yes", slug="evil")
    drain(queue)
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert "line break" in delivery.last_error
    assert len(failed_jobs(queue)) == 1


def test_sandbox_escape_attempt_fails_cleanly(queue: Queue, receiver: Receiver) -> None:
    hook = make_webhook(
        receiver.url, body_template="{{ data.__class__.__mro__[1].__subclasses__() }}"
    )
    make_rule(hook)
    Site.objects.create(name="Sandbox", slug="sandbox")
    drain(queue)
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert "Error rendering body" in delivery.last_error
    assert "subclasses" not in delivery.attempts.get().request_body


def test_503_twice_then_200_gives_three_attempts_with_one_event_id(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    receiver.set_responses([503, 503])
    Site.objects.create(name="Flaky", slug="flaky")
    drain(
        queue,
        until=lambda: Delivery.objects.filter(state=DeliveryState.SUCCEEDED).exists(),
        timeout=20,
    )
    requests = receiver.wait_for(3)
    assert len({r.header("X-Hook-Event-Id") for r in requests}) == 1
    assert len({r.body for r in requests}) == 1  # identical bytes on every attempt
    delivery = Delivery.objects.get()
    assert delivery.attempt_count == 3
    assert [a.response_status for a in delivery.attempts.order_by("number")] == [503, 503, 200]
    assert [a.number for a in delivery.attempts.order_by("number")] == [1, 2, 3]


def test_400_fails_at_once_with_one_attempt(
    queue: Queue, receiver: Receiver, site_rule: EventRule
) -> None:
    receiver.set_status(400)
    Site.objects.create(name="Rejected", slug="rejected")
    drain(queue)
    assert len(receiver.requests) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and delivery.attempt_count == 1
    assert delivery.last_status_code == 400
    assert len(failed_jobs(queue)) == 1


def test_a_receiver_that_never_answers_times_out(
    queue: Queue, receiver: Receiver, site_rule: EventRule, settings: Any
) -> None:
    settings.WEBHOOKS_HTTP_TIMEOUT = 0.5
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.set_delay(3)
    Site.objects.create(name="Slow", slug="slow")
    drain(queue)
    attempt = Delivery.objects.get().attempts.get()
    assert "Timed out" in attempt.error
    assert attempt.duration_ms is not None and attempt.duration_ms < 2000


def test_link_local_destination_is_refused_before_connecting(queue: Queue) -> None:
    hook = make_webhook("http://169.254.169.254/latest/meta-data/")
    make_rule(hook)
    Site.objects.create(name="Metadata", slug="metadata")
    drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert "denied network" in delivery.last_error


def test_denied_networks_setting_blocks_loopback_too(
    queue: Queue, receiver: Receiver, site_rule: EventRule, settings: Any
) -> None:
    settings.WEBHOOKS_DENIED_NETWORKS = ["127.0.0.0/8"]
    Site.objects.create(name="Private", slug="private")
    drain(queue)
    assert receiver.requests == []
    assert "denied network" in Delivery.objects.get().last_error


def test_redirects_are_not_followed(queue: Queue, receiver: Receiver, site_rule: EventRule) -> None:
    receiver.set_responses([(302, {"Location": "http://127.0.0.1:1/elsewhere"})])
    Site.objects.create(name="Moved", slug="moved")
    drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert "http://127.0.0.1:1/elsewhere" in delivery.last_error


# Client certificates (mutual TLS): a real HTTPS receiver on 127.0.0.1 that requires one.


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


@pytest.fixture
def mtls_server(authority: Authority) -> Iterator[MutualTLSServer]:
    with MutualTLSServer(authority, status=204) as server:
        yield server


def mtls_webhook(server: MutualTLSServer, authority: Authority, issued: Issued | None) -> Webhook:
    fields: dict[str, Any] = {"name": "Mutual TLS", "ca_file_path": authority.ca_file}
    if issued is not None:
        fields.update(client_certificate=issued.certificate, client_key=issued.key)
    webhook = make_webhook(server.url(path="/hook"), **fields)
    make_rule(webhook)
    return webhook


def key_lines(issued: Issued) -> list[str]:
    """The lines of the key's base64 (what would betray it anywhere)."""
    return [line for line in issued.key.splitlines() if not line.startswith("-----")]


def test_a_receiver_that_requires_a_client_certificate_gets_the_webhooks(
    queue: Queue, authority: Authority, mtls_server: MutualTLSServer, caplog: Any
) -> None:
    issued = authority.client("netbox-webhooks")
    mtls_webhook(mtls_server, authority, issued)
    caplog.set_level(logging.DEBUG)
    Site.objects.create(name="Secure", slug="secure")
    job_args = json.dumps(queued_deliveries(queue), default=str)
    drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert mtls_server.client_subjects == ["CN=netbox-webhooks"]
    assert mtls_server.requests[0].path == "/hook"
    # The key is nowhere but in its encrypted column: not in the job, the log or the records.
    stored = json.dumps(
        [
            list(Delivery.objects.values()),
            list(DeliveryAttempt.objects.values()),
            list(Webhook.objects.values()),
        ],
        default=str,
    )
    for line in key_lines(issued):
        assert line not in job_args
        assert line not in stored
        assert line not in caplog.text


def test_without_a_client_certificate_the_attempt_says_the_receiver_requires_one(
    queue: Queue, authority: Authority, mtls_server: MutualTLSServer, settings: Any
) -> None:
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    mtls_webhook(mtls_server, authority, None)
    Site.objects.create(name="Refused", slug="refused")
    drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    attempt = delivery.attempts.get()
    assert attempt.error.startswith(
        "Connection failed: The receiver requires a client certificate ("
    )
    assert attempt.response_status is None
    assert mtls_server.requests == []


def test_a_client_certificate_from_another_ca_is_refused_by_the_receiver(
    queue: Queue, authority: Authority, mtls_server: MutualTLSServer, settings: Any, tmp_path: Path
) -> None:
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    stranger = Authority(tmp_path, name="Other CA").client("stranger")
    mtls_webhook(mtls_server, authority, stranger)
    Site.objects.create(name="Stranger", slug="stranger")
    drain(queue)
    error = Delivery.objects.get().attempts.get().error
    assert error.startswith(
        "Connection failed: The receiver refused the client certificate: it does not trust "
        "its issuer ("
    )
    assert mtls_server.requests == []


def test_a_client_key_no_key_decrypts_fails_the_delivery_with_the_reason(
    queue: Queue, authority: Authority, mtls_server: MutualTLSServer
) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[first]):
        mtls_webhook(mtls_server, authority, authority.client())
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[second]):
        Site.objects.create(name="Locked", slug="locked")
        drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and delivery.attempt_count == 1
    assert delivery.last_error.startswith("The client key of webhook ")
    assert "cannot be decrypted with any key of WEBHOOKS_ENCRYPTION_KEYS" in delivery.last_error
    assert mtls_server.requests == []
    assert len(failed_jobs(queue)) == 1


def test_a_changed_client_certificate_is_presented_from_the_next_delivery_on(
    queue: Queue, authority: Authority, mtls_server: MutualTLSServer
) -> None:
    webhook = mtls_webhook(mtls_server, authority, authority.client("first"))
    Site.objects.create(name="Before", slug="before")
    drain(queue)
    renewed = authority.client("renewed")
    webhook.client_certificate, webhook.client_key = renewed.certificate, renewed.key
    webhook.save()
    Site.objects.create(name="After", slug="after")
    drain(queue)
    assert mtls_server.client_subjects == ["CN=first", "CN=renewed"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}


@pytest.mark.timeout(120)
def test_a_worker_process_presents_the_client_certificate(
    pool: WorkerPool, authority: Authority, mtls_server: MutualTLSServer
) -> None:
    issued = authority.client("worker-process")
    mtls_webhook(mtls_server, authority, issued)
    Site.objects.create(name="Remote", slug="remote")
    [worker] = pool.start()
    settled = Delivery.objects.exclude(state=DeliveryState.PENDING)
    wait_until(settled.exists, 60, "the delivery's first attempt")
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED, pool.logs()
    assert mtls_server.client_subjects == ["CN=worker-process"]
    for line in key_lines(issued):
        assert line not in worker.output()
