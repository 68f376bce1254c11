"""Child processes of the benchmark: start-up helpers, stopping a process group, memory.

Every child leads its own process group, so stopping it (SIGTERM, then SIGKILL) also stops
whatever it forked (rq's forking worker, the scheduler, gunicorn's worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HOST",
    "Child",
    "HarnessError",
    "default_db_dir",
    "free_port",
    "tree_pss_kb",
    "tree_rss_kb",
]

HOST = "127.0.0.1"
STOP_TIMEOUT = 15.0


class HarnessError(RuntimeError):
    """A process did not start, or did not finish in time."""


def default_db_dir() -> str | None:
    """/dev/shm when there is one: disk syncs on commit vary a lot on shared machines (5 to 50 ms
    a commit here) and would drown what the benchmark measures. None: the temporary folder."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _tree_memory_kb(pid: int, file: str, field: str) -> int:
    tree = _children_of()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(tree.get(current, []))
        try:
            for line in Path(f"/proc/{current}/{file}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


def tree_rss_kb(pid: int) -> int:
    """Resident memory (VmRSS, KiB) of a process and all its descendants; 0 if it is gone.
    Pages shared between them (after a fork) count once per process."""
    return _tree_memory_kb(pid, "status", "VmRSS:")


def tree_pss_kb(pid: int) -> int:
    """Proportional set size (KiB) of a process and its descendants: shared pages split between
    the processes sharing them, so the sum is what they really take together."""
    return _tree_memory_kb(pid, "smaps_rollup", "Pss:")


@dataclass
class Child:
    """One child process (leader of its own process group) and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    on_exit: Callable[[Child], None] | None = None
    profiler: Child | None = None  # a py-spy recording this process, stopped after it

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{self.name} did not exit within {timeout:g}s") from exc

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM to the group (a warm shutdown for rq workers), SIGKILL after ``timeout``."""
        if self.running():
            self.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.send_signal(signal.SIGKILL)  # whatever is left of the group (forked children)
        if self.process.poll() is None:
            self.process.wait(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()
        if self.profiler is not None:
            self.profiler.finish_recording()
            self.profiler = None
        if self.on_exit is not None:
            self.on_exit(self)
            self.on_exit = None

    def finish_recording(self) -> None:
        """For a profiler whose target has exited: let it write its file, then stop it."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        if self.running():
            self.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        self.stop(timeout=10)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the process group (nothing if it is gone)."""
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signum)
