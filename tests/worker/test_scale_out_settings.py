"""Settings for the worker processes of the scale-out tests (``DJANGO_SETTINGS_MODULE``).

The test settings, plus:

- enough retries that a receiver failing 30% of requests at random is reached in the end
  (16 attempts: a delivery fails for good with probability 0.3**16, about 4e-9);
- an HTTP timeout longer than the slow receiver's delay, so that a worker stays mid-request
  until the test kills it;
- the production logging (JSON lines on stdout), which the tests read back.

No tests here; pytest imports it only because of its name.
"""

from __future__ import annotations

from demo.settings import LOGGING as PRODUCTION_LOGGING
from tests.settings import *  # noqa: F403

WEBHOOKS_RETRY_SCHEDULE = [1] * 15
WEBHOOKS_HTTP_TIMEOUT = 30.0
LOGGING = PRODUCTION_LOGGING
