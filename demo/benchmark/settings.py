"""Settings of the benchmark's Django processes (web server, workers, load generator).

The project's own settings (``WEBHOOKS_BENCHMARK_SETTINGS``), pointed at the benchmark's
database (``WEBHOOKS_BENCHMARK_DATABASE``, JSON) and Redis (``WEBHOOKS_BENCHMARK_REDIS``), with
``DEBUG`` off (no query log growing in long runs), the probed WSGI application and any
``--set`` overrides (``WEBHOOKS_BENCHMARK_OVERRIDES``, JSON). Set by the harness, never by hand.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

_base = importlib.import_module(os.environ["WEBHOOKS_BENCHMARK_SETTINGS"])
_overrides: dict[str, Any] = json.loads(os.environ.get("WEBHOOKS_BENCHMARK_OVERRIDES") or "{}")
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

_redis_url = os.environ["WEBHOOKS_BENCHMARK_REDIS"]
_queues: dict[str, Any] = dict(getattr(_base, "RQ_QUEUES", {}))
_queues.setdefault(
    _overrides.get("WEBHOOKS_QUEUE", getattr(_base, "WEBHOOKS_QUEUE", "default")), {}
)

DEBUG = False
DATABASES: dict[str, Any] = {"default": json.loads(os.environ["WEBHOOKS_BENCHMARK_DATABASE"])}
RQ_QUEUES: dict[str, Any] = {
    name: {"URL": _redis_url, "DEFAULT_TIMEOUT": dict(config).get("DEFAULT_TIMEOUT", 300)}
    for name, config in _queues.items()
}
ALLOWED_HOSTS = [*getattr(_base, "ALLOWED_HOSTS", []), "127.0.0.1"]
WSGI_APPLICATION = "demo.benchmark.wsgi.application"

globals().update(_overrides)
