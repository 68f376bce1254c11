"""The production settings (demo/settings.py read with a given environment), their JSON logs,
``manage.py check --deploy`` with the README's production environment, and Redis through
Sentinel."""

from __future__ import annotations

import json
import logging
import os
import runpy
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django_rq.connection_utils import get_redis_connection

from demo.logging import JsonFormatter

from .redis_server import free_port, get_server

REPO = Path(__file__).resolve().parent.parent
# The production environment the README documents (placeholders for the real values).
PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "hooks.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://hooks.example.com",
    "DATABASE_URL": "postgres://webhooks:secret@postgres:5432/webhooks",
    "REDIS_URL": "redis://redis:6379/0",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "WEBHOOKS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}
SETTINGS_VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "WEBHOOKS_ENCRYPTION_KEYS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "WEBHOOKS_LOG_LEVEL",
    "RQ_LOG_LEVEL",
]


def demo_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """demo/settings.py's names when read with exactly ``env`` among its variables."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(REPO / "demo" / "settings.py"))


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    clean.update(env, DJANGO_SETTINGS_MODULE="demo.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_configuration_debug_is_off_and_plain_http_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = demo_settings(monkeypatch)
    assert s["DEBUG"] is False
    assert s["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    assert s["CSRF_TRUSTED_ORIGINS"] == []
    assert not (s["SECURE_SSL_REDIRECT"] or s["SESSION_COOKIE_SECURE"] or s["CSRF_COOKIE_SECURE"])
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert "SECURE_PROXY_SSL_HEADER" not in s
    assert "django.middleware.security.SecurityMiddleware" in s["MIDDLEWARE"]
    assert s["X_FRAME_OPTIONS"] == "DENY" and s["SECURE_CONTENT_TYPE_NOSNIFF"] is True


def test_the_production_environment_turns_https_on(monkeypatch: pytest.MonkeyPatch) -> None:
    s = demo_settings(monkeypatch, **PRODUCTION_ENV)
    assert s["SECRET_KEY"] == PRODUCTION_ENV["SECRET_KEY"]
    assert s["ALLOWED_HOSTS"] == ["hooks.example.com"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://hooks.example.com"]
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s["SECURE_SSL_REDIRECT"] and s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert s["SECURE_HSTS_SECONDS"] == 31536000
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert s["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    assert s["RQ_QUEUES"]["default"]["URL"] == "redis://redis:6379/0"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEBUG", "maybe"), ("SECURE_HSTS_SECONDS", "1y"), ("RQ_LOG_LEVEL", "LOUD")],
)
def test_a_malformed_variable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        demo_settings(monkeypatch, **{name: value})


def test_sqlite_shared_by_several_processes_takes_the_write_lock_when_a_transaction_begins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = demo_settings(monkeypatch)["DATABASES"]["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert options["timeout"] >= 10


def test_redis_url_may_use_tls_or_sentinel(monkeypatch: pytest.MonkeyPatch) -> None:
    tls = "rediss://:pw@redis.example.com:6380/0"
    assert demo_settings(monkeypatch, REDIS_URL=tls)["RQ_QUEUES"]["default"]["URL"] == tls
    url = "rediss+sentinel://:p%40ss@s1:26379,[::1]:26380,s3/mymaster/2?sentinel_password=spw"
    queue = demo_settings(monkeypatch, REDIS_URL=url)["RQ_QUEUES"]["default"]
    assert queue["SENTINELS"] == [("s1", 26379), ("::1", 26380), ("s3", 26379)]
    assert (queue["MASTER_NAME"], queue["DB"], queue["PASSWORD"]) == ("mymaster", 2, "p@ss")
    assert queue["SENTINEL_KWARGS"] == {"password": "spw", "ssl": True}
    assert queue["CONNECTION_KWARGS"] == {"ssl": True}
    with pytest.raises(ImproperlyConfigured, match="Sentinel"):
        demo_settings(monkeypatch, REDIS_URL="redis+sentinel://s1:26379")


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[int]:
    """A Redis Sentinel on loopback watching the session's Redis as "mymaster"."""
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {get_server().port} 1\n"
    )
    binary = shutil.which("redis-sentinel") or shutil.which("redis-server")
    assert binary is not None
    process = subprocess.Popen(
        [binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_sentinel_redis_url_reaches_the_master(
    monkeypatch: pytest.MonkeyPatch, sentinel: int
) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel}/mymaster/0"
    config = demo_settings(monkeypatch, REDIS_URL=url)["RQ_QUEUES"]["default"]
    connection = get_redis_connection(config)
    deadline = time.monotonic() + 10
    while True:
        try:
            connection.set("sentinel-probe", "1")
            break
        except Exception:  # the sentinel is still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    direct = get_redis_connection({"URL": get_server().url})
    try:
        assert direct.get("sentinel-probe") == b"1"
        direct.delete("sentinel-probe")
    finally:
        direct.close()
        for client in connection.connection_pool.sentinel_manager.sentinels:
            client.close()
        connection.close()


def test_logs_are_json_lines_with_the_fields_passed_along(monkeypatch: pytest.MonkeyPatch) -> None:
    logging_config = demo_settings(monkeypatch)["LOGGING"]
    handler = logging_config["handlers"]["console"]
    assert handler["stream"] == "ext://sys.stdout"
    assert logging_config["formatters"][handler["formatter"]] == {
        "()": "demo.logging.JsonFormatter"
    }
    record = logging.LogRecord(
        "webhooks_app.delivery.attempts", logging.WARNING, "", 0, "a\nb %s", ("c",), None
    )
    record.event_id, record.outcome = "e-1", "retryable"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "webhooks_app.delivery.attempts",
        "a\nb c",
    )
    assert (entry["event_id"], entry["outcome"]) == ("e-1", "retryable")
    assert "ValueError: boom" in entry["exc_info"]
    assert (
        demo_settings(monkeypatch, LOG_FORMAT="plain")["LOGGING"]["handlers"]["console"][
            "formatter"
        ]
        == "plain"
    )
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        demo_settings(monkeypatch, LOG_FORMAT="xml")


def test_a_process_with_the_production_settings_logs_json_on_stdout() -> None:
    code = (
        "import logging; logging.getLogger('webhooks_app.delivery.attempts').info("
        "'event_id=%s attempt=1 -> succeeded', 'e-2', extra={'event_id': 'e-2'})"
    )
    done = manage("shell", "-c", code, env={})
    assert done.returncode == 0, done.stderr
    [entry] = [json.loads(line) for line in done.stdout.splitlines() if "e-2" in line]
    assert entry["logger"] == "webhooks_app.delivery.attempts"
    assert entry["event_id"] == "e-2" and "succeeded" in entry["message"]


def test_check_deploy_passes_with_the_documented_production_environment() -> None:
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    readme = (REPO / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in PRODUCTION_ENV)


def test_check_deploy_fails_without_it() -> None:
    done = manage("check", "--deploy", "--fail-level", "WARNING", env={})
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012"):
        assert warning in done.stderr
