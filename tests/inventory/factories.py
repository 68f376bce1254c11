"""Small builders for the inventory tests: objects, users with permissions, API clients."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from demo.inventory.models import Device, IPAddress, Site, Tag


def make_tag(name: str = "Lab", **fields: Any) -> Tag:
    fields.setdefault("slug", name.lower().replace(" ", "-"))
    return Tag.objects.create(name=name, **fields)


def make_site(name: str = "Site 1", **fields: Any) -> Site:
    fields.setdefault("slug", name.lower().replace(" ", "-"))
    return Site.objects.create(name=name, **fields)


def make_device(name: str = "dev-1", site: Site | None = None, **fields: Any) -> Device:
    return Device.objects.create(name=name, site=site or make_site(), **fields)


def make_ip(address: str = "10.0.0.1/24", **fields: Any) -> IPAddress:
    return IPAddress.objects.create(address=address, **fields)


def make_user(*codenames: str, username: str = "user", superuser: bool = False) -> User:
    """A user with the given permissions, such as ``"inventory.view_site"``."""
    if superuser:
        return User.objects.create_superuser(username, password="pw")
    user = User.objects.create_user(username, password="pw")
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )
    return user


def token_client(user: User) -> APIClient:
    """An API client sending ``Authorization: Token <key>`` for ``user``."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
