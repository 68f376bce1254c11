"""Scenario 6: a worker's resident memory does not grow with the deliveries it has made.

One worker delivers events from bulk changes (transactions of up to 5,000 sites) to a fast
receiver; its RSS (with any children) is read once it is idle after ``memory_base`` deliveries
and again after ``memory_total``. One run: the long run is the test.
"""

from __future__ import annotations

import time

from demo.benchmark.bench import Bench
from demo.benchmark.harness import tree_rss_kb
from demo.benchmark.report import Figure, ScenarioResult

__all__ = ["memory"]

PER_TRANSACTION = 5000
SETTLE = 0.5


def memory(bench: Bench) -> ScenarioResult:
    sizes = bench.sizes
    base, total = sizes.memory_base, sizes.memory_total
    result = ScenarioResult(
        "memory",
        "6. Memory of one worker process",
        [
            Figure("rss_base", f"RSS after {base:,} deliveries", "MB"),
            Figure("rss_total", f"RSS after {total:,} deliveries", "MB"),
            Figure("growth", "growth", "%"),
            Figure("rate", "deliveries/s over the whole run", "/s"),
        ],
    )
    bench.fresh()
    with bench.receiver(keep=False) as receiver:
        bench.load.configure(receiver.url, 1)
        (worker,) = bench.start_workers(1)
        started = time.time()
        readings = []
        for target in (base, total):
            bench.load.create(
                bench.prefix("mem"), target - receiver.received_count, PER_TRANSACTION
            )
            bench.wait_received(receiver, target, timeout=120 + target / 20)
            bench.wait_idle()
            time.sleep(SETTLE)
            readings.append(tree_rss_kb(worker.pid) / 1024)
            bench.log(f"  RSS after {target:,} deliveries: {readings[-1]:.1f} MB")
        elapsed = time.time() - started
        bench.stop_workers()
    result.add("rss_base", readings[0])
    result.add("rss_total", readings[1])
    result.add("growth", (readings[1] - readings[0]) / readings[0] * 100)
    result.add("rate", total / elapsed)
    result.notes.append("one run; RSS read from /proc (VmRSS) with the worker idle")
    bench.fresh()
    return result
