"""Test settings: the demo project with a throwaway database and the test Redis.

``tests.redis_server`` (a pytest plugin) starts a private Redis and sets ``REDIS_URL``
before these settings are imported.
"""

from __future__ import annotations

import os

from demo.settings import *  # noqa: F403
from demo.settings import DATABASES, RUN_DIR

SECRET_KEY = "tests-only-secret-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not os.environ.get(
    "DATABASE_URL"
):
    # A file (not :memory:) so that worker and server subprocesses see the same test database.
    # WEBHOOKS_TEST_DB is set by tests.redis_server (one file per pytest session) and passed
    # on to worker and server subprocesses, which then open the test database itself.
    _test_db = os.environ.get("WEBHOOKS_TEST_DB", str(RUN_DIR / "tests.sqlite3"))
    DATABASES["default"]["NAME"] = _test_db
    DATABASES["default"]["TEST"] = {"NAME": _test_db}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:1/0")
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60}}

# Fast retries in tests; production defaults are minutes and hours.
WEBHOOKS_RETRY_SCHEDULE = [1, 1, 1]
WEBHOOKS_HTTP_TIMEOUT = 3.0

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"webhooks_app": {"handlers": ["null"], "level": "DEBUG", "propagate": True}},
}

# No collectstatic in tests: let whitenoise look files up on demand instead of warning.
WHITENOISE_AUTOREFRESH = True
