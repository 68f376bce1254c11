"""Smoke check of ``manage.py webhooks_benchmark --quick``: every scenario completes and
produces figures, and quick mode judges no floor. No time or rate is ever asserted: the machine
running the tests is shared. The benchmark lives in the demo, outside the installed package."""

from __future__ import annotations

import json
import math
import tomllib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from setuptools import find_packages

from demo.benchmark.report import QUICK_NOTE

REPO = Path(__file__).resolve().parents[2]

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
    out = StringIO()

    call_command("webhooks_benchmark", "--quick", "--json", str(report_path), stdout=out)

    report = json.loads(report_path.read_text())
    assert report["mode"] == "quick"
    assert report["judged"] is False
    table = out.getvalue()
    assert QUICK_NOTE in table
    assert "PASS" not in table and "FAIL" not in table
    scenarios = {scenario["key"]: scenario for scenario in report["scenarios"]}
    assert set(scenarios) == SCENARIOS
    for key, scenario in scenarios.items():
        assert scenario["completed"], f"{key}: {scenario['error']}"
        assert scenario["figures"], key
        for figure in scenario["figures"]:
            assert figure["runs"], f"{key}/{figure['key']} has no value"
            # A figure is a number, or None for an infinite latency (a delivery that never came).
            assert all(v is None or math.isfinite(v) for v in figure["runs"]), figure
            assert figure["pass"] is None, f"{key}/{figure['key']}: quick mode judged a floor"


def test_unknown_scenario_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown scenario"):
        call_command("webhooks_benchmark", "--only", "9")


def test_installing_the_app_brings_no_benchmark_nor_demo() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(str(REPO), include=find["include"], exclude=find.get("exclude", ()))
    assert "webhooks_app" in packages
    assert not [name for name in packages if not name.startswith("webhooks_app")]
