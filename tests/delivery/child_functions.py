"""Functions the isolation tests run in a child process. The child imports this module by name,
so it imports no models (the child has no app registry)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from webhooks_app.conf import conf
from webhooks_app.exceptions import TemplateRenderError


def add(a: int, b: int, *, times: int = 1) -> int:
    return (a + b) * times


def burn(pid_file: str) -> None:
    """Note this process's id, then keep a CPU busy for ever."""
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        pass


def refuse() -> None:
    raise TemplateRenderError("Error rendering body: no.")


def crash() -> None:
    raise KeyError("missing")


def die() -> None:
    os._exit(3)


def allocate(size: int) -> int:
    return len(bytearray(size))


def setting(name: str) -> Any:
    return getattr(conf, name)
