"""A running demo's state file: the clone's other commands use its Redis and database unless the
environment says otherwise; a file left by a demo that is gone misleads no one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from demo import state

DEMO_REDIS = "redis://127.0.0.1:6381/0"
DEMO_DATABASE = "sqlite:////tmp/the-demo.sqlite3"
PRINT_SETTINGS = (
    "import demo.settings as s; "
    "print(s.RQ_QUEUES['default']['URL']); print(s.DATABASES['default']['NAME'])"
)


@pytest.fixture
def rundemo_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line is ``... rundemo``, standing in for a running demo."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "rundemo"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def write_state_of(run_dir: Path, pid: int) -> None:
    (run_dir / state.STATE_FILE).write_text(
        json.dumps({"pid": pid, "REDIS_URL": DEMO_REDIS, "DATABASE_URL": DEMO_DATABASE})
    )


def demo_settings(run_dir: Path, **environment: str) -> list[str]:
    """The Redis URL and database name that the demo's settings choose in a new process."""
    env = {
        **os.environ,
        "WEBHOOKS_RUN_DIR": str(run_dir),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
    }
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    env.update(environment)
    output = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return output.stdout.splitlines()


def test_commands_use_the_running_demos_redis_and_database(
    tmp_path: Path, rundemo_process: subprocess.Popen[bytes]
) -> None:
    write_state_of(tmp_path, rundemo_process.pid)
    assert demo_settings(tmp_path) == [DEMO_REDIS, "/tmp/the-demo.sqlite3"]


def test_the_environment_wins_over_the_running_demo(
    tmp_path: Path, rundemo_process: subprocess.Popen[bytes]
) -> None:
    write_state_of(tmp_path, rundemo_process.pid)
    assert demo_settings(tmp_path, REDIS_URL="redis://127.0.0.1:6390/2") == [
        "redis://127.0.0.1:6390/2",
        "/tmp/the-demo.sqlite3",
    ]


def test_a_state_file_left_by_a_demo_that_is_gone_is_ignored(
    tmp_path: Path, rundemo_process: subprocess.Popen[bytes]
) -> None:
    rundemo_process.kill()
    rundemo_process.wait()
    write_state_of(tmp_path, rundemo_process.pid)
    assert demo_settings(tmp_path) == [
        "redis://127.0.0.1:6379/0",
        str(tmp_path / "demo.sqlite3"),
    ]


def test_a_process_that_reused_the_id_is_not_the_demo(tmp_path: Path) -> None:
    write_state_of(tmp_path, os.getpid())  # alive, but pytest, not rundemo
    assert state.running_demo(tmp_path) == {}
    assert demo_settings(tmp_path)[0] == "redis://127.0.0.1:6379/0"


def test_settings_built_on_the_demos_never_pick_up_a_running_demo(
    tmp_path: Path, rundemo_process: subprocess.Popen[bytes]
) -> None:
    write_state_of(tmp_path, rundemo_process.pid)
    [redis_url, _] = demo_settings(tmp_path, DJANGO_SETTINGS_MODULE="tests.settings")
    assert redis_url == "redis://127.0.0.1:6379/0"


def test_the_state_file_is_private_and_only_its_writer_removes_it(tmp_path: Path) -> None:
    path = state.write_state(
        tmp_path, {"REDIS_URL": DEMO_REDIS, "DATABASE_URL": DEMO_DATABASE, "HOME": "/root"}
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "pid": os.getpid(),
        "REDIS_URL": DEMO_REDIS,
        "DATABASE_URL": DEMO_DATABASE,
    }
    write_state_of(tmp_path, os.getpid() + 1)  # another demo's now
    state.remove_state(tmp_path)
    assert path.exists()
    state.write_state(tmp_path, {"REDIS_URL": DEMO_REDIS, "DATABASE_URL": DEMO_DATABASE})
    state.remove_state(tmp_path)
    assert not path.exists()


def test_a_second_demo_from_the_same_folder_is_refused(
    tmp_path: Path, rundemo_process: subprocess.Popen[bytes]
) -> None:
    write_state_of(tmp_path, rundemo_process.pid)
    env = {
        **os.environ,
        "WEBHOOKS_RUN_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "rundemo"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        f"A demo is already running from {tmp_path} (process {rundemo_process.pid})"
        in result.stderr
    )
