"""Fixtures of the REST API tests: users with model permissions and token-authenticated clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

API = "/api/webhooks"
MODELS = ("webhook", "eventrule", "delivery")
# How an object type outside WEBHOOKS_MODELS (tests/settings.py) is refused, after its name.
UNREGISTERED = (
    "is not a model registered for webhooks (WEBHOOKS_MODELS); choose one of: "
    "inventory.tag, inventory.site, inventory.device, inventory.ipaddress."
)


def make_user(
    *perms: str, username: str = "user", staff: bool = False, superuser: bool = False
) -> User:
    """A user with permissions such as ``"view_webhook"`` (all in ``webhooks_app``)."""
    if superuser:
        return User.objects.create_superuser(username, password="pw")
    user = User.objects.create_user(username, password="pw", is_staff=staff)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="webhooks_app", codename=codename)
        )
    return user


def token_client(user: User) -> APIClient:
    """A client sending ``Authorization: Token <key>``."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def client_for(db: None) -> Callable[..., APIClient]:
    """``client_for("view_webhook", ...)``: a token client of a user with those permissions."""
    counter = iter(range(1, 1000))

    def build(*perms: str, staff: bool = False) -> APIClient:
        return token_client(make_user(*perms, username=f"user{next(counter)}", staff=staff))

    return build


@pytest.fixture
def api(db: None) -> APIClient:
    """A client with every webhooks_app model permission (not staff, not superuser)."""
    perms = [
        f"{action}_{model}" for model in MODELS for action in ("view", "add", "change", "delete")
    ]
    return token_client(make_user(*perms, username="full"))


@pytest.fixture
def staff_api(db: None) -> APIClient:
    """A staff user's client, without any permission."""
    return token_client(make_user(username="staff", staff=True))


@pytest.fixture
def operator_api(db: None) -> APIClient:
    """A client of a user who may view and change deliveries, as background tasks need (not
    staff)."""
    return token_client(make_user("view_delivery", "change_delivery", username="operator"))


def results(response: Any) -> list[dict[str, Any]]:
    """The items of a paginated list answer."""
    assert response.status_code == 200, response.content
    items: list[dict[str, Any]] = response.json()["results"]
    return items
