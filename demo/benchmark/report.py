"""Figures, targets, the printed table and the JSON report."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "QUICK_NOTE",
    "Figure",
    "ScenarioResult",
    "Target",
    "at_least",
    "at_most",
    "below",
    "format_table",
    "machine_info",
    "write_json",
]


QUICK_NOTE = (
    "Quick mode only proves that each scenario runs: its sizes are too small to judge any "
    "floor, so no figure gets a verdict. Run without --quick for verdicts."
)

_CHECKS = {
    "<=": lambda value, bound: value <= bound,
    ">=": lambda value, bound: value >= bound,
    "<": lambda value, bound: value < bound,
}
_SIGNS = {"<=": "≤", ">=": "≥", "<": "<"}


@dataclass(frozen=True)
class Target:
    """``value <op> bound``, op ``<=``, ``>=`` or ``<``."""

    op: str
    bound: float

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return bool(_CHECKS[self.op](value, self.bound))

    def text(self, unit: str) -> str:
        return f"{_SIGNS[self.op]} {_value(self.bound, unit)}"


def at_most(bound: float) -> Target:
    return Target("<=", bound)


def below(bound: float) -> Target:
    return Target("<", bound)


def at_least(bound: float) -> Target:
    return Target(">=", bound)


@dataclass
class Figure:
    """One measured quantity: a value per run; the median is what the target is checked on."""

    key: str
    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: Target | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    @property
    def minimum(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def maximum(self) -> float:
        return max(self.values) if self.values else math.nan

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.met(self.median)

    def as_dict(self, *, judged: bool = True) -> dict[str, Any]:
        """As JSON; ``judged`` False (quick mode): the target is shown, ``pass`` is None."""
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "runs": [_json_number(v) for v in self.values],
            "median": _json_number(self.median),
            "min": _json_number(self.minimum),
            "max": _json_number(self.maximum),
            "target": None if self.target is None else self.target.text(self.unit),
            "pass": self.passed if judged else None,
        }


@dataclass
class ScenarioResult:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    load_average: list[float] = field(default_factory=list)  # 1-minute, at start and end

    @property
    def completed(self) -> bool:
        return self.error is None and bool(self.figures)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def add(self, key: str, value: float) -> None:
        self.figure(key).values.append(value)

    def as_dict(self, *, judged: bool = True) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "completed": self.completed,
            "error": self.error,
            "seconds": round(self.seconds, 1),
            "load_average": self.load_average,
            "figures": [f.as_dict(judged=judged) for f in self.figures],
            "notes": self.notes,
        }


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


def _suffix(unit: str) -> str:
    return "" if unit in ("", "x") else (unit if unit == "%" else f" {unit}")


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "∞"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _value(value: float, unit: str) -> str:
    text = _number(value)
    if unit == "x" and text not in ("-", "∞"):
        return text + "×"
    return text + _suffix(unit) if text not in ("-",) else text


def format_table(results: Sequence[ScenarioResult], runs: int, *, judged: bool = True) -> str:
    """A plain-text (and Markdown-compatible) table of every figure. With ``judged`` False
    (quick mode) the Result column stays empty and :data:`QUICK_NOTE` heads the table."""
    header = ["Scenario", "Figure", f"Median of {runs}", "Min", "Max", "Target", "Result"]
    rows: list[list[str]] = []
    for result in results:
        if result.error is not None:
            rows.append([result.title, "ERROR: " + result.error.splitlines()[-1][:80], *[""] * 5])
            continue
        for index, fig in enumerate(result.figures):
            verdict = {True: "PASS", False: "FAIL", None: ""}[fig.passed] if judged else ""
            target = fig.target.text(fig.unit) if fig.target else ""
            rows.append(
                [
                    result.title if index == 0 else "",
                    fig.label,
                    _value(fig.median, fig.unit),
                    _value(fig.minimum, fig.unit),
                    _value(fig.maximum, fig.unit),
                    target,
                    verdict,
                ]
            )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [] if judged else [QUICK_NOTE, ""]
    out += [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(row) for row in rows)
    for result in results:
        notes = list(result.notes)
        if result.load_average:
            loads = " → ".join(f"{value:.1f}" for value in result.load_average)
            notes.append(f"took {result.seconds:.0f}s; load average {loads}")
        out.extend(f"- {result.title.split(':')[0]}: {note}" for note in notes)
    return "\n".join(out)


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(path: str, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
