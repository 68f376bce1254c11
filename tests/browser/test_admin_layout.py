"""The operator's pages on common laptop screens: the lists of webhooks, event rules, deliveries
and background tasks fit at 1366 px with no horizontal scroll and keep their key columns (what,
where, state, when) in view at 1024 px; every page has an icon; one menu entry for the queues;
a body on one line wraps between words; an idle worker is shown as idle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from rq import Queue

from demo.inventory.models import Device, Site
from tests.conftest import make_rule, make_webhook
from tests.worker_processes import wait_until
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver

from .conftest import Shoot, log_in, reload_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 1024)
# Each list page, and the classes of its key columns' headers (Django's "column-<field>"; the
# background tasks' tables have no such classes: all their columns must show).
LISTS: dict[str, tuple[str, ...]] = {
    "/admin/webhooks_app/webhook/": ("column-name", "column-payload_url", "column-last_updated"),
    "/admin/webhooks_app/eventrule/": (
        "column-name",
        "column-enabled",
        "column-webhook",
        "column-object_type_list",
        "column-event_type_list",
    ),
    "/admin/webhooks_app/delivery/": (
        "column-when",
        "column-state_badge",
        "column-what",
        "column-where",
    ),
    "/admin/background-tasks/": (),
    "/admin/background-tasks/queues/default/failed/": (),
}

# The widths of the page and of each table's scrolling box, and the key columns that end
# outside their table's visible box.
MEASURE = """(keys) => {
  const boxes = [...document.querySelectorAll('#content-main .results, #content-main .module')]
    .filter(box => box.querySelector('table'));
  const hidden = [];
  for (const key of keys) {
    const th = document.querySelector(`#result_list thead th.${key}`);
    const box = th && th.closest('.results');
    if (!th || th.getBoundingClientRect().right > box.getBoundingClientRect().right + 1) {
      hidden.push(key);
    }
  }
  return {
    page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
    boxes: boxes.map(box => [box.id || box.className, box.scrollWidth, box.clientWidth]),
    hidden,
  };
}"""

# Where the text of the first request body breaks between two lines, as the two characters
# around each break.
LINE_BREAKS = """() => {
  const text = document.querySelector('#attempt-1 .webhooks-body').firstChild;
  const breaks = [];
  let top = null;
  for (let i = 0; i < text.data.length; i++) {
    const range = document.createRange();
    range.setStart(text, i);
    range.setEnd(text, i + 1);
    const rect = range.getBoundingClientRect();
    if (!rect.height) continue;
    if (top !== null && rect.top > top + 2) breaks.push(text.data.slice(i - 1, i + 1));
    top = rect.top;
  }
  return breaks;
}"""


def icon_status(page: Page) -> int:
    """The status of the page's icon: its <link rel=icon>, else /favicon.ico (what a browser
    then asks for; headless Chromium does not, so the test does)."""
    href = page.evaluate(
        "document.querySelector('link[rel~=icon]')?.href"
        " || new URL('/favicon.ico', location.href).href"
    )
    response = page.request.get(href)
    assert response.headers["content-type"].startswith("image/"), href
    return response.status


def long_names(receiver: Receiver) -> None:
    """Webhooks and rules with realistic, long names and URLs."""
    erp = make_webhook(
        "https://hooks.example.com/services/inventory/T01234567/B0123456789/changes",
        name="Inventory changes to the ERP",
        secret="s3cret",
    )
    make_rule(
        erp,
        ("inventory.site", "inventory.device", "inventory.ipaddress", "inventory.tag"),
        name="Everything in the inventory to the ERP",
        enabled=False,
    )
    hook = make_webhook(receiver.url, name="Demo receiver on loopback", secret="s3cret")
    make_rule(hook, ("inventory.site", "inventory.device"), name="Sites and devices to receiver")


def test_lists_fit_laptop_screens_and_every_page_has_an_icon(
    page: Page, shoot: Shoot, superuser: Any, worker: Any, queue: Queue, receiver: Receiver
) -> None:
    long_names(receiver)
    Site.objects.create(name="Delivered Site", slug="delivered-site")
    receiver.wait_for(1)
    receiver.set_status(400)  # fails for good: a failed job on the background tasks page
    site = Site.objects.create(name="Refused Site", slug="refused-site")
    log_in(page)
    page.goto("/admin/background-tasks/")
    reload_until(page, "#count-default-failed:text-is('1')")
    receiver.set_status(200)
    Device.objects.create(name="Delivered device", site=site)
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 2, 20, "delivery")

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for url, key_columns in LISTS.items():
            page.goto(url)
            shoot(page, f"{width}-{url.strip('/').replace('/', '-')}")
            measured = page.evaluate(MEASURE, list(key_columns))
            scroll_width, client_width = measured["page"]
            assert scroll_width <= client_width, f"{url} at {width} px scrolls sideways"
            assert measured["boxes"], url
            if width == 1366 or not key_columns:
                for name, scroll, client in measured["boxes"]:
                    assert scroll <= client, f"{url} at {width} px: {name} scrolls sideways"
            assert measured["hidden"] == [], f"{url} at {width} px hides {measured['hidden']}"
            assert icon_status(page) == 200, url

    # One menu entry for the queues: ours, not also django-rq's dashboard.
    page.goto("/admin/")
    assert page.locator("#webhooks-operations a", has_text="Background tasks").is_visible()
    assert page.get_by_text("Django-RQ").count() == 0
    assert icon_status(page) == 200


def test_body_on_one_line_wraps_between_words(
    page: Page, shoot: Shoot, superuser: Any, worker: Any, queue: Queue, receiver: Receiver
) -> None:
    webhook = make_webhook(receiver.url, name="Receiver", secret="s3cret")
    make_rule(webhook, name="Sites")
    Site.objects.create(name="A site with a long enough name", slug="a-site")
    log_in(page)
    page.goto("/admin/webhooks_app/delivery/")
    reload_until(page, "#result_list .webhooks-state-succeeded")
    delivery = Delivery.objects.get()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"/admin/webhooks_app/delivery/{delivery.pk}/change/")
        shoot(page, f"{width}-delivery")
        breaks = page.evaluate(LINE_BREAKS)
        assert breaks, "the body fits on one line: nothing tested"
        inside_words = [pair for pair in breaks if pair.isalnum()]
        assert inside_words == [], f"at {width} px the body breaks inside words: {inside_words}"


def test_an_idle_worker_is_shown_idle(
    page: Page, superuser: Any, worker: Any, queue: Queue, receiver: Receiver
) -> None:
    # After a job (the worker of issue 19 stayed "busy" once it had run one).
    make_rule(make_webhook(receiver.url, name="Receiver"), name="Sites")
    Site.objects.create(name="One job", slug="one-job")
    wait_until(lambda: Delivery.objects.filter(state="succeeded").exists(), 20, "the delivery")
    wait_until(lambda: queue.finished_job_registry.count == 1, 20, "the job's end")
    log_in(page)
    page.goto("/admin/background-tasks/")
    for _ in range(10):
        page.reload()
        assert page.locator("#workers .webhooks-worker-state").all_inner_texts() == ["idle"]
        workers = page.request.get("/api/webhooks/background-tasks/").json()["workers"]
        assert [(w["state"], w["current_job"]) for w in workers] == [("idle", None)]
