"""Settings for the demo project: a small inventory that emits webhooks.

Everything deployment-specific comes from the environment (the README's "Running in production"
lists every variable): ``DATABASE_URL`` (SQLite under ``run/`` when unset), ``REDIS_URL``,
``SECRET_KEY``, ``DEBUG`` (off unless set), ``ALLOWED_HOSTS``, ``CSRF_TRUSTED_ORIGINS``, the
``SECURE_*`` / ``*_COOKIE_SECURE`` switches for a site served over HTTPS, and ``LOG_FORMAT`` /
``LOG_LEVEL`` / ``RQ_LOG_LEVEL`` for the logs on stdout (JSON lines unless ``LOG_FORMAT=plain``).

While ``manage.py rundemo`` runs, every other ``manage.py`` command of the clone uses the demo's
``REDIS_URL`` and ``DATABASE_URL`` for those the environment leaves unset (see :mod:`demo.state`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from demo import state

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("WEBHOOKS_RUN_DIR", BASE_DIR / "run"))

# The demo running from this clone (``manage.py rundemo``), if any: its Redis and database serve
# the other commands run with these settings. Settings that build on these ones (the tests', the
# benchmark's) have their own services and never pick up a running demo.
RUNNING_DEMO: dict[str, Any] = (
    state.running_demo(RUN_DIR)
    if os.environ.get("DJANGO_SETTINGS_MODULE") == "demo.settings"
    else {}
)


def env_or_demo(name: str, default: str) -> str:
    """A variable from the environment, else from the running demo, else ``default``."""
    return os.environ.get(name) or RUNNING_DEMO.get(name) or default


TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
FALSE_VALUES = frozenset({"", "0", "false", "no", "off"})


def env_bool(name: str, default: bool) -> bool:
    """A yes/no environment variable; a value that is neither is a configuration error."""
    value = os.environ.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value not in TRUE_VALUES | FALSE_VALUES:
        raise ImproperlyConfigured(f"{name}={value!r}: use one of true/false, yes/no, on/off, 1/0.")
    return value in TRUE_VALUES


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated environment variable, as a list without blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The fallback only lets the local demo start; production sets SECRET_KEY (docker-compose.yml
# refuses to start without it, and `manage.py check --deploy` flags this value).
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-demo-only-key-change-me-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
# Full origins (scheme and host) allowed to POST forms, e.g. "https://hooks.example.com".
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# HTTPS. Off by default so that the plain-http demo works; a site served over TLS turns them
# on (see the README's production environment, which `manage.py check --deploy` passes).
if proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    # Behind a proxy that terminates TLS, e.g. HTTP_X_FORWARDED_PROTO: the request is secure
    # when the proxy sets that header to "https". Only set it if the proxy always sets it.
    SECURE_PROXY_SSL_HEADER = (proxy_header, "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Headers that are safe over plain http too (most are Django's defaults, stated here on purpose).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and ReDoc served from our own static files, pinned by the package's version.
    "drf_spectacular_sidecar",
    "django_rq",
    "webhooks_app",
    "demo.inventory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication, so events carry the user.
    "webhooks_app.capture.middleware.WebhooksMiddleware",
]

ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The demo's own templates (the offline ReDoc page).
        "DIRS": [BASE_DIR / "demo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_or_demo("DATABASE_URL", f"sqlite:///{RUN_DIR / 'demo.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=60,
        # A connection the server dropped (restart, failover) is replaced, not used and failed.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, workers) share the file: wait for locks instead of failing, and
    # take the write lock when a transaction begins (BEGIN IMMEDIATE), so that a transaction
    # that reads and then writes (the outbox relay, the delivery log) neither fails with
    # "database is locked" halfway nor acts on rows another process is about to change.
    # Write-ahead logging lets readers run while one process writes, and commits without
    # waiting for the disk each time (a power cut may lose the last commits, never corrupt).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = RUN_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Files served at the site's root: the favicon.ico that browsers ask for on every page.
WHITENOISE_ROOT = BASE_DIR / "demo" / "public"


def redis_connection(url: str) -> dict[str, Any]:
    """The RQ_QUEUES connection settings for a REDIS_URL.

    ``redis://[[user]:password@]host:port/db`` and ``rediss://...`` (TLS; the server's
    certificate is verified) are used as they are. Sentinel:
    ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]`` (the credentials
    are Redis's; ``?sentinel_password=`` gives the sentinels' own), or ``rediss+sentinel://``
    for TLS to both.
    """
    scheme, _, rest = url.partition("://")
    if scheme not in {"redis+sentinel", "rediss+sentinel"}:
        return {"URL": url}
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    service, _, db = path.strip("/").partition("/")
    if not service or not hosts:
        raise ImproperlyConfigured(
            "REDIS_URL: a Sentinel URL names the sentinels and the service, e.g. "
            "redis+sentinel://sentinel-1:26379,sentinel-2:26379/mymaster/0"
        )
    sentinels = []
    for host in hosts.split(","):
        name, colon, port = host.rpartition(":")
        if not colon or name.endswith(":"):  # no port (an IPv6 address is written [addr]:port)
            name, port = host, ""
        sentinels.append((name.strip("[]"), int(port or 26379)))
    sentinel_kwargs: dict[str, Any] = {}
    if sentinel_password := parse_qs(query).get("sentinel_password", [""])[0]:
        sentinel_kwargs["password"] = sentinel_password
    config: dict[str, Any] = {
        "SENTINELS": sentinels,
        "MASTER_NAME": service,
        "DB": int(db or 0),
        "USERNAME": unquote(username) or None,
        "PASSWORD": unquote(password) or None,
        "SENTINEL_KWARGS": sentinel_kwargs,
    }
    if scheme == "rediss+sentinel":
        config["CONNECTION_KWARGS"] = {"ssl": True}
        sentinel_kwargs["ssl"] = True
    return config


REDIS_URL = env_or_demo("REDIS_URL", "redis://127.0.0.1:6379/0")

RQ_QUEUES = {
    "default": {**redis_connection(REDIS_URL), "DEFAULT_TIMEOUT": 300},
}
# We enqueue from our own on_commit hook; django-rq must not defer a second time. The worker
# class is what `rqworker` and `rqworker-pool` run: one job at a time per process, so more
# concurrency is more processes (`rqworker-pool default --num-workers N`).
RQ = {"COMMIT_MODE": "auto", "WORKER_CLASS": "webhooks_app.worker.WebhookWorker"}
# One place for the queues in the admin: webhooks_app's "Background tasks" page (each job's
# webhook, event and object; retry and delete), not also django-rq's generic dashboard.
RQ_SHOW_ADMIN_LINK = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "webhooks_app demo API",
    "DESCRIPTION": "Inventory API and webhook configuration, deliveries and background tasks.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The documentation pages load nothing from the Internet: Swagger UI and ReDoc come from
    # drf-spectacular-sidecar's static files (not a CDN's "latest"), and Swagger UI does not
    # ask an online validator about the schema.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Keys that encrypt webhook secrets at rest: comma-separated Fernet keys, the first encrypts,
# all decrypt (rotate by putting the new key first, then `manage.py webhooks_reencrypt`).
# Unset: keys derived from SECRET_KEY (and `check --deploy` warns).
if os.environ.get("WEBHOOKS_ENCRYPTION_KEYS"):
    WEBHOOKS_ENCRYPTION_KEYS = [
        key.strip() for key in os.environ["WEBHOOKS_ENCRYPTION_KEYS"].split(",") if key.strip()
    ]

WEBHOOKS_MODELS = {
    "inventory.tag": "demo.inventory.api.serializers.TagSerializer",
    "inventory.site": "demo.inventory.api.serializers.SiteSerializer",
    "inventory.device": "demo.inventory.api.serializers.DeviceSerializer",
    "inventory.ipaddress": "demo.inventory.api.serializers.IPAddressSerializer",
}

# Logs go to stdout: one JSON object per line (LOG_FORMAT=json, the default), or plain text
# (LOG_FORMAT=plain). A delivery attempt is one line of the "webhooks_app.delivery.attempts"
# logger with the event id, the webhook and the outcome (and the reason of a failure). RQ's own
# records ("rq.worker", ...) show from RQ_LOG_LEVEL up (WARNING: RQ's per-job lines and registry
# cleaning are left out, and so is the traceback of a delivery that failed for good; a job's
# unexpected exception keeps its traceback). RQ_LOG_LEVEL=INFO shows RQ's lines again,
# RQ_LOG_LEVEL=DEBUG every failed job's traceback.


def env_log_level(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip().upper() or default
    if value not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(f"{name}={value!r}: use DEBUG, INFO, WARNING or ERROR.")
    return value


LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or plain.")
RQ_LOG_LEVEL = env_log_level("RQ_LOG_LEVEL", "WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "demo.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"rq": {"()": "demo.logging.RQLogFilter", "level": RQ_LOG_LEVEL}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["rq"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "webhooks_app": {"level": os.environ.get("WEBHOOKS_LOG_LEVEL", "INFO")},
    },
}
