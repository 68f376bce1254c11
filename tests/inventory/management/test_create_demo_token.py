from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.inventory.factories import make_user

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_demo_token", *args, stdout=out)
    return out.getvalue().strip()


def test_prints_a_new_token_then_the_same_one() -> None:
    user = make_user(username="alice")
    key = run("alice")
    assert key == Token.objects.get(user=user).key
    assert run("alice") == key


def test_the_printed_token_authenticates() -> None:
    make_user("inventory.view_site", username="alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {run('alice')}")
    assert client.get("/api/inventory/sites/").status_code == 200


def test_unknown_user_is_an_error() -> None:
    with pytest.raises(CommandError, match="User 'nobody' does not exist."):
        run("nobody")
