"""``manage.py webhooks_log_benchmark --rows N [--fan-out K] [--private-postgres]``: the delivery
log at scale.

Fills the log with N realistic deliveries, each event going to K of the 20 webhooks (K
deliveries sharing one stored payload; see :mod:`demo.benchmark.log_scale`), times the
admin's and the API's lists, filters, searches and detail (median of 5 warm runs), a prune of
one day while another process redelivers deliveries of that day through the API, and deleting a
webhook and its rule with a long history, and prints a table with the bytes per delivery. It needs PostgreSQL (``DATABASE_URL``); ``--private-postgres``
starts a throwaway server on 127.0.0.1 under ``/tmp`` (the test suite's
``tests.postgres_server``) and a throwaway Redis, migrates, runs there and deletes both
afterwards.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from demo.benchmark.log_scale import fill, measure_delete, measure_prune, measure_surfaces

# The log's tables (deliveries, their payloads, their attempts) with their indexes and TOAST,
# over the deliveries they hold.
BYTES_PER_DELIVERY = """
    SELECT pg_total_relation_size('webhooks_app_delivery'),
           pg_total_relation_size('webhooks_app_eventpayload'),
           pg_total_relation_size('webhooks_app_deliveryattempt'),
           (SELECT count(*) FROM webhooks_app_delivery)
"""


class Command(BaseCommand):
    help = "Fill the delivery log with N deliveries on PostgreSQL and time what reads it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument(
            "--fan-out",
            type=int,
            default=1,
            help="How many of the 20 webhooks each event goes to (default 1): that many "
            "deliveries share one stored payload.",
        )
        parser.add_argument(
            "--prune-days",
            type=int,
            default=1,
            help="How many of the 30 days the timed prune deletes (default 1; 15: half the log).",
        )
        parser.add_argument(
            "--shared-buffers",
            default="",
            help="With --private-postgres: the server's shared_buffers (e.g. 2GB; default: "
            "PostgreSQL's, 128MB). A log of millions of rows is served from PostgreSQL's own "
            "cache only if it is sized for it (the PostgreSQL manual's starting point: 25%% of "
            "the RAM).",
        )
        parser.add_argument(
            "--private-postgres",
            action="store_true",
            help="Run on a throwaway PostgreSQL server under /tmp (deleted afterwards).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows: int = options["rows"]
        prune_days: int = options["prune_days"]
        fan_out: int = options["fan_out"]
        if not 1 <= fan_out <= 20:
            raise CommandError("--fan-out is between 1 and 20 (the benchmark's webhooks).")
        if options["private_postgres"]:
            self.run_on_private_server(rows, prune_days, fan_out, options["shared_buffers"])
            return
        if connection.vendor != "postgresql":
            raise CommandError("Run it on PostgreSQL (DATABASE_URL), or with --private-postgres.")
        self.stdout.write(f"Filling the log with {rows:,} deliveries (fan-out {fan_out})...")
        seconds = fill(rows, progress=self.stdout.write, fan_out=fan_out)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            (size,) = cursor.fetchone() or ("?",)
            cursor.execute("SHOW server_version")
            (version,) = cursor.fetchone() or ("?",)
            cursor.execute("SHOW shared_buffers")
            (buffers,) = cursor.fetchone() or ("?",)
            cursor.execute(BYTES_PER_DELIVERY)
            (deliveries, payloads, attempts, filled) = cursor.fetchone() or (0, 0, 0, 0)
        timings = [*measure_surfaces(rows), measure_prune(prune_days), measure_delete()]
        per = max(filled, 1)
        total = (deliveries + payloads + attempts) / per
        self.stdout.write(
            f"\n{rows:,} deliveries (fan-out {fan_out}), filled in {seconds:.0f} s, database "
            f"{size}; {platform.machine()}, {os.cpu_count()} CPUs, PostgreSQL {version} "
            f"(shared_buffers {buffers}); "
            f"{total:,.0f} bytes per delivery (tables, indexes, payloads and attempts: "
            f"{deliveries / per:,.0f} + {payloads / per:,.0f} + {attempts / per:,.0f})\n"
        )
        width = max(len(t.surface) for t in timings)
        self.stdout.write(f"{'surface':<{width}}  median ms")
        for t in timings:
            self.stdout.write(f"{t.surface:<{width}}  {t.median_ms:9.1f}  {t.note}")

    def run_on_private_server(self, rows: int, prune_days: int, fan_out: int, buffers: str) -> None:
        from tests.postgres_server import PostgresServer  # the test suite's throwaway servers
        from tests.redis_server import RedisServer

        settings = {"shared_buffers": buffers} if buffers else {}
        server = PostgresServer(Path("/tmp/webhooks-log-benchmark"), settings)
        redis = RedisServer()  # the redeliveries during the prune queue their jobs there
        server.start()
        redis.start()
        try:
            env = {**os.environ, "DATABASE_URL": server.url, "REDIS_URL": redis.url}
            manage = [sys.executable, "manage.py"]
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            subprocess.run(
                [*manage, "webhooks_log_benchmark", "--rows", str(rows)]
                + ["--prune-days", str(prune_days), "--fan-out", str(fan_out)],
                env=env,
                check=True,
            )
        finally:
            redis.close()
            server.close()
