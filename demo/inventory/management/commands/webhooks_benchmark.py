"""``manage.py webhooks_benchmark [--quick] [--json PATH]``: the performance benchmark.

Starts its own Redis, database (a temporary SQLite file, or ``DATABASE_URL``), web server,
workers and receivers on 127.0.0.1, runs the scenarios, prints a table (median of the runs, with
min and max, next to each floor and its verdict) and optionally writes JSON. ``--quick`` only
proves that each scenario runs: its table and JSON give no verdict.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.benchmark.harness import SETTINGS_SHIM, default_db_dir
from demo.benchmark.report import format_table, write_json
from demo.benchmark.runner import SCENARIOS, RunOptions, run_benchmark

# As docker-compose.yml's WORKER_PROCESSES: 20/s to a 200 ms receiver with room (4 run at 100%).
DEFAULT_WORKERS = 6


def _parse_set(values: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name.isupper():
            raise CommandError(f"--set expects NAME=VALUE with an upper-case NAME, got {item!r}")
        try:
            overrides[name] = json.loads(raw)
        except ValueError:
            overrides[name] = raw
    return overrides


def _database() -> dict[str, Any] | None:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    try:
        import dj_database_url
    except ImportError as exc:
        raise CommandError("DATABASE_URL is set but dj-database-url is not installed") from exc
    return dict(dj_database_url.parse(url))


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the harness's finally blocks


class Command(BaseCommand):
    help = (
        "Measure the webhook pipeline: request path, bulk dispatch, throughput, slow receivers, "
        "latency and memory, on loopback with its own Redis, database, web server and workers."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--quick",
            action="store_true",
            help="One short run of each scenario: proves that each runs, judges no floor.",
        )
        parser.add_argument("--json", metavar="PATH", help="Also write the results as JSON.")
        parser.add_argument("--runs", type=int, help="Runs per scenario (default 3; quick 1).")
        parser.add_argument(
            "--only",
            metavar="N[,N...]",
            help=f"Run only these scenarios ({', '.join(SCENARIOS)}).",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Override a setting in the benchmark's processes (VALUE is JSON), e.g. "
            "--set WEBHOOKS_HTTP_TIMEOUT=5. Repeatable.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            help="Workers of the recommended set-up, `rqworker-pool QUEUE --num-workers N` "
            f"(scenarios 4 and 5; default {DEFAULT_WORKERS}).",
        )
        parser.add_argument(
            "--db-dir",
            metavar="DIR",
            help="Folder for the temporary SQLite database (default: /dev/shm if there is one, "
            "which keeps disk syncs out of the figures, else the temporary folder).",
        )
        parser.add_argument(
            "--profile",
            metavar="DIR",
            help="Record the web server and every worker with py-spy (collapsed stacks, one "
            "file per process) into DIR. Sampling slows them down: figures are not comparable.",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Keep the temporary folder with the process logs."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        only = [part.strip() for part in (options["only"] or "").split(",") if part.strip()]
        unknown = [key for key in only if key not in SCENARIOS]
        if unknown:
            raise CommandError(f"Unknown scenario(s) {', '.join(unknown)}; choose from 1-6.")
        base = os.environ.get("WEBHOOKS_BENCHMARK_SETTINGS") or settings.SETTINGS_MODULE
        if base == SETTINGS_SHIM:
            raise CommandError("Run the benchmark with the project's settings, not its own.")
        overrides = _parse_set(options["set"])
        run = RunOptions(
            base_settings=base,
            quick=options["quick"],
            runs=options["runs"],
            only=only,
            database=_database(),
            overrides=overrides,
            queue=str(
                overrides.get("WEBHOOKS_QUEUE", getattr(settings, "WEBHOOKS_QUEUE", "default"))
            ),
            recommended_workers=max(1, options["workers"]),
            keep_files=options["keep"],
            db_dir=options["db_dir"] or default_db_dir(),
            profile_dir=options["profile"],
            log=self.progress,
        )
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
        try:
            results, meta = run_benchmark(run)
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)
        self.stdout.write("")
        judged = not options["quick"]
        self.stdout.write(format_table(results, meta["runs"], judged=judged))
        machine = meta["machine"]
        self.stdout.write(
            f"\n{meta['mode']} run, {meta['seconds']:g}s; machine: {machine['cpus']} CPUs "
            f"({machine['cpu_model']}), {machine['memory_gb']} GB, Python {machine['python']}"
        )
        if options["json"]:
            scenarios = [result.as_dict(judged=judged) for result in results]
            write_json(options["json"], {**meta, "judged": judged, "scenarios": scenarios})
            self.stdout.write(f"JSON written to {options['json']}")
        failed = [r.title for r in results if not r.completed]
        if failed:
            raise CommandError(f"Scenario(s) did not complete: {'; '.join(failed)}")

    def progress(self, message: str) -> None:
        """One line of progress on stderr (the table goes to stdout)."""
        self.stderr.write(message)
        self.stderr.flush()
