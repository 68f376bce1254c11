"""Scenario 3: delivery throughput to a fast receiver (204 at once), delivery log on.

- bulk: sites created in one transaction, one worker process already waiting: deliveries
  a second from the first job's ``enqueued_at`` to the last receipt;
- single: single-site transactions queued first, then drained by workers that started up
  meanwhile (rq suspended) and begin together. The rate is
  taken from the jobs' own start and end times while every worker was busy (so worker start-up
  does not count): one ``WebhookWorker``, two of them, rq's non-forking ``SimpleWorker`` on
  no-op jobs (rq's own per-job ceiling) and rq's forking ``Worker`` (NetBox's set-up).
"""

from __future__ import annotations

from rq import Queue

from demo.benchmark.bench import Bench
from demo.benchmark.harness import HarnessError
from demo.benchmark.measure import drain_rate
from demo.benchmark.report import Figure, ScenarioResult, at_least

__all__ = ["NOOP_FUNC", "throughput"]

NOOP_FUNC = "demo.benchmark.noop.noop"
DRAIN_TIMEOUT = 600.0


def _bulk_rate(bench: Bench) -> tuple[float, float]:
    """One worker, ``bulk_events`` sites in one transaction: (deliveries/s, dispatch seconds)."""
    count = bench.sizes.bulk_events
    bench.fresh()
    with bench.receiver() as receiver:
        bench.load.configure(receiver.url, 1)
        bench.start_workers(1)
        created = bench.load.create(bench.prefix("bulk"), count, count)
        bench.wait_received(receiver, count, timeout=60 + count / 50)
        last = max(r.received_at for r in receiver.requests)
        bench.wait_idle()
        first = min(job.enqueued for job in bench.jobs())
        bench.stop_workers()
    return count / (last - first), created.dispatch_s


def _single_rate(bench: Bench, jobs: int, workers: int, worker_class: str | None = None) -> float:
    """``jobs`` single-site transactions queued, then drained by ``workers`` workers."""
    bench.fresh()
    with bench.receiver() as receiver:
        bench.load.configure(receiver.url, 1)
        with bench.held_workers(workers, worker_class):
            bench.load.create(bench.prefix("single"), jobs, 1)
        bench.wait_finished(jobs, DRAIN_TIMEOUT)
        if receiver.received_count < jobs:
            raise HarnessError(f"only {receiver.received_count} of {jobs} deliveries arrived")
    return drain_rate(bench.jobs())


def _noop_rate(bench: Bench) -> float:
    bench.fresh()
    count = bench.sizes.noop_jobs
    queue = Queue(bench.queue, connection=bench.redis)
    with bench.held_workers(1, "rq.SimpleWorker"), bench.redis.pipeline() as pipe:
        queue.enqueue_many(
            [Queue.prepare_data(NOOP_FUNC, result_ttl=600) for _ in range(count)], pipeline=pipe
        )
        pipe.execute()
    bench.wait_finished(count, DRAIN_TIMEOUT)
    return drain_rate(bench.jobs())


def throughput(bench: Bench) -> ScenarioResult:
    sizes = bench.sizes
    result = ScenarioResult(
        "throughput",
        "3. Throughput, fast receiver, delivery log on",
        [
            Figure("capacity", "machine: keep-alive POSTs/s, one process", "/s"),
            Figure(
                "bulk",
                f"bulk events ({sizes.bulk_events:,} in 1 transaction), 1 worker process",
                "/s",
                target=at_least(1000),
            ),
            Figure("bulk_pct", "  as share of machine capacity", "%"),
            Figure("dispatch_s", "  dispatch on commit (load generator)", "s"),
            Figure("single", "single-object events, 1 worker", "/s"),
            Figure("single_pct", "  as share of machine capacity", "%"),
            Figure("noop", "rq SimpleWorker, no-op jobs", "/s"),
            Figure("single_vs_noop", "  single-object rate / no-op rate", "%", target=at_least(60)),
            Figure("fork", "rq forking Worker, single-object events", "/s"),
            Figure(
                "single_vs_fork", "  single-object rate / forking rate", "x", target=at_least(5)
            ),
            Figure("two", "single-object events, 2 workers", "/s"),
            Figure("two_vs_one", "  2 workers / 1 worker", "x"),
        ],
    )
    for run in range(sizes.runs):
        step = f"  run {run + 1}/{sizes.runs}:"
        capacity = bench.capacity()
        bench.log(f"{step} machine capacity {capacity:,.0f} POSTs/s")
        bulk, dispatch = _bulk_rate(bench)
        bench.log(f"{step} bulk events {bulk:,.0f}/s")
        single = _single_rate(bench, sizes.single_jobs, 1)
        bench.log(f"{step} single-object events {single:,.1f}/s")
        noop = _noop_rate(bench)
        bench.log(f"{step} no-op jobs {noop:,.1f}/s")
        fork = _single_rate(bench, sizes.fork_jobs, 1, worker_class="rq.Worker")
        bench.log(f"{step} forking worker {fork:,.1f}/s")
        two = _single_rate(bench, sizes.two_worker_jobs, 2)
        bench.log(f"{step} two workers {two:,.1f}/s")
        for key, value in (
            ("capacity", capacity),
            ("bulk", bulk),
            ("bulk_pct", bulk / capacity * 100),
            ("dispatch_s", dispatch),
            ("single", single),
            ("single_pct", single / capacity * 100),
            ("noop", noop),
            ("single_vs_noop", single / noop * 100),
            ("fork", fork),
            ("single_vs_fork", single / fork),
            ("two", two),
            ("two_vs_one", two / single),
        ):
            result.add(key, value)
    bench.fresh()
    result.notes.append(
        f"single-object: {sizes.single_jobs:,} jobs (2 workers: {sizes.two_worker_jobs:,}, "
        f"forking: {sizes.fork_jobs:,}, no-op: {sizes.noop_jobs:,}) queued first, then drained"
    )
    return result
