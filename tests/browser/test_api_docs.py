"""The API documentation works without the Internet: Swagger UI and ReDoc come from our own
static files (drf-spectacular-sidecar), and the pages ask no other host for anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .conftest import Shoot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_swagger_ui_shows_the_webhook_operations_offline(
    page: Page, shoot: Shoot, blocked_requests: list[str]
) -> None:
    page.goto("/api/docs/")
    operation = page.locator(".opblock", has_text="/api/webhooks/webhooks/").first
    operation.wait_for(state="visible")
    operation.scroll_into_view_if_needed()
    assert page.locator(".opblock-summary-path", has_text="/api/webhooks/deliveries/").count() > 0
    shoot(page, "swagger-ui", full_page=False)
    assert blocked_requests == []


def test_redoc_shows_the_webhook_operations_offline(
    page: Page, shoot: Shoot, blocked_requests: list[str]
) -> None:
    page.goto("/api/redoc/")
    # ReDoc lists each operation in its menu and shows its path in the reference.
    path = page.get_by_text("/api/webhooks/webhooks/", exact=True).first
    path.wait_for(state="attached")
    page.locator("[role=menuitem]", has_text="webhooks").first.click()
    assert page.locator("[role=menuitem]", has_text="webhooks").count() > 0
    shoot(page, "redoc", full_page=False)
    assert blocked_requests == []
