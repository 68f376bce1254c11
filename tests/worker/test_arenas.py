"""A worker process's threads share one malloc arena (glibc), so that bursts of sending threads
do not leave their memory behind; MALLOC_ARENA_MAX from the environment wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webhooks_app.worker.arenas import limit_malloc_arenas

REPO = Path(__file__).resolve().parent.parent

# Eight threads allocate while all are alive, then the process counts glibc's arenas.
PROBE = """
import ctypes, re, sys, tempfile, threading
if sys.argv[1] == "worker":
    import os
    from redis import Redis
    from rq import Queue
    from webhooks_app.worker import WebhookWorker
    redis = Redis.from_url(os.environ["REDIS_URL"])
    WebhookWorker([Queue("probe", connection=redis)], connection=redis)
barrier = threading.Barrier(8)
kept = []
def work():
    kept.append([bytearray(5000) for _ in range(200)])
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile() as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(len(re.findall(r'<heap nr="[0-9]+"', open(out.name).read())))
"""

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc only",
)


def arenas_used(mode: str, **env: str) -> int:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    environment.update(DJANGO_SETTINGS_MODULE="demo.settings", **env)
    setup = "import django; django.setup()\n"
    result = subprocess.run(
        [sys.executable, "-c", setup + PROBE, mode],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(result.stdout.split()[-1])


def test_threads_of_a_plain_process_get_arenas_of_their_own() -> None:
    assert arenas_used("plain") > 1


def test_threads_of_a_webhook_worker_process_share_one_arena() -> None:
    assert arenas_used("worker") == 1


def test_malloc_arena_max_from_the_environment_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
    assert arenas_used("worker", MALLOC_ARENA_MAX="4") > 1
