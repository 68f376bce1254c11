"""Property-based test of the APIs against their own OpenAPI schema (schemathesis).

A live server (pytest-django's ``live_server``, same test database) serves ``/api/schema/``;
schemathesis generates requests for every operation under a path prefix, sends them with a
superuser's token, and checks that no answer is a 5xx and that every answer matches the schema.
Bounded: ``WEBHOOKS_FUZZ_EXAMPLES`` examples per operation (default 8), no deadline.

Generated ids almost never exist, which would leave the actions on objects (render, test,
redeliver, updates and deletes, bulk updates and deletes, the background tasks' jobs) tried
on 404s only. So in about half the examples the ids in the path and in a bulk body's items are
replaced by ids of objects that exist: webhooks, rules and deliveries (made again when an
example deleted them) and the jobs of a real queue (failed ones included).

The operations are driven with schemathesis's core API (``as_strategy`` + ``call_and_validate``)
inside ordinary tests rather than with its pytest plugin, whose lazy loader does not work with
pytest 9.2 (it writes ``Node._nodeid``, which pytest 9.2 no longer has).

Test sends (``webhooks/{id}/test/``) go out through an HTTP proxy on a closed loopback port,
so whatever URL schemathesis invents, nothing leaves the machine.

The webhooks' credentials are in the schema (write-only ``secret``, ``secret_headers``,
``client_key``, ``generate_secret``, ``end_secret_overlap``; read-only ``*_set``,
``generated_secret``, ``previous_secret_expires_at``), so schemathesis writes them too; one
webhook starts with every credential set (a previous secret in its overlap included), and a
check of every answer says that none of those credentials is ever in one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django.live_server_helper import LiveServer
from rest_framework.authtoken.models import Token
from rq import Queue
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs, make_rule, make_webhook
from tests.tls_server import Authority
from webhooks_app.models import Delivery, EventRule, Webhook
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = int(os.environ.get("WEBHOOKS_FUZZ_EXAMPLES", "8"))
CLOSED_PORT_PROXY = "http://127.0.0.1:9"
# Credentials of the webhook that has them all: no answer may contain any of them.
CREDENTIALS = {
    "secret": "fuzz-secret-0f3a9c",
    "previous_secret": "fuzz-previous-91bc4e",
    "secret_headers": "X-Api-Key: fuzz-header-77de1b",
}


@schemathesis.check
def no_credential_in_answers(ctx: Any, response: Any, case: Any) -> bool | None:
    """No answer holds a stored credential (secret, previous secret, secret header, key)."""
    for name, value in CREDENTIALS.items():
        hidden = value.rpartition(" ")[2]
        if hidden.encode() in response.content:
            raise AssertionError(f"The answer holds the {name} of a webhook.")
    return None


CHECKS = [not_a_server_error, response_schema_conformance, no_credential_in_answers]
MAX_REPORT = 2000  # characters of each operation's failure report


# An operation's path -> the ids of objects that exist for its ``{id}`` or ``{job_id}``.
ExistingIds = Callable[[str], list[Any]]


def no_ids(path: str) -> list[Any]:
    return []


def use_existing_ids(case: Any, ids: list[Any], pick: int) -> None:
    """Point the case's path and the items of its bulk body at existing objects."""
    for name in ("id", "job_id"):
        if name in case.path_parameters:
            case.path_parameters[name] = ids[pick % len(ids)]
    if isinstance(case.body, list):
        case.body = case.body[: len(ids)]  # each object once
        for index, item in enumerate(case.body):
            if isinstance(item, dict):
                item["id"] = ids[(pick + index) % len(ids)]


def run_operation(operation: Any, headers: dict[str, str], existing_ids: ExistingIds) -> None:
    @given(case=operation.as_strategy(), existing=st.booleans(), pick=st.integers(0, 1000))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        database=None,
    )
    def check(case: Any, existing: bool, pick: int) -> None:
        ids = existing_ids(operation.path) if existing else []
        if ids:
            use_existing_ids(case, ids, pick)
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def fuzz(
    live_server: LiveServer, prefix: str, existing_ids: ExistingIds = no_ids
) -> tuple[list[str], list[str]]:
    """Run every operation under ``prefix``: their labels, and each one's failures."""
    user = User.objects.create_superuser("fuzzer", password="pw")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    failures: list[str] = []
    operations: list[str] = []
    for result in schema.include(path_regex=f"^{prefix}").get_all_operations():
        if isinstance(result, Err):
            failures.append(f"Invalid schema: {result.err()}")
            continue
        operation = result.ok()
        operations.append(operation.label)
        try:
            run_operation(operation, headers, existing_ids)
        except (AssertionError, FailureGroup) as exc:  # report every operation's failures at once
            failures.append(f"{operation.label}:\n{str(exc)[:MAX_REPORT]}")
    return operations, failures


