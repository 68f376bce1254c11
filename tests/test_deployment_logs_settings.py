"""Settings of the worker processes in tests/test_deployment_logs.py (``DJANGO_SETTINGS_MODULE``):
the test settings (Redis, database) with the demo's and production's logging, read from the
environment as in production (``LOG_FORMAT``, ``RQ_LOG_LEVEL``).

No tests here; pytest imports it only because of its name.
"""

from __future__ import annotations

from demo.settings import LOGGING as PRODUCTION_LOGGING
from tests.settings import *  # noqa: F403

LOGGING = PRODUCTION_LOGGING
