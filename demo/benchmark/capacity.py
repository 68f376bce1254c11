"""The machine's raw capacity: keep-alive POSTs a second from one Python process to a receiver.

``python -m demo.benchmark.capacity URL SECONDS`` posts a webhook-sized JSON body over
one ``requests.Session`` (one keep-alive connection) for at most SECONDS and at most
:data:`MAX_REQUESTS` requests, and prints ``{"count": n, "elapsed": s}``. It runs in a process of
its own so that it competes for the CPU exactly as a worker does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

__all__ = ["measure_capacity"]

MAX_REQUESTS = 200_000
BODY = json.dumps(
    {
        "event": "created",
        "timestamp": "2025-01-01T00:00:00.000000+00:00",
        "object_type": "inventory.site",
        "username": "benchmark",
        "request_id": None,
        "data": {
            "id": 1,
            "url": "/api/inventory/sites/1/",
            "display": "bench-site-1",
            "name": "bench-site-1",
            "slug": "bench-site-1",
            "status": {"value": "active", "label": "Active"},
            "description": "",
            "asn": None,
            "tags": [],
            "created": "2025-01-01T00:00:00.000000Z",
            "last_updated": "2025-01-01T00:00:00.000000Z",
        },
        "snapshots": {"prechange": None, "postchange": {"name": "bench-site-1", "tags": []}},
    }
).encode()


def measure_capacity(url: str, seconds: float) -> float:
    """POSTs a second, measured by a fresh process (bounded by ``seconds`` + 30 s)."""
    argv = [sys.executable, "-m", "demo.benchmark.capacity", url, str(seconds)]
    result = subprocess.run(argv, capture_output=True, timeout=seconds + 30, check=True)
    figures = json.loads(result.stdout.decode().strip().splitlines()[-1])
    return float(figures["count"]) / max(float(figures["elapsed"]), 1e-9)


def main() -> None:
    import requests

    url, seconds = sys.argv[1], float(sys.argv[2])
    headers = {"Content-Type": "application/json"}
    with requests.Session() as session:
        session.trust_env = False
        session.post(url, data=BODY, headers=headers, timeout=10).close()  # connect, warm up
        count = 0
        started = time.perf_counter()
        deadline = started + seconds
        while count < MAX_REQUESTS and time.perf_counter() < deadline:
            response = session.post(url, data=BODY, headers=headers, timeout=10)
            response.close()
            count += 1
        elapsed = time.perf_counter() - started
    print(json.dumps({"count": count, "elapsed": elapsed}))


if __name__ == "__main__":
    main()
