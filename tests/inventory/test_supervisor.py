"""The demo's process supervisor, with small Python programs as children."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from demo.supervisor import ProcessSpec, StartError, Supervisor


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Lines:
    """Collects the supervisor's output."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
def output() -> Lines:
    return Lines()


@pytest.fixture
def supervisor(output: Lines) -> Iterator[Supervisor]:
    sup = Supervisor(write=output, stop_timeout=2, poll_interval=0.02)
    yield sup
    sup.stop_all()


SLEEPER = python("import time; print('up', flush=True); time.sleep(60)")
STUBBORN = python(
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(60)"
)


def test_task_output_is_prefixed_with_its_name(supervisor: Supervisor, output: Lines) -> None:
    code = supervisor.run(ProcessSpec("hello", python("print('one'); print('two')")))
    assert code == 0
    assert output.lines[1:] == ["hello    | one", "hello    | two"]
    assert output.lines[0].startswith("started hello (pid ")


def test_task_exit_code_and_error_output_are_reported(
    supervisor: Supervisor, output: Lines
) -> None:
    code = supervisor.run(ProcessSpec("bad", python("import sys; sys.exit('boom')")))
    assert code == 1
    assert "bad      | boom" in output.lines


def test_children_get_the_supervisor_environment(output: Lines) -> None:
    sup = Supervisor(env={**os.environ, "DEMO_VALUE": "42"}, write=output)
    sup.run(ProcessSpec("env", python("import os; print(os.environ['DEMO_VALUE'])")))
    assert "env      | 42" in output.lines


def test_children_run_in_their_own_process_group(supervisor: Supervisor) -> None:
    supervisor.start(ProcessSpec("sleeper", SLEEPER))
    [pid] = supervisor.pids
    assert os.getpgid(pid) == pid
    assert os.getpgid(pid) != os.getpgid(0)


def test_wait_returns_the_service_that_exited(supervisor: Supervisor) -> None:
    supervisor.start(ProcessSpec("sleeper", SLEEPER))
    supervisor.start(ProcessSpec("quitter", python("import time; time.sleep(0.2)")))
    assert supervisor.wait() == ("quitter", 0)


def test_wait_returns_none_when_a_stop_is_requested(supervisor: Supervisor) -> None:
    supervisor.start(ProcessSpec("sleeper", SLEEPER))
    threading.Timer(0.2, supervisor.request_stop).start()
    assert supervisor.wait() is None


def test_stop_all_terminates_services_newest_first(supervisor: Supervisor, output: Lines) -> None:
    supervisor.start(ProcessSpec("first", SLEEPER))
    supervisor.start(ProcessSpec("second", SLEEPER))
    pids = supervisor.pids
    supervisor.stop_all()
    stopped = [line for line in output.lines if line.startswith("stopped")]
    assert stopped == [
        f"stopped second (exit code {-signal.SIGTERM})",
        f"stopped first (exit code {-signal.SIGTERM})",
    ]
    assert all(gone(pid) for pid in pids)
    assert supervisor.pids == []


def test_a_service_ignoring_sigterm_is_killed_after_the_timeout(output: Lines) -> None:
    sup = Supervisor(write=output, stop_timeout=0.5, poll_interval=0.02)
    sup.start(
        ProcessSpec("stubborn", STUBBORN, ready=lambda: any("up" in line for line in output.lines))
    )
    [pid] = sup.pids
    started = time.monotonic()
    sup.stop_all()
    assert 0.4 < time.monotonic() - started < 5
    assert "stubborn did not stop in time: killing it" in output.lines
    assert gone(pid)


def test_grandchildren_in_the_process_group_are_stopped_too(supervisor: Supervisor) -> None:
    spawner = python(
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    lines: list[str] = []
    sup = Supervisor(write=lines.append, stop_timeout=2, poll_interval=0.02)
    sup.start(ProcessSpec("spawner", spawner, ready=lambda: len(lines) > 1))
    grandchild = int(lines[1].split("|")[1])
    sup.stop_all()
    deadline = time.monotonic() + 5
    while not gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(grandchild)


def test_sigterm_goes_to_the_service_which_stops_its_children_itself(output: Lines) -> None:
    """As ``rqworker-pool`` does: SIGINT to each worker (a warm shutdown), then it waits."""
    child = (
        "import signal, sys, time; "
        "signal.signal(signal.SIGTERM, lambda *a: print('child got SIGTERM', flush=True)); "
        "signal.signal(signal.SIGINT, lambda *a: (print('child stopped warm', flush=True), "
        "sys.exit(0))); print('child up', flush=True); time.sleep(60)"
    )
    parent = python(
        "import signal, subprocess, sys, time; "
        f"c = subprocess.Popen([sys.executable, '-c', {child!r}]); "
        "signal.signal(signal.SIGTERM, lambda *a: (c.send_signal(signal.SIGINT), c.wait(), "
        "sys.exit(0))); time.sleep(60)"
    )
    sup = Supervisor(write=output, stop_timeout=5, poll_interval=0.02)
    sup.start(ProcessSpec("pool", parent, ready=lambda: "pool     | child up" in output.lines))
    sup.stop_all()
    assert "pool     | child stopped warm" in output.lines
    assert "pool     | child got SIGTERM" not in output.lines
    assert "stopped pool (exit code 0)" in output.lines


def test_a_stop_request_interrupts_a_running_task(supervisor: Supervisor) -> None:
    threading.Timer(0.3, supervisor.request_stop).start()
    started = time.monotonic()
    assert supervisor.run(ProcessSpec("sleeper", SLEEPER)) is None
    assert time.monotonic() - started < 5


def test_a_service_that_exits_while_starting_is_a_start_error(supervisor: Supervisor) -> None:
    spec = ProcessSpec("quitter", python("raise SystemExit(3)"), ready=lambda: False)
    with pytest.raises(StartError, match="quitter exited with code 3"):
        supervisor.start(spec)


def test_a_service_never_ready_is_a_start_error(supervisor: Supervisor) -> None:
    spec = ProcessSpec("sleeper", SLEEPER, ready=lambda: False)
    with pytest.raises(StartError, match="sleeper was not ready after 0.3 s"):
        supervisor.start(spec, ready_timeout=0.3)


def test_signals_request_a_stop_inside_the_block_only(supervisor: Supervisor) -> None:
    before = signal.getsignal(signal.SIGINT)
    with supervisor.signals_handled():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 2
        while not supervisor.stop_requested and time.monotonic() < deadline:
            time.sleep(0.01)
    assert supervisor.stop_requested
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_stop_request_kills_without_waiting(output: Lines) -> None:
    sup = Supervisor(write=output, stop_timeout=30, poll_interval=0.02)
    sup.start(ProcessSpec("stubborn", STUBBORN, ready=lambda: "stubborn | up" in output.lines))
    sup.request_stop()
    sup.request_stop()
    started = time.monotonic()
    sup.stop_all()
    assert time.monotonic() - started < 5
    assert "stubborn did not stop in time: killing it" in output.lines
