"""The benchmark's side of the load generator process (:mod:`.loadgen`)."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from demo.benchmark.harness import Child, Harness, HarnessError

__all__ = ["CreateResult", "LoadGenerator"]

MARK = "@@"


@dataclass(frozen=True)
class CreateResult:
    ids: list[int]
    started: float
    commits: list[float]
    finished: float
    dispatch_s: float


class LoadGenerator:
    """Sends commands to the load generator and waits (bounded) for each answer."""

    def __init__(self, harness: Harness, timeout: float = 60) -> None:
        self.child: Child = harness.spawn(
            "loadgen",
            [sys.executable, "-m", "demo.benchmark.loadgen"],
            stdin=subprocess.PIPE,
        )
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="loadgen-reader", daemon=True)
        self._reader.start()
        self._wait("start", timeout)

    def _read(self) -> None:
        stdout = self.child.process.stdout
        assert stdout is not None
        try:
            for raw in stdout:
                line = raw.decode("utf-8", errors="replace")
                if line.startswith(MARK):
                    self._answers.put(json.loads(line[len(MARK) :]))
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the process is being stopped
        self._answers.put(None)  # the process ended

    def _wait(self, what: str, timeout: float) -> dict[str, Any]:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty as exc:
            raise HarnessError(f"load generator: no answer to {what} within {timeout:g}s") from exc
        if answer is None:
            raise HarnessError(f"load generator exited during {what}:\n{self.child.log_tail()}")
        if "error" in answer:
            raise HarnessError(f"load generator failed in {what}:\n{answer['error']}")
        return answer

    def call(self, op: str, timeout: float, **args: Any) -> dict[str, Any]:
        stdin = self.child.process.stdin
        if stdin is None or not self.child.running():
            raise HarnessError(f"load generator is not running:\n{self.child.log_tail()}")
        stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        stdin.flush()
        return self._wait(op, timeout)

    def setup(self) -> str:
        """Create the API user; its token."""
        return str(self.call("setup", 60)["token"])

    def configure(self, url: str, rules: int) -> None:
        """Exactly ``rules`` rules for site changes, each to its own webhook under ``url``."""
        self.call("configure", 60, url=url, rules=rules)

    def reset(self) -> None:
        """Delete the benchmark's sites and delivery log."""
        self.call("reset", 300)

    def create(self, prefix: str, count: int, per_transaction: int) -> CreateResult:
        answer = self.call(
            "create",
            120 + count * 0.05,
            prefix=prefix,
            count=count,
            per_transaction=per_transaction,
        )
        return CreateResult(
            [int(i) for i in answer["ids"]],
            float(answer["started"]),
            [float(t) for t in answer["commits"]],
            float(answer["finished"]),
            float(answer["dispatch_s"]),
        )

    def steady(
        self, prefix: str, rate: float, duration: float
    ) -> tuple[list[tuple[int, float]], float]:
        """Single-site transactions at ``rate``/s: ([(id, commit time)], how late it fell)."""
        answer = self.call("steady", duration + 90, prefix=prefix, rate=rate, duration=duration)
        events = [(int(pk), float(t)) for pk, t in answer["events"]]
        return events, float(answer["behind_s"])

    def close(self) -> None:
        stdin = self.child.process.stdin
        if stdin is not None and self.child.running():
            try:
                stdin.write(b'{"op": "quit"}\n')
                stdin.flush()
                stdin.close()
            except OSError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.process.wait(timeout=10)
        self.child.stop()
        self._reader.join(timeout=5)
