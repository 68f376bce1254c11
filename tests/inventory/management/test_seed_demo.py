from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from webhooks_app.models import Webhook

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_first_run_reports_what_it_created() -> None:
    output = run("--receiver-port", "9555")
    key = Token.objects.get(user__username="admin").key
    assert output.splitlines() == [
        "Created superuser 'admin' (password 'admin').",
        f"API token of 'admin': {key}",
        "Created sample tags, sites, devices and IP addresses.",
        "Created webhook 'Demo receiver'.",
        "Created event rule 'Sites to demo receiver'.",
    ]
    assert Webhook.objects.get().payload_url == "http://127.0.0.1:9555/"


def test_second_run_only_prints_the_token() -> None:
    run()
    key = Token.objects.get(user__username="admin").key
    assert run().splitlines() == [f"API token of 'admin': {key}"]
