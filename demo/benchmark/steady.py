"""Scenarios 4 and 5: a slow receiver, and commit-to-receipt latency under steady load.

Steady load is single-site transactions from the load generator at a fixed rate. Latency is
from each transaction's commit (taken in the load generator) to the receipt of its delivery
(``Receipt.received_at``), matched by the object's id in the payload; a delivery that
has not arrived a while after the load ends counts as infinitely late. The workers are the
recommended set-up, one ``rqworker-pool`` command; while the load runs, the queue length and the
memory of all its processes (the pool and the workers it forked) are sampled: PSS, which splits
the pages they share after the fork between them, so that the sum is what they take together.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass, field

from demo.benchmark.bench import Bench, receipts_by_object
from demo.benchmark.harness import HarnessError, tree_pss_kb, tree_rss_kb
from demo.benchmark.measure import percentile, queue_length
from demo.benchmark.report import Figure, ScenarioResult, at_least, at_most, below

__all__ = ["latency", "slow_receiver"]

SAMPLE_INTERVAL = 0.5
SLOW_RATE = 20.0
LATENCY_RATE = 50.0


@dataclass
class SteadyOutcome:
    latencies_ms: list[float]
    sent: int
    received: int
    backlog_end: int
    backlog_growth: float  # jobs/s, least squares over the samples
    rss_mb: float
    pss_mb: float
    behind_s: float
    samples: list[tuple[float, int]] = field(default_factory=list)

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> str:
        return (
            f"{self.received}/{self.sent} delivered, p50 {self.p(50):,.1f} ms, "
            f"p99 {self.p(99):,.1f} ms, backlog {self.backlog_end}, PSS {self.pss_mb:,.0f} MB"
        )


def _slope(points: list[tuple[float, int]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 0.0 if var == 0 else sum((t - mx) * (v - my) for t, v in points) / var


def run_steady(
    bench: Bench, *, slow: bool, rate: float, seconds: float, grace: float
) -> SteadyOutcome:
    """Start the recommended worker set-up, run the steady load, wait ``grace`` for the rest."""
    bench.fresh()
    samples: list[tuple[float, int]] = []
    peak_rss = [0, 0]
    stop = threading.Event()
    with bench.receiver(slow=slow) as receiver:
        bench.load.configure(receiver.url, 1)
        pool = bench.start_recommended()

        def sample() -> None:
            began = None
            while not stop.wait(SAMPLE_INTERVAL):
                now = time.monotonic()
                began = began if began is not None else now
                samples.append((now - began, queue_length(bench.redis, bench.queue)))
                peak_rss[0] = max(peak_rss[0], tree_rss_kb(pool.pid))
                peak_rss[1] = max(peak_rss[1], tree_pss_kb(pool.pid))

        sampler = threading.Thread(target=sample, name="benchmark-sampler", daemon=True)
        sampler.start()
        try:
            events, behind = bench.load.steady(bench.prefix("steady"), rate, seconds)
        finally:
            stop.set()
            sampler.join(timeout=10)
        backlog_end = samples[-1][1] if samples else queue_length(bench.redis, bench.queue)
        with contextlib.suppress(HarnessError):  # late deliveries count as infinitely late
            bench.wait_received(receiver, len(events), timeout=grace)
        received = receipts_by_object(receiver.requests)
        bench.stop_workers()
    latencies = [
        (received[pk] - committed) * 1000 if pk in received else math.inf
        for pk, committed in events
    ]
    return SteadyOutcome(
        latencies,
        len(events),
        sum(1 for pk, _ in events if pk in received),
        backlog_end,
        _slope(samples),
        peak_rss[0] / 1024,
        peak_rss[1] / 1024,
        behind,
        samples,
    )


def _slow_bulk_rate(bench: Bench) -> float:
    """``slow_bulk_events`` sites in one transaction to the slow receiver, delivered by the
    recommended set-up: deliveries a second from the first job's enqueueing to the last receipt."""
    count = bench.sizes.slow_bulk_events
    bench.fresh()
    with bench.receiver(slow=True) as receiver:
        bench.load.configure(receiver.url, 1)
        bench.start_recommended()
        bench.load.create(bench.prefix("slowbulk"), count, count)
        bench.wait_received(receiver, count, timeout=60 + count)
        last = max(r.received_at for r in receiver.requests)
        bench.wait_idle()
        first = min(job.enqueued for job in bench.jobs())
        bench.stop_workers()
    return count / (last - first)


