"""``manage.py webhooks_benchmark``: processes, load, scenarios and the report.

Modules: :mod:`.harness` (Redis, web server, workers, watchdog), :mod:`.settings` and
:mod:`.wsgi` (what the benchmark's Django processes run), :mod:`.loadgen` (the ORM load
generator process), :mod:`.capacity` (raw HTTP capacity), :mod:`.measure` (rates, latencies,
memory), the scenarios (:mod:`.request_path`, :mod:`.throughput`, :mod:`.steady`,
:mod:`.memory`) and :mod:`.report`.
"""

from __future__ import annotations
