"""Scenarios 1 and 2: what dispatch adds to real HTTP API requests.

No worker runs while requests are timed (jobs wait in Redis), so that delivery does not compete
for the CPU with the request being measured: the figures are the cost of capturing, matching,
serializing and enqueueing alone. The web server runs the probed WSGI app (:mod:`.wsgi`), whose
response header tells how many database queries each request made; Redis's own counters
(:class:`.measure.RedisCounters`, read before and after) tell what the requests did in Redis,
nothing else talking to it meanwhile.
"""

from __future__ import annotations

import statistics
import time

import requests

from demo.benchmark.bench import Bench
from demo.benchmark.harness import HarnessError
from demo.benchmark.measure import RedisCounters
from demo.benchmark.report import Figure, ScenarioResult, at_most

__all__ = ["bulk_dispatch", "request_path"]

RULE_COUNTS = (0, 1, 10)
MIN_ADDED_MS = 0.1  # floor of the 1-rule cost when comparing the 10-rule cost with it
BLOCKS = 10  # scenario 1: blocks per rule count and run


def _check(response: requests.Response, expected: int) -> None:
    if response.status_code != expected:
        raise HarnessError(f"API answered {response.status_code}: {response.text[:300]}")


def _timed_creates(
    bench: Bench, session: requests.Session, prefix: str, count: int
) -> tuple[list[float], list[int], RedisCounters]:
    """Create ``count`` sites one request each: times in ms, database queries of each, and what
    all of them did in Redis."""
    times: list[float] = []
    queries: list[int] = []
    url = bench.sites_url()
    before = RedisCounters.read(bench.redis)
    for number in range(count):
        name = f"bench-{prefix}-{number}"
        started = time.perf_counter()
        response = session.post(url, json={"name": name, "slug": name}, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        _check(response, 201)
        queries.append(int(response.headers.get("X-Bench-Queries", -1)))
    return times, queries, RedisCounters.read(bench.redis).since(before)


def request_path(bench: Bench) -> ScenarioResult:
    result = ScenarioResult(
        "request_path",
        "1. Request path: API create of one site",
        [
            Figure("none_ms", "create, no rules", "ms"),
            Figure("one_ms", "create, 1 matching rule", "ms"),
            Figure("ten_ms", "create, 10 matching rules", "ms"),
            Figure("added_one_ms", "added by 1 rule", "ms", target=at_most(2)),
            Figure("added_one_pct", "added by 1 rule, relative", "%"),
            Figure("added_ten_ms", "added by 10 rules", "ms"),
            Figure("ten_vs_one", "10-rule cost / 1-rule cost", "x"),
            Figure("queries_one", "DB queries per create, 1 rule", ""),
            Figure("roundtrips_one", "Redis round trips per create, 1 rule (server reads)", ""),
            Figure("commands_one", "Redis commands per create, 1 rule", ""),
        ],
    )
    sizes = bench.sizes
    bench.fresh()
    blocks = max(1, min(BLOCKS, sizes.creates))
    with bench.receiver() as receiver, bench.api() as session:
        for run in range(sizes.runs):
            times: dict[int, list[float]] = {rules: [] for rules in RULE_COUNTS}
            queries: dict[int, list[int]] = {rules: [] for rules in RULE_COUNTS}
            in_redis: dict[int, list[RedisCounters]] = {rules: [] for rules in RULE_COUNTS}
            for block in range(blocks):
                # Arms interleaved in short blocks, in alternating order, so that the machine's
                # load drifting during a run weighs on every rule count alike.
                forward = (run * blocks + block) % 2 == 0
                for rules in RULE_COUNTS if forward else tuple(reversed(RULE_COUNTS)):
                    bench.load.configure(receiver.url, rules)
                    prefix = bench.prefix(f"r{rules}-")
                    warmup = max(1, sizes.warmup // blocks)
                    _timed_creates(bench, session, prefix + "w", warmup)
                    count = sizes.creates // blocks + (block < sizes.creates % blocks)
                    block_times, block_queries, counters = _timed_creates(
                        bench, session, prefix, count
                    )
                    times[rules].extend(block_times)
                    queries[rules].extend(block_queries)
                    in_redis[rules].append(counters)
            medians = {rules: statistics.median(values) for rules, values in times.items()}
            creates = len(times[1])
            result.add("queries_one", statistics.median(queries[1]))
            result.add("roundtrips_one", sum(c.reads for c in in_redis[1]) / creates)
            result.add("commands_one", sum(c.commands for c in in_redis[1]) / creates)
            if run == 0:
                none_reads = sum(c.reads for c in in_redis[0]) / len(times[0])
                result.notes.append(
                    f"{statistics.median(queries[0]):g} DB queries and {none_reads:.2g} Redis "
                    "round trips per create with no rules"
                )
            added_one = medians[1] - medians[0]
            added_ten = medians[10] - medians[0]
            result.add("none_ms", medians[0])
            result.add("one_ms", medians[1])
            result.add("ten_ms", medians[10])
            result.add("added_one_ms", added_one)
            result.add("added_one_pct", added_one / medians[0] * 100)
            result.add("added_ten_ms", added_ten)
            result.add("ten_vs_one", added_ten / max(added_one, MIN_ADDED_MS))
            bench.log(
                f"  run {run + 1}/{sizes.runs}: {medians[0]:.2f} / {medians[1]:.2f} / "
                f"{medians[10]:.2f} ms with 0 / 1 / 10 rules"
            )
            bench.redis.flushdb()
    result.notes.append(
        f"{sizes.creates} timed creates per rule count and run, in {blocks} blocks per rule count "
        f"interleaved in alternating order (each after {max(1, sizes.warmup // blocks)} untimed), "
        "one keep-alive connection, token auth; no worker running; Redis figures: its INFO "
        "counters over each block, per create"
    )
    return result


def bulk_dispatch(bench: Bench) -> ScenarioResult:
    sizes = bench.sizes
    count = sizes.patch_sites
    result = ScenarioResult(
        "bulk_dispatch",
        f"2. Bulk dispatch: API bulk update of {count:,} sites",
        [
            Figure("none_s", "bulk update, no rules", "s"),
            Figure("one_s", "bulk update, 1 matching rule", "s"),
            Figure("added_pct", "added by dispatch", "%"),
            Figure("roundtrips", "Redis round trips in the request (server reads)", ""),
            Figure("commands", "Redis commands in the request (server count)", ""),
            Figure("connects", "Redis connections opened in the request", ""),
        ],
    )
    bench.fresh()
    bench.load.configure("http://127.0.0.1:9/", 0)
    ids = bench.load.create(bench.prefix("patch"), count, count).ids
    with bench.receiver() as receiver, bench.api() as session:
        for run in range(sizes.runs):
            per_arm: dict[int, list[float]] = {0: [], 1: []}
            probes: dict[str, list[int]] = {"roundtrips": [], "connects": [], "commands": []}
            for attempt in range(sizes.patches + 1):
                # Arms interleaved per attempt, in alternating order (see scenario 1).
                order = (0, 1) if (run + attempt) % 2 == 0 else (1, 0)
                for rules in order:
                    bench.load.configure(receiver.url, rules)
                    body = [{"id": pk, "description": f"r{run}-{rules}-{attempt}"} for pk in ids]
                    before = RedisCounters.read(bench.redis)
                    started = time.perf_counter()
                    response = session.patch(bench.sites_url(), json=body, timeout=300)
                    elapsed = time.perf_counter() - started
                    counters = RedisCounters.read(bench.redis).since(before)
                    _check(response, 200)
                    if attempt == 0:
                        continue  # warm-up
                    per_arm[rules].append(elapsed)
                    if rules == 1:
                        probes["roundtrips"].append(counters.reads)
                        probes["connects"].append(counters.connections)
                        probes["commands"].append(counters.commands)
            for key, values in probes.items():
                result.add(key, statistics.median(values))
            none, one = statistics.median(per_arm[0]), statistics.median(per_arm[1])
            result.add("none_s", none)
            result.add("one_s", one)
            result.add("added_pct", (one - none) / none * 100)
            bench.log(f"  run {run + 1}/{sizes.runs}: {none:.3f} s / {one:.3f} s with 0 / 1 rule")
            bench.redis.flushdb()
    result.notes.append(
        f"{sizes.patches} timed PATCH requests (after 1 untimed) per rule count and run, the rule "
        "counts interleaved; "
        "Redis figures from its INFO counters (a read per request it got: round trips, and more "
        "for a request over 16 KB); no worker running"
    )
    return result
