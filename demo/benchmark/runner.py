"""Running the benchmark: start the processes, run the chosen scenarios, build the report."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from demo.benchmark.bench import Bench, Sizes
from demo.benchmark.harness import Harness, HarnessOptions
from demo.benchmark.loadclient import LoadGenerator
from demo.benchmark.memory import memory
from demo.benchmark.report import ScenarioResult, machine_info
from demo.benchmark.request_path import bulk_dispatch, request_path
from demo.benchmark.steady import latency, slow_receiver
from demo.benchmark.throughput import throughput

__all__ = ["SCENARIOS", "RunOptions", "run_benchmark"]

Scenario = Callable[[Bench], ScenarioResult]

SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "1": ("request path", request_path),
    "2": ("bulk dispatch", bulk_dispatch),
    "3": ("throughput, fast receiver", throughput),
    "4": ("slow receiver", slow_receiver),
    "5": ("latency", latency),
    "6": ("memory", memory),
}


@dataclass
class RunOptions:
    base_settings: str
    quick: bool = False
    runs: int | None = None
    only: Sequence[str] = ()
    database: dict[str, Any] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    recommended_workers: int = 1
    keep_files: bool = False
    db_dir: str | None = None
    profile_dir: str | None = None
    log: Callable[[str], None] = print


def _sizes(options: RunOptions) -> Sizes:
    sizes = Sizes.quick() if options.quick else Sizes.full()
    if options.runs is not None:
        sizes = Sizes(**{**sizes.__dict__, "runs": max(1, options.runs)})
    return sizes


def run_benchmark(options: RunOptions) -> tuple[list[ScenarioResult], dict[str, Any]]:
    """Run the scenarios; a scenario that fails is reported with its error, the rest still run."""
    sizes = _sizes(options)
    chosen = [key for key in SCENARIOS if not options.only or key in options.only]
    results: list[ScenarioResult] = []
    begun = time.monotonic()

    def log(message: str) -> None:
        options.log(f"[{time.monotonic() - begun:5.0f}s] {message}")

    harness = Harness(
        HarnessOptions(
            base_settings=options.base_settings,
            database=options.database,
            overrides=options.overrides,
            queue=options.queue,
            keep_files=options.keep_files,
            db_dir=options.db_dir,
            profile_dir=options.profile_dir,
            log=log,
        )
    )
    with harness:
        log(f"Starting Redis in {harness.workdir} ...")
        harness.start()
        load = LoadGenerator(harness)  # starts up while the database is migrated
        try:
            harness.wait_started()
            bench = Bench(harness, load, load.setup(), sizes, log, options.recommended_workers)
            for key in chosen:
                title, scenario = SCENARIOS[key]
                log(f"Scenario {key}: {title}")
                started = time.monotonic()
                load_before = os.getloadavg()[0]
                try:
                    result = scenario(bench)
                except Exception as exc:
                    result = ScenarioResult(f"scenario_{key}", f"{key}. {title}")
                    result.error = "".join(traceback.format_exception(exc)).strip()
                    log(f"Scenario {key} failed:\n{result.error}")
                finally:
                    bench.stop_workers()
                result.seconds = time.monotonic() - started
                result.load_average = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                results.append(result)
        finally:
            load.close()
    meta = {
        "mode": "quick" if options.quick else "full",
        "runs": sizes.runs,
        "seconds": round(time.monotonic() - begun, 1),
        "machine": machine_info(),
        "settings": options.base_settings,
        "overrides": options.overrides,
        "recommended_workers": options.recommended_workers,
        "sizes": sizes.__dict__,
    }
    return results, meta
