"""Running a render in a child process killed at a time limit: what comes back, and that the
child is gone when the limit is reached."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from django.test import override_settings

from tests.delivery import child_functions
from webhooks_app.delivery.isolation import MEMORY_HEADROOM, run_in_child
from webhooks_app.exceptions import (
    TemplateRenderError,
    TimeLimitError,
    UnexpectedError,
    WebhookError,
)


def test_the_result_comes_back() -> None:
    assert run_in_child(child_functions.add, 2, 3, times=4, limit=10, what="Adding") == 20


def test_past_the_limit_the_child_is_killed_and_the_error_names_the_limit(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(TimeLimitError) as stopped:
        run_in_child(child_functions.burn, str(pid_file), limit=0.5, what="Rendering")
    assert time.monotonic() - started < 10  # the limit, plus the child's start
    assert str(stopped.value) == (
        "Rendering took longer than the limit of 0.5 s (WEBHOOKS_PREVIEW_TIME_LIMIT) and was "
        "stopped."
    )
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped


def test_a_webhook_error_in_the_child_is_raised_as_it_is() -> None:
    with pytest.raises(TemplateRenderError, match=r"^Error rendering body: no\.$"):
        run_in_child(child_functions.refuse, limit=10, what="Rendering")


def test_anything_else_is_an_unexpected_error_with_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, "webhooks_app"), pytest.raises(UnexpectedError) as bug:
        run_in_child(child_functions.crash, limit=10, what="Rendering")
    assert str(bug.value).startswith("Unexpected error while rendering (KeyError: 'missing')")
    assert "Traceback" in caplog.text and "in crash" in caplog.text


def test_a_child_that_dies_is_an_unexpected_error() -> None:
    with pytest.raises(UnexpectedError, match=r"ended unexpectedly \(exit code 3\)"):
        run_in_child(child_functions.die, limit=10, what="Rendering")


def test_the_child_cannot_take_much_more_memory_than_it_starts_with() -> None:
    with pytest.raises(UnexpectedError, match="MemoryError"):
        run_in_child(child_functions.allocate, 2 * MEMORY_HEADROOM, limit=30, what="Rendering")
    assert run_in_child(child_functions.allocate, 1 << 20, limit=30, what="Rendering") == 1 << 20


@override_settings(WEBHOOKS_TEMPLATE_MAX_SIZE=123, WEBHOOKS_HTTP_TIMEOUT=1.5)
def test_the_child_renders_with_the_settings_of_the_caller() -> None:
    for name, value in (("WEBHOOKS_TEMPLATE_MAX_SIZE", 123), ("WEBHOOKS_HTTP_TIMEOUT", 1.5)):
        assert run_in_child(child_functions.setting, name, limit=10, what="Reading") == value


def test_arguments_that_cannot_cross_to_the_child_are_an_error() -> None:
    with pytest.raises(WebhookError, match="Rendering cannot be done in a separate process"):
        run_in_child(child_functions.add, threading.Lock(), 1, limit=10, what="Rendering")
