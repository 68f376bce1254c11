"""Previews and test sends have a time limit: a CPU-heavy template is stopped after
``WEBHOOKS_PREVIEW_TIME_LIMIT`` and the web process is free again. A real HTTP server."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.conftest import make_user, token_client
from tests.conftest import make_webhook
from tests.worker_processes import wait_until
from webhooks_app.delivery.time_limited import DEFAULT_PREVIEW_TIME_LIMIT, preview_time_limit
from webhooks_app.models import Delivery
from webhooks_app.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

# 10^10 loop turns writing nothing: no size limit is ever reached, only the time limit.
CPU_HEAVY = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
STOPPED = (
    f"Rendering took longer than the limit of {DEFAULT_PREVIEW_TIME_LIMIT:g} s "
    "(WEBHOOKS_PREVIEW_TIME_LIMIT) and was stopped."
)
TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def processes() -> dict[int, list[str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))) is not None:
            found[int(entry.name)] = fields
    return found


def render_processes() -> list[int]:
    """The processes the forkserver of this process (the web server's) has running."""
    table = processes()
    servers = [
        pid
        for pid, fields in table.items()
        if int(fields[1]) == os.getpid()
        and b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return [pid for pid, fields in table.items() if int(fields[1]) in servers]


def server_cpu_seconds() -> float:
    """CPU time of this process (the live server runs in it) and of its render processes."""
    total = 0.0
    for pid in [os.getpid(), *render_processes()]:
        fields = stat_fields(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return total


def cpu_stopped_growing(window: float = 0.5) -> bool:
    before = server_cpu_seconds()
    time.sleep(window)  # a measuring window, not a wait for something to happen
    return server_cpu_seconds() - before < window / 4


def test_the_time_limit_is_a_setting_of_5_seconds_by_default() -> None:
    assert preview_time_limit() == DEFAULT_PREVIEW_TIME_LIMIT == 5.0


def test_a_cpu_heavy_render_is_stopped_at_the_limit_and_the_server_is_free_again(
    live_server: Any,
) -> None:
    token, _ = Token.objects.get_or_create(
        user=make_user("change_webhook", "view_webhook", username="editor")
    )
    hook = make_webhook("http://127.0.0.1:9/", name="Heavy", body_template=CPU_HEAVY)
    url = f"{live_server.url}/api/webhooks/webhooks/{hook.pk}/render/"

    started = time.monotonic()
    answer = requests.post(
        url, json={}, headers={"Authorization": f"Token {token.key}"}, timeout=60
    )
    took = time.monotonic() - started

    assert answer.status_code == 400, answer.text
    assert answer.json() == {"detail": STOPPED}
    assert DEFAULT_PREVIEW_TIME_LIMIT <= took < DEFAULT_PREVIEW_TIME_LIMIT + 10
    assert render_processes() == []
    wait_until(cpu_stopped_growing, timeout=15, what="the server's CPU time to stop growing")


def test_a_cpu_heavy_test_send_is_stopped_at_the_limit_and_sends_nothing(
    receiver: Receiver,
) -> None:
    api: APIClient = token_client(make_user("change_webhook", "view_webhook", username="sender"))
    hook = make_webhook(receiver.url, name="Heavy", body_template=CPU_HEAVY)
    answer = api.post(f"/api/webhooks/webhooks/{hook.pk}/test/", {}, format="json")
    # The reason in the answer (a failed attempt's error, or a 400's detail), never a 500.
    assert answer.status_code == 400
    assert STOPPED in answer.json().values()
    assert receiver.requests == []
    assert Delivery.objects.get().last_error == STOPPED
    assert render_processes() == []