@pytest.fixture
def loopback_only(settings: Any, queue: Queue) -> None:
    settings.WEBHOOKS_HTTP_PROXIES = {"http": CLOSED_PORT_PROXY, "https": CLOSED_PORT_PROXY}


def make_objects(queue: Queue, receiver: Receiver, count: int) -> None:
    """Webhooks and rules, failed jobs (the receiver refuses their deliveries) with their
    deliveries, and one queued job."""
    for n in range(count):
        # One webhook for sites: a job carrying deliveries to several webhooks that fails is
        # split into failed jobs without a stored result (see the report on registries.py).
        models = ("inventory.site",) if n == 0 else ("inventory.tag",)
        make_rule(make_webhook(receiver.url, name=f"Refused {n}"), models, name=f"Rule {n}")
    receiver.set_status(400)
    for n in range(count):
        Site.objects.create(name=f"Failing {n}", slug=f"failing-{n}")
    drain(queue)
    assert len(failed_jobs(queue)) == count
    Site.objects.create(name="Waiting", slug="waiting")


def with_every_credential(webhook: Webhook, directory: Path) -> None:
    """Give ``webhook`` a secret in its overlap, secret headers and a client certificate."""
    client = Authority(directory).client("fuzz-client")
    webhook.secret = CREDENTIALS["previous_secret"]
    webhook.save()
    webhook.secret = CREDENTIALS["secret"]
    webhook.secret_headers = CREDENTIALS["secret_headers"]
    webhook.client_certificate, webhook.client_key = client.certificate, client.key
    webhook.full_clean()
    webhook.save()
    assert webhook.previous_secret_active()
    CREDENTIALS["client_key"] = client.key.splitlines()[1]


def webhook_ids() -> list[int]:
    ids = list(Webhook.objects.values_list("pk", flat=True))
    return ids or [make_webhook("http://127.0.0.1:9/", name=f"Fuzz {uuid.uuid4()}").pk]


def rule_ids() -> list[int]:
    ids = list(EventRule.objects.values_list("pk", flat=True))
    return ids or [make_rule(Webhook.objects.get(pk=webhook_ids()[0]), name="Fuzz rule").pk]


def delivery_ids() -> list[str]:
    ids = [str(pk) for pk in Delivery.objects.values_list("pk", flat=True)]
    if ids:
        return ids
    webhook = Webhook.objects.get(pk=webhook_ids()[0])
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(),
        webhook=webhook,
        object_type="inventory.site",
        event_type="object_created",
        payload={"event": "created"},
    )
    return [str(delivery.pk)]


def test_webhooks_api_never_fails_and_always_matches_its_schema(
    live_server: LiveServer, queue: Queue, receiver: Receiver, settings: Any, tmp_path: Path
) -> None:
    """Every operation, on objects that exist too: rendering and test sends, bulk updates and
    deletes, redelivery, and the background tasks' jobs (failed and queued); no answer holds
    a credential."""
    make_objects(queue, receiver, 3)
    with_every_credential(Webhook.objects.get(name="Refused 1"), tmp_path)
    settings.WEBHOOKS_HTTP_PROXIES = {"http": CLOSED_PORT_PROXY, "https": CLOSED_PORT_PROXY}

    def existing_ids(path: str) -> list[Any]:
        if "{job_id}" in path:
            return failed_jobs(queue) + queue.get_job_ids()
        if "/event-rules/" in path:
            return rule_ids()
        if "/deliveries/" in path:
            return delivery_ids()
        return webhook_ids()

    operations, failures = fuzz(live_server, "/api/webhooks/", existing_ids)
    assert len(operations) == 29
    for label in [
        "POST /api/webhooks/webhooks/{id}/render/",
        "POST /api/webhooks/webhooks/{id}/test/",
        "PATCH /api/webhooks/event-rules/",
        "DELETE /api/webhooks/webhooks/",
        "POST /api/webhooks/deliveries/{id}/redeliver/",
        "GET /api/webhooks/background-tasks/jobs/{job_id}/",
        "POST /api/webhooks/background-tasks/jobs/{job_id}/requeue/",
        "POST /api/webhooks/background-tasks/queues/{queue}/requeue-all/",
    ]:
        assert label in operations
    assert not failures, "\n\n".join(failures)


def test_inventory_api_never_fails_and_always_matches_its_schema(
    live_server: LiveServer, loopback_only: None
) -> None:
    operations, failures = fuzz(live_server, "/api/inventory/")
    assert len(operations) > 30
    assert not failures, "\n\n".join(failures)
