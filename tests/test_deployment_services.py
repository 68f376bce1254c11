"""The compose services' commands and health checks, run for real on loopback: the web command
(gunicorn on demo.wsgi, static files from whitenoise, the production security headers) and the
worker command (a pool of webhook workers that delivers, its health check, its warm stop)."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue, Worker

from demo.inventory.models import Site
from webhooks_app.models import EventRule
from webhooks_app.receiver import Receiver

from .conftest import worker_database_url
from .redis_server import free_port
from .test_deployment import SERVICES, command
from .test_deployment_settings import PRODUCTION_ENV, SETTINGS_VARIABLES
from .worker_processes import wait_until

REPO = Path(__file__).resolve().parent.parent


def healthcheck_code(service: str) -> str:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    return str(test[3])


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(PRODUCTION_ENV)
    env.update(
        DJANGO_SETTINGS_MODULE="demo.settings",
        WEBHOOKS_RUN_DIR=str(tmp_path),  # static files are collected under it
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "hooks.example.com", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The compose file's web command, on a free loopback port, with the production env."""
    tmp_path = tmp_path_factory.mktemp("web")
    env = production_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    args = command("web")
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    gunicorn = str(Path(sys.executable).parent / args[0])
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [gunicorn, *args[1:], "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/static/admin/css/base.css")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "gunicorn.log").read_text()) from None
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_web_command_serves_the_app_over_https_only_with_security_headers(web: int) -> None:
    status, headers, _ = get(web, "/admin/login/")
    assert status == 301 and headers["Location"] == "https://hooks.example.com/admin/login/"
    status, headers, body = get(web, "/admin/login/", {"X-Forwarded-Proto": "https"})
    assert status == 200 and b"csrfmiddlewaretoken" in body
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "secure" in headers["Set-Cookie"].lower()
    status, _, _ = get(web, "/admin/login/", {"Host": "evil.example.com"})
    assert status == 400  # not in ALLOWED_HOSTS


def test_the_web_command_serves_compressed_static_files(web: int) -> None:
    status, headers, body = get(
        web, "/static/admin/css/base.css", {"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"}
    )
    assert status == 200 and body
    assert headers["Content-Encoding"] == "gzip"
    assert "max-age" in headers["Cache-Control"]


def test_the_web_health_check_passes_while_gunicorn_answers(web: int) -> None:
    code = healthcheck_code("web").replace("8000", str(web))
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0


def test_the_receiver_health_check_connects_to_its_port() -> None:
    code = healthcheck_code("receiver")
    assert '("127.0.0.1", 9000)' in code
    assert command("receiver")[-4:] == ["--bind", "0.0.0.0", "--port", "9000"]


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_worker_command_runs_a_pool_of_workers_that_delivers_and_stops_warm(
    queue: Queue, receiver: Receiver, site_rule: EventRule, tmp_path: Path
) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    if url := worker_database_url():
        env["DATABASE_URL"] = url

    def healthy() -> bool:
        code = healthcheck_code("worker")
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, timeout=60)
        return done.returncode == 0

    assert not healthy()
    python, *args = command("worker")  # python manage.py rqworker-pool default --num-workers N
    assert python == "python"
    size = int(args[args.index("--num-workers") + 1])
    log = tmp_path / "pool.log"
    with log.open("wb") as out:
        pool = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: Worker.count(queue=queue) == size, 60, f"{size} workers to register")
        assert {parent_of(worker.pid or 0) for worker in Worker.all(queue=queue)} == {pool.pid}
        assert healthy()

        Site.objects.create(name="Pooled", slug="pooled")
        [request] = receiver.wait_for(1, timeout=30)
        assert request.json()["data"]["slug"] == "pooled"

        pool.send_signal(signal.SIGTERM)  # what `docker compose stop` sends to the pool
        assert pool.wait(timeout=60) == 0, log.read_text()
        assert Worker.count(queue=queue) == 0  # every worker stopped and unregistered
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pool.pid, signal.SIGKILL)
        pool.wait()
