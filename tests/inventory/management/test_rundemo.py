"""``manage.py rundemo``: argument checks in process, and one real run in a subprocess."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command

from demo.inventory.management.commands.rundemo import Command, port_is_free
from demo.supervisor import ProcessSpec, Supervisor
from tests.redis_server import free_port


def test_missing_redis_server_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no redis-server on the PATH
    with pytest.raises(CommandError) as info:
        call_command("rundemo")
    assert str(info.value) == (
        "redis-server is not installed; run `sudo apt-get install redis-server`"
    )


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"Port {port} on 127.0.0.1 is in use; .* --port"):
            call_command("rundemo", "--port", str(port), "--redis-port", str(free_port()))


def test_a_port_left_closing_by_the_last_run_is_free() -> None:
    """Restarting the demo at once: the receiver's connections of the last run are still in
    TIME_WAIT, which stops no server from listening again."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            connection, _ = server.accept()
            connection.close()  # the server closes first: its end of the connection waits
    assert port_is_free(port)


def test_ports_must_differ() -> None:
    with pytest.raises(CommandError, match="The ports must differ"):
        call_command("rundemo", "--port", "18001", "--redis-port", "18001", "--no-receiver")


def make_demo_options(*variables: str) -> dict[str, object]:
    """The options that ``make demo <variables>`` gives rundemo (``make -n``: nothing runs)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "REDIS_PORT", "RECEIVER_PORT"}}
    done = subprocess.run(
        ["make", "-n", "demo", *variables],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [line] = [line for line in done.stdout.splitlines() if "manage.py rundemo" in line]
    argv = shlex.split(line)
    options = (
        Command()
        .create_parser("manage.py", "rundemo")
        .parse_args(argv[argv.index("rundemo") + 1 :])
    )
    return {name: getattr(options, name) for name in ("port", "redis_port", "receiver_port")}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_takes_the_ports() -> None:
    assert make_demo_options("PORT=8123", "REDIS_PORT=6399", "RECEIVER_PORT=9123") == {
        "port": 8123,
        "redis_port": 6399,
        "receiver_port": 9123,
    }
    assert make_demo_options() == {"port": 8000, "redis_port": 6380, "receiver_port": 9000}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_login_page(url: str, process: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "rundemo exited early"
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")


def log_in_to_admin(base: str) -> bool:
    with requests.Session() as session:
        session.get(f"{base}/admin/login/", timeout=5)
        response = session.post(
            f"{base}/admin/login/?next=/admin/",
            data={
                "username": "admin",
                "password": "admin",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "next": "/admin/",
            },
            headers={"Referer": f"{base}/admin/login/"},
            timeout=5,
        )
        return response.status_code == 200 and "Site administration" in response.text


def first_delivery(base: str, headers: dict[str, str], timeout: float) -> str:
    """The id of the first delivery the demo's worker records (polling the API)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(f"{base}/api/webhooks/deliveries/", headers=headers, timeout=5)
        if results := response.json()["results"]:
            return str(results[0]["id"])
        time.sleep(0.2)
    raise AssertionError(f"no delivery was recorded within {timeout} s")


