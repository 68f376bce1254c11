"""An operator in a real browser: configure a webhook and a rule in the admin, watch deliveries
succeed, fail and be retried from the background tasks page (also without JavaScript), preview
a template that fails to render, and send a test event."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import make_webhook
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver

from .conftest import log_in, reload_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Shoot = Callable[["Page", str], None]
SUCCEEDED = ".webhooks-state-succeeded"


def add_site(page: Page, name: str) -> None:
    page.goto("/admin/inventory/site/add/")
    page.fill("#id_slug", name.lower().replace(" ", "-"))  # first, so prepopulation leaves it
    page.fill("#id_name", name)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")


def test_operator_sets_up_a_webhook_and_retries_failed_deliveries(
    page: Page,
    page_without_js: Page,
    shoot: Shoot,
    superuser: Any,
    worker: Any,
    queue: Queue,
    receiver: Receiver,
) -> None:
    page.goto("/admin/login/")
    shoot(page, "login")
    log_in(page)
    assert page.locator("#webhooks-operations a", has_text="Background tasks").is_visible()
    shoot(page, "admin-index")

    # A webhook with a secret, through the admin form.
    page.goto("/admin/webhooks_app/webhook/add/")
    page.fill("#id_name", "Browser hook")
    page.fill("#id_payload_url", receiver.url)
    page.fill("#id_secret", "s3cret")
    shoot(page, "webhook-add")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    assert page.locator("#result_list", has_text="Browser hook").is_visible()
    shoot(page, "webhook-list")

    # An event rule: sites, created.
    page.goto("/admin/webhooks_app/eventrule/add/")
    page.fill("#id_name", "Sites created")
    page.get_by_label("Site (inventory.site)").check()
    page.get_by_label("Object created").check()
    page.select_option("#id_webhook", label="Browser hook")
    shoot(page, "eventrule-add")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    shoot(page, "eventrule-list")

    # A site created in the admin is delivered, signed.
    add_site(page, "Browser Site One")
    page.goto("/admin/webhooks_app/delivery/")
    reload_until(page, f"#result_list {SUCCEEDED}")
    shoot(page, "delivery-log-succeeded")
    (request,) = receiver.wait_for(1)
    assert request.signature_valid is True
    assert request.json()["data"]["name"] == "Browser Site One"

    # The receiver refuses the next one: a failed job on the background tasks page.
    receiver.set_status(400)
    add_site(page, "Browser Site Two")
    page.goto("/admin/background-tasks/")
    reload_until(page, "#count-default-failed:text-is('1')")
    shoot(page, "background-tasks")
    page.click("#count-default-failed")
    page.wait_for_url("**/queues/default/failed/")  # the click starts the load, waits for none
    row = page.locator("tr.webhooks-job")
    assert row.count() == 1
    assert "Status 400 returned" in row.inner_text() and "Browser hook" in row.inner_text()
    shoot(page, "failed-jobs")
    row.locator("a.webhooks-job-link").click()
    assert "Traceback" in page.locator("#job-traceback").inner_text()
    shoot(page, "failed-job-detail")

    # The receiver is back: Retry, confirm, and the delivery succeeds.
    receiver.set_status(200)
    page.click("#job-retry-link")
    shoot(page, "retry-confirm")
    page.click("input[type=submit][value='Yes, retry']")
    page.wait_for_selector(".messagelist .success")
    shoot(page, "retried")
    page.goto("/admin/webhooks_app/delivery/?state__exact=succeeded")
    reload_until(page, "#result_list tbody tr:nth-child(2)")
    shoot(page, "delivery-log-after-retry")
    delivery = Delivery.objects.get(event_payload__data__data__name="Browser Site Two")
    assert delivery.state == "succeeded" and delivery.attempt_count == 2
    page.goto(f"/admin/webhooks_app/delivery/{delivery.pk}/change/")
    assert page.locator("#attempt-1").is_visible() and page.locator("#attempt-2").is_visible()
    shoot(page, "delivery-detail")

    # Without JavaScript: two more failures, then "Retry all failed" with plain forms.
    nojs = page_without_js
    receiver.set_status(400)
    Site.objects.create(name="No JS One", slug="no-js-one")
    Site.objects.create(name="No JS Two", slug="no-js-two")
    log_in(nojs)
    nojs.goto("/admin/background-tasks/")
    reload_until(nojs, "#count-default-failed:text-is('2')")
    shoot(nojs, "nojs-background-tasks")
    receiver.set_status(200)
    nojs.click("#queue-default a.button:text-is('Retry all failed')")
    shoot(nojs, "nojs-retry-all-confirm")
    nojs.click("input[type=submit][value='Yes, retry all']")
    assert (
        "2 failed job(s) put back on the default queue."
        in nojs.locator(".messagelist").inner_text()
    )
    nojs.goto("/admin/webhooks_app/delivery/?state__exact=succeeded")
    reload_until(nojs, "#result_list tbody tr:nth-child(4)")
    shoot(nojs, "nojs-delivery-log")
    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}


def test_preview_shows_render_errors_and_send_test_shows_the_outcome(
    page: Page, shoot: Shoot, superuser: Any, receiver: Receiver
) -> None:
    broken = make_webhook(
        "https://hooks.example.com/in",
        name="Broken body",
        body_template="{{ data.missing.deeper }}",
    )
    log_in(page)
    page.goto(f"/admin/webhooks_app/webhook/{broken.pk}/change/")
    shoot(page, "webhook-change")
    page.click(".object-tools a:text-is('Preview')")
    error = page.locator("#preview-error")
    assert "Error rendering body" in error.inner_text() and "missing" in error.inner_text()
    shoot(page, "preview-error")
    # A site as the object, updated: still the same clear error, no body.
    site = Site.objects.create(name="Preview Site", slug="preview-site")
    page.select_option("#id_object_type", "inventory.site")
    page.fill("#id_object_id", str(site.pk))
    page.select_option("#id_event_type", "object_updated")
    with page.expect_navigation():
        page.click("input[type=submit][value='Preview']")
    assert page.locator("#preview-error").is_visible()
    assert page.locator(".webhooks-body").count() == 0
    shoot(page, "preview-error-for-a-site")

    # A working, signed webhook: its preview shows the body and signature; a test send arrives.
    working = make_webhook(receiver.url, name="Working", secret="s3cret")
    page.goto(f"/admin/webhooks_app/webhook/{working.pk}/preview/")
    assert "X-Hook-Signature" in page.locator(".webhooks-headers").inner_text()
    assert '"event": "created"' in page.locator(".webhooks-body").inner_text()
    shoot(page, "preview-body")
    page.goto(f"/admin/webhooks_app/webhook/{working.pk}/change/")
    page.click(".object-tools a:text-is('Send test')")
    shoot(page, "send-test-confirm")
    page.click("input[type=submit][value='Send test']")
    assert page.locator("#send-test-status").inner_text() == "200"
    shoot(page, "send-test-outcome")
    (request,) = receiver.wait_for(1)
    assert request.signature_valid is True
    page.click("#send-test-delivery")
    page.wait_for_load_state()
    page.locator("#attempt-1").wait_for(state="visible", timeout=15_000)
    assert page.locator("#attempt-1").is_visible()
