"""Browser tests: Playwright (from PyPI) driving the system's Chromium at /usr/bin/chromium, a
live server on loopback, the session's Redis, and a real ``rqworker`` process.

The project never downloads a browser: when Playwright or /usr/bin/chromium is missing, the
browser tests are skipped with a reason saying what to install.

Pages see no Internet: every request to a host other than a loopback address is aborted (as
without a network) and recorded in the ``blocked_requests`` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import pytest
from rq import Queue, Worker

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-password"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives a real browser (Playwright + /usr/bin/chromium)"
    )


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install playwright (it drives the system Chromium; no browser download)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium per test: Playwright's sync API keeps an asyncio loop running in
    this thread while it is open, so it must not outlive the test (see below)."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            headless=True, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an asyncio loop running in this thread (in a greenlet), which
    makes Django refuse ORM calls from the test; the test itself is plain synchronous code.
    Set for the browser tests only, and undone after each."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def blocked_requests() -> list[str]:
    """The URLs of the requests that pages tried to send beyond loopback (all aborted)."""
    return []


def _new_page(
    browser: Browser, live_server: Any, blocked: list[str], *, javascript: bool
) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=javascript,
        viewport={"width": 1400, "height": 900},
    )
    context.set_default_timeout(10_000)

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", loopback_only)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server: Any, blocked_requests: list[str]) -> Iterator[Page]:
    yield from _new_page(browser, live_server, blocked_requests, javascript=True)


@pytest.fixture
def page_without_js(
    browser: Browser, live_server: Any, blocked_requests: list[str]
) -> Iterator[Page]:
    yield from _new_page(browser, live_server, blocked_requests, javascript=False)


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("operator", "operator@example.com", PASSWORD)


def log_in(page: Page, username: str = "operator") -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


class Shoot(Protocol):
    def __call__(self, page: Page, name: str, *, full_page: bool = True) -> None: ...


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Shoot:
    """``shoot(page, "name")`` saves a full-page screenshot under artifacts/screenshots/
    (``full_page=False``: only what the window shows)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name.removeprefix("test_").split("_")[0]
    counter = iter(range(1, 100))

    def save(page: Page, name: str, *, full_page: bool = True) -> None:
        page.screenshot(
            path=str(SCREENSHOTS / f"{prefix}-{next(counter):02d}-{name}.png"), full_page=full_page
        )

    return save


@pytest.fixture
def worker(
    queue: Queue, transactional_db: None, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``manage.py rqworker default --with-scheduler`` in its own process, on the test Redis and
    the test database (REDIS_URL and WEBHOOKS_TEST_DB are inherited from this session)."""
    log = tmp_path / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "default", "--with-scheduler"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while not Worker.all(queue=queue):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def reload_until(page: Page, selector: str, timeout: float = 20.0) -> None:
    """Reload the page until ``selector`` matches (the state of deliveries changes elsewhere)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} did not appear on {page.url} within {timeout:g}s")
        time.sleep(0.3)
        page.reload()