def second_terminal(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` as typed in another terminal of the clone: the demo's settings, no
    REDIS_URL or DATABASE_URL in the environment."""
    env = {
        **os.environ,
        "WEBHOOKS_RUN_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
    }
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_rundemo_serves_the_demo_and_stops_everything_on_sigint(tmp_path: Path) -> None:
    port, redis_port, receiver_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "WEBHOOKS_RUN_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
    }
    env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        str(settings.BASE_DIR / "manage.py"),
        "rundemo",
        *("--port", str(port), "--redis-port", str(redis_port)),
        *("--receiver-port", str(receiver_port), "--no-receiver"),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_login_page(f"{base}/admin/login/", process, timeout=60)
        assert log_in_to_admin(base)
        [token] = re.findall(r"API token of 'admin': (\w+)", "".join(lines))
        sites = requests.get(
            f"{base}/api/inventory/sites/", headers={"Authorization": f"Token {token}"}, timeout=5
        )
        assert sites.json()["count"] == 3

        # A command in a second terminal reaches the demo's Redis (not 6379) and database.
        assert (tmp_path / "demo.json").exists()
        headers = {"Authorization": f"Token {token}"}
        requests.post(
            f"{base}/api/inventory/sites/",
            json={"name": "Second terminal", "slug": "second-terminal"},
            headers=headers,
            timeout=5,
        ).raise_for_status()
        delivery_id = first_delivery(base, headers, timeout=20)
        redeliver = second_terminal(tmp_path, "webhooks_redeliver", delivery_id)
        assert (redeliver.returncode, redeliver.stdout) == (0, "Queued 1 redelivery(ies).\n"), (
            redeliver.stderr
        )

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        process.stdout.close()
        pids = [
            int(pid) for pid in re.findall(r"^started \w+ \(pid (\d+)\)$", "".join(lines), re.M)
        ]
        left_behind = [pid for pid in pids if alive(pid)]
        for pid in left_behind:  # never leave children running, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    output = "".join(lines)
    names = re.findall(r"^started (\w+) ", output, re.M)
    assert names == ["redis", "migrate", "static", "seed", "web", "worker"]
    assert len(pids) == len(names)
    assert left_behind == []
    assert "Log in as admin / admin" in output
    assert f"Admin:     {base}/admin/" in output
    assert output.rstrip().endswith("Demo stopped.")
    assert (tmp_path / "demo.sqlite3").exists()
    assert (tmp_path / "redis").is_dir()
    assert not (tmp_path / "demo.json").exists()  # a stopped demo leaves no state behind


# The run sequence, with small Python programs standing in for Redis and the Django processes.


def python(code: str) -> ProcessSpec:
    name = code.split(":")[0]
    return ProcessSpec(name, [sys.executable, "-c", f"import sys, time; {code.split(':')[1]}"])


@pytest.fixture
def out() -> StringIO:
    return StringIO()


@pytest.fixture
def command(out: StringIO, monkeypatch: pytest.MonkeyPatch) -> Command:
    cmd = Command(stdout=out, stderr=StringIO())
    monkeypatch.setattr(cmd, "admin_token", lambda: "tok")
    return cmd


def test_a_service_exiting_stops_the_demo_with_an_error_naming_it(
    command: Command, out: StringIO
) -> None:
    supervisor = Supervisor(write=command.write_line, poll_interval=0.02, stop_timeout=2)
    services = [python("web:time.sleep(60)"), python("worker:time.sleep(0.3); sys.exit(3)")]
    try:
        with pytest.raises(CommandError, match="worker exited unexpectedly with code 3"):
            command.run_demo(supervisor, python("redis:time.sleep(60)"), [], services, 1, 2, False)
    finally:
        supervisor.stop_all()
    output = out.getvalue().splitlines()
    assert "worker exited unexpectedly with code 3; stopping the demo." in output
    assert any(line.startswith("stopped web") for line in output)
    assert any(line.startswith("stopped redis") for line in output)


def test_a_failing_task_stops_the_demo_before_the_services_start(
    command: Command, out: StringIO
) -> None:
    supervisor = Supervisor(write=command.write_line, poll_interval=0.02, stop_timeout=2)
    tasks = [python("migrate:sys.exit(0)"), python("seed:sys.exit(2)")]
    try:
        with pytest.raises(CommandError, match="seed failed with exit code 2; demo stopped."):
            command.run_demo(
                supervisor, python("redis:time.sleep(60)"), tasks, [python("web:0")], 1, 2, False
            )
    finally:
        supervisor.stop_all()
    assert not any(line.startswith("started web") for line in out.getvalue().splitlines())


def test_a_stop_request_while_running_returns_quietly(command: Command, out: StringIO) -> None:
    supervisor = Supervisor(write=command.write_line, poll_interval=0.02, stop_timeout=2)
    threading.Timer(0.5, supervisor.request_stop).start()
    try:
        command.run_demo(
            supervisor,
            python("redis:time.sleep(60)"),
            [],
            [python("web:time.sleep(60)")],
            8000,
            6380,
            True,
        )
    finally:
        supervisor.stop_all()
    output = out.getvalue().splitlines()
    assert "  Admin:     http://127.0.0.1:8000/admin/" in output
    assert any("Authorization: Token tok" in line for line in output)
    assert any("receiver |" in line for line in output)
