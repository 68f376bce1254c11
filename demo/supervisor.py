"""A small process supervisor for the demo (``manage.py rundemo``).

It runs named commands as child processes, each in its own process group (so a terminal's
Ctrl-C reaches only the supervisor, which then stops the children in order), and writes each
child's output to one stream with the child's name as a prefix::

    web      | Starting development server at http://127.0.0.1:8000/
    worker   | Worker rq:worker:... started

Children are either tasks (``run``: wait for the exit code) or services (``start``: they must
keep running; ``wait`` returns the first one that exits). ``stop_all`` stops services in the
reverse order of their start: SIGTERM to the service's own process, which stops its children
itself (``rqworker-pool`` asks each of its workers for a warm shutdown), then SIGKILL to whatever
is left of its process group, once it has exited or after a timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

__all__ = ["ProcessSpec", "StartError", "Supervisor"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class ProcessSpec:
    """A named command. ``ready``, if given, says when a started service can be used."""

    name: str
    argv: Sequence[str]
    ready: Callable[[], bool] | None = None


class StartError(Exception):
    """A service exited or did not become ready while starting."""


def write_to_stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Child:
    """One running child process and the thread copying its output."""

    def __init__(self, spec: ProcessSpec, process: subprocess.Popen[bytes], pump: threading.Thread):
        self.spec = spec
        self.process = process
        self.pump = pump

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal_leader(self, signum: int) -> None:
        """Send ``signum`` to the child itself (not to the rest of its group)."""
        with suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def signal_group(self, signum: int) -> bool:
        """Send ``signum`` to the child's process group; False if the group is gone."""
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def finish(self) -> None:
        """After the child exited: kill what is left of its group, collect its output."""
        self.signal_group(signal.SIGKILL)
        self.pump.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Supervisor:
    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        write: Callable[[str], None] = write_to_stdout,
        stop_timeout: float = 10.0,
        poll_interval: float = 0.1,
        label_width: int = 8,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.label_width = label_width
        self.services: list[_Child] = []
        self._write = write
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._force = threading.Event()

    # Output

    def emit(self, line: str) -> None:
        """Write one line to the output (thread-safe)."""
        with self._write_lock, suppress(OSError, ValueError):
            self._write(line)

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        label = name.ljust(self.label_width)
        for raw in iter(stream.readline, b""):
            self.emit(f"{label} | {raw.decode('utf-8', 'replace').rstrip()}")

    # Stopping on request

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask the supervisor to stop; a second request skips the wait before SIGKILL."""
        if self._stop.is_set():
            self._force.set()
        self._stop.set()

    @contextmanager
    def signals_handled(self) -> Iterator[None]:
        """Within the block, SIGINT and SIGTERM request a stop instead of interrupting."""

        def handle(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    # Children

    def _spawn(self, spec: ProcessSpec) -> _Child:
        process = subprocess.Popen(
            list(spec.argv),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        pump = threading.Thread(
            target=self._pump, args=(spec.name, process.stdout), name=f"output-{spec.name}"
        )
        pump.daemon = True
        pump.start()
        self.emit(f"started {spec.name} (pid {process.pid})")
        return _Child(spec, process, pump)

    def run(self, spec: ProcessSpec) -> int | None:
        """Run a task to its end: its exit code, or None if a stop was requested meanwhile."""
        child = self._spawn(spec)
        try:
            while child.process.poll() is None:
                if self._stop.wait(self.poll_interval):
                    self._terminate(child)
                    return None
            return child.process.returncode
        finally:
            child.finish()

    def start(self, spec: ProcessSpec, *, ready_timeout: float = 15.0) -> None:
        """Start a service; with ``spec.ready``, wait until it is ready.

        Raises ``StartError`` if it exits or is not ready in time. Returns early (not ready) if
        a stop is requested meanwhile.
        """
        child = self._spawn(spec)
        self.services.append(child)
        if spec.ready is None:
            return
        deadline = time.monotonic() + ready_timeout
        while not spec.ready():
            if child.process.poll() is not None:
                raise StartError(f"{spec.name} exited with code {child.process.returncode}")
            if time.monotonic() > deadline:
                raise StartError(f"{spec.name} was not ready after {ready_timeout:g} s")
            if self._stop.wait(self.poll_interval):
                return

    def wait(self) -> tuple[str, int] | None:
        """Block until a stop is requested (None) or a service exits: (its name, exit code)."""
        while not self._stop.wait(self.poll_interval):
            for child in self.services:
                code = child.process.poll()
                if code is not None:
                    return child.name, code
        return None

    def _terminate(self, child: _Child) -> None:
        """SIGTERM the child; SIGKILL its group after ``stop_timeout`` (or a second request)."""
        if child.process.poll() is None:
            child.signal_leader(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            while child.process.poll() is None:
                if time.monotonic() > deadline or self._force.is_set():
                    self.emit(f"{child.name} did not stop in time: killing it")
                    child.signal_group(signal.SIGKILL)
                    child.process.wait()
                    break
                time.sleep(0.05)
        child.finish()

    def stop_all(self) -> None:
        """Stop every service, the most recently started first."""
        while self.services:
            child = self.services.pop()
            running = child.process.poll() is None
            self._terminate(child)
            if running:
                self.emit(f"stopped {child.name} (exit code {child.process.returncode})")

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.services]
