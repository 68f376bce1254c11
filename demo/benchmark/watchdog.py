"""A guard that stops the benchmark's processes if the benchmark itself dies.

``python -m demo.benchmark.watchdog`` reads ``+PGID`` / ``-PGID`` lines on stdin (a
process group started / stopped) and ``@PATH`` lines (a temporary folder). When stdin closes,
which happens however the benchmark ends (even on SIGKILL), every group still registered gets
SIGTERM and, two seconds later, SIGKILL; then the folders still there are removed. A benchmark
that closes normally has stopped its groups and removed its folders itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time


def _kill(groups: set[int], signum: int) -> None:
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signum)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the benchmark
    groups: set[int] = set()
    folders: list[str] = []
    for line in sys.stdin:
        text = line.strip()
        if text[:1] == "@":
            folders.append(text[1:])
        if text[:1] == "+" and text[1:].isdigit():
            groups.add(int(text[1:]))
        elif text[:1] == "-" and text[1:].isdigit():
            groups.discard(int(text[1:]))
        elif text == "done":
            folders.clear()  # kept on purpose (--keep) or already removed
    if groups:
        _kill(groups, signal.SIGTERM)
        time.sleep(2)
        _kill(groups, signal.SIGKILL)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
