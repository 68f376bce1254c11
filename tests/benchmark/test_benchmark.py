"""Smoke check of ``manage.py webhooks_benchmark --quick``: every scenario completes and
produces figures. No time or rate is ever asserted: the machine running the tests is shared."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(180)]

SCENARIOS = {
    "request_path",
    "bulk_dispatch",
    "throughput",
    "slow_receiver",
    "latency",
    "memory",
}


def test_quick_benchmark_completes_every_scenario(tmp_path: Path) -> None:
    report_path = tmp_path / "benchmark.json"

    call_command("webhooks_benchmark", "--quick", "--json", str(report_path))

    report = json.loads(report_path.read_text())
    assert report["mode"] == "quick"
    scenarios = {scenario["key"]: scenario for scenario in report["scenarios"]}
    assert set(scenarios) == SCENARIOS
    for key, scenario in scenarios.items():
        assert scenario["completed"], f"{key}: {scenario['error']}"
        assert scenario["figures"], key
        for figure in scenario["figures"]:
            assert figure["runs"], f"{key}/{figure['key']} has no value"
            # A figure is a number, or None for an infinite latency (a delivery that never came).
            assert all(v is None or math.isfinite(v) for v in figure["runs"]), figure


def test_unknown_scenario_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown scenario"):
        call_command("webhooks_benchmark", "--only", "9")
