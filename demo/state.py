"""Where a running demo's services are, for the other ``manage.py`` commands of the clone.

``manage.py rundemo`` writes ``demo.json`` into the run folder (``run/``, or
``WEBHOOKS_RUN_DIR``) when it starts: its own process id and the ``REDIS_URL`` and
``DATABASE_URL`` its processes use. It removes the file when it stops. The demo's settings read
it for every other command run with them, for each variable that the environment does not set,
so that ``manage.py webhooks_redeliver <id>`` in a second terminal reaches the demo's Redis (on
6380, not 6379) and database. Only the standard library here: the settings import it.

A file left behind by a demo that did not stop cleanly (killed, machine restarted) misleads no
one: unless its process id is a running ``rundemo``, the file is ignored (and the next
``rundemo`` replaces it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["STATE_FILE", "VARIABLES", "remove_state", "running_demo", "write_state"]

STATE_FILE = "demo.json"
VARIABLES = ("REDIS_URL", "DATABASE_URL")


def write_state(run_dir: Path, variables: Mapping[str, str]) -> Path:
    """Record this process as the running demo, with its variables (readable by the user only:
    a DATABASE_URL may hold a password)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / STATE_FILE
    partial = path.with_name(f".{STATE_FILE}.{os.getpid()}")
    state = {"pid": os.getpid(), **{name: variables[name] for name in VARIABLES}}
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(state, file, indent=2)
    os.replace(partial, path)  # readers see the old file or the new one, never half of one
    return path


def remove_state(run_dir: Path) -> None:
    """Remove the state file if this process wrote it."""
    path = run_dir / STATE_FILE
    if read_state(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def running_demo(run_dir: Path) -> dict[str, Any]:
    """The state of the demo running from ``run_dir`` (``pid`` and its variables), or ``{}``
    when none runs there."""
    state = read_state(run_dir / STATE_FILE)
    pid = state.get("pid")
    if not isinstance(pid, int) or not is_rundemo(pid):
        return {}
    return {"pid": pid} | {
        name: state[name] for name in VARIABLES if isinstance(state.get(name), str)
    }


def is_rundemo(pid: int) -> bool:
    """Whether ``pid`` is a running ``manage.py rundemo`` (not a process that reused the id)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): a live process id is taken as the demo
    return b"rundemo" in command_line.split(b"\0")
