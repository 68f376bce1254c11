"""Fixtures of the inventory tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from .factories import make_user, token_client


@pytest.fixture
def api(db: None) -> APIClient:
    """An API client authenticated with a superuser's token."""
    return token_client(make_user(username="root", superuser=True))
