"""One malloc arena for a worker process, so that its memory stays flat after bursts of threads.

glibc gives threads their own malloc arenas (up to 8 per core) and hardly ever hands their
freed memory back to the system. A worker that runs jobs to slow receivers in many sending
threads at once thus kept the memory of every such burst: measured here, a burst of 80 sending
threads left 15-35 MB more resident for good, while with one arena the same burst left none
(Python holds the GIL around nearly every allocation, so the threads hardly contend for the
arena's lock). A ``MALLOC_ARENA_MAX`` set in the environment is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

__all__ = ["M_ARENA_MAX", "limit_malloc_arenas"]

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt() parameter number


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """Limit glibc's malloc to ``arenas`` arenas for the threads started from now on; whether
    it did (False on a C library without mallopt, or when the environment says otherwise)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_ARENA_MAX, arenas))
    if not done:
        logger.debug("mallopt(M_ARENA_MAX, %d) was refused", arenas)
    return done
