"""Property-based test of the APIs against their own OpenAPI schema (schemathesis).

A live server (pytest-django's ``live_server``, same test database) serves ``/api/schema/``;
schemathesis generates requests for every operation under a path prefix, sends them with a
superuser's token, and checks that no answer is a 5xx and that every answer matches the schema.
Bounded: ``WEBHOOKS_FUZZ_EXAMPLES`` examples per operation (default 8), no deadline.

The operations are driven with schemathesis's core API (``as_strategy`` + ``call_and_validate``)
inside ordinary tests rather than with its pytest plugin, whose lazy loader does not work with
pytest 9.2 (it writes ``Node._nodeid``, which pytest 9.2 no longer has).

Test sends (``webhooks/{id}/test/``) go out through an HTTP proxy on a closed loopback port,
so whatever URL schemathesis invents, nothing leaves the machine.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.authtoken.models import Token
from rq import Queue
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = int(os.environ.get("WEBHOOKS_FUZZ_EXAMPLES", "8"))
CLOSED_PORT_PROXY = "http://127.0.0.1:9"
CHECKS = [not_a_server_error, response_schema_conformance]
MAX_REPORT = 2000  # characters of each operation's failure report


def run_operation(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def fuzz(live_server: LiveServer, prefix: str) -> tuple[int, list[str]]:
    """Run every operation under ``prefix``; how many there were, and each one's failures."""
    user = User.objects.create_superuser("fuzzer", password="pw")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    failures: list[str] = []
    operations = 0
    for result in schema.include(path_regex=f"^{prefix}").get_all_operations():
        if isinstance(result, Err):
            failures.append(f"Invalid schema: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        try:
            run_operation(operation, headers)
        except (AssertionError, FailureGroup) as exc:  # report every operation's failures at once
            failures.append(f"{operation.label}:\n{str(exc)[:MAX_REPORT]}")
    return operations, failures


@pytest.fixture
def loopback_only(settings: Any, queue: Queue) -> None:
    settings.WEBHOOKS_HTTP_PROXIES = {"http": CLOSED_PORT_PROXY, "https": CLOSED_PORT_PROXY}


def test_webhooks_api_never_fails_and_always_matches_its_schema(
    live_server: LiveServer, loopback_only: None
) -> None:
    operations, failures = fuzz(live_server, "/api/webhooks/")
    assert operations == 29
    assert not failures, "\n\n".join(failures)


def test_inventory_api_never_fails_and_always_matches_its_schema(
    live_server: LiveServer, loopback_only: None
) -> None:
    operations, failures = fuzz(live_server, "/api/inventory/")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