def slow_receiver(bench: Bench) -> ScenarioResult:
    sizes = bench.sizes
    workers = bench.recommended_workers
    setup = f"a pool of {workers} worker{'s' if workers > 1 else ''}"
    result = ScenarioResult(
        "slow_receiver",
        "4. Slow receiver (every answer after 200 ms)",
        [
            Figure("capacity", "machine: keep-alive POSTs/s, one process", "/s"),
            Figure(
                "bulk",
                f"bulk events ({sizes.slow_bulk_events:,} in 1 transaction), {setup}",
                "/s",
                target=at_least(100),
            ),
            Figure("bulk_pct", "  as share of machine capacity", "%"),
            Figure("delivered_pct", f"steady {SLOW_RATE:g}/s, {setup}: delivered in time", "%"),
            Figure("backlog", "  queued jobs when the load ends", ""),
            Figure("growth", "  backlog growth", "/s"),
            Figure("p50", "  commit-to-receipt p50", "ms"),
            Figure("p99", "  commit-to-receipt p99", "ms", target=below(1000)),
            Figure("pss", "  peak PSS of all the set-up's processes", "MB", target=below(300)),
            Figure("rss", "  peak RSS, summed (shared pages counted per process)", "MB"),
        ],
    )
    for run in range(sizes.runs):
        step = f"  run {run + 1}/{sizes.runs}:"
        capacity = bench.capacity()
        bulk = _slow_bulk_rate(bench)
        bench.log(f"{step} bulk events {bulk:,.1f}/s")
        outcome = run_steady(
            bench, slow=True, rate=SLOW_RATE, seconds=sizes.slow_seconds, grace=sizes.grace_seconds
        )
        bench.log(f"{step} steady load: {outcome.summary()}")
        for key, value in (
            ("capacity", capacity),
            ("bulk", bulk),
            ("bulk_pct", bulk / capacity * 100),
            ("delivered_pct", outcome.received / max(1, outcome.sent) * 100),
            ("backlog", outcome.backlog_end),
            ("growth", outcome.backlog_growth),
            ("p50", outcome.p(50)),
            ("p99", outcome.p(99)),
            ("rss", outcome.rss_mb),
            ("pss", outcome.pss_mb),
        ):
            result.add(key, value)
    result.notes.append(
        f"steady load: {SLOW_RATE:g} single-site transactions/s for {sizes.slow_seconds:g}s; "
        f"worker set-up: {bench.recommended_setup()} (every worker may run rq's scheduler); "
        f"deliveries not arrived {sizes.grace_seconds:g}s after the load count as infinitely late"
    )
    return result


def latency(bench: Bench) -> ScenarioResult:
    sizes = bench.sizes
    result = ScenarioResult(
        "latency",
        f"5. Latency at a steady {LATENCY_RATE:g} events/s, fast receiver",
        [
            Figure("capacity", "machine: keep-alive POSTs/s, one process", "/s"),
            Figure("p50", "commit-to-receipt p50", "ms", target=at_most(10)),
            Figure("p90", "commit-to-receipt p90", "ms"),
            Figure("p99", "commit-to-receipt p99", "ms"),
            Figure("max", "commit-to-receipt max", "ms"),
            Figure("behind", "load generator behind schedule, max", "ms"),
        ],
    )
    for run in range(sizes.runs):
        capacity = bench.capacity()
        outcome = run_steady(
            bench,
            slow=False,
            rate=LATENCY_RATE,
            seconds=sizes.latency_seconds,
            grace=sizes.grace_seconds,
        )
        bench.log(f"  run {run + 1}/{sizes.runs}: {outcome.summary()}")
        result.add("capacity", capacity)
        result.add("p50", outcome.p(50))
        result.add("p90", outcome.p(90))
        result.add("p99", outcome.p(99))
        result.add("max", outcome.p(100))
        result.add("behind", outcome.behind_s * 1000)
    result.notes.append(
        f"{sizes.latency_seconds:g}s of single-site transactions, workers: "
        f"{bench.recommended_setup()}; commit time taken by an on_commit callback that runs "
        "before the dispatch"
    )
    return result
