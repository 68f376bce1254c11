"""Running one render in a child process that is killed at a time limit.

Previews and test sends render templates that a user with the change permission on webhooks
wrote, in the web process. A template can keep a CPU busy for as long as it likes (nested loops
over ``range``, one multiplication of two huge integers, a sort), and the sandbox bounds only the
size of what it builds. Nothing can stop such work inside the web process: Python cannot stop a
thread, ``SIGALRM`` reaches only the main thread (web servers render in other threads), and a
deadline checked in the sandbox's hooks is never reached inside one long C call or a loop with
no call in it. A process can be stopped at any instant, and everything it held goes with it.

So the render runs in a child process that gets ``limit`` seconds; past them it is killed
(``SIGKILL``) and :class:`~webhooks_app.exceptions.TimeLimitError` says so, and the web process
is free again. The child is forked by multiprocessing's ``forkserver``, a server process
started on first use that has the rendering modules imported already (:data:`PRELOAD`): a child
starts in a few tens of milliseconds, and it is never a fork of the threaded web process
itself. Its address space is capped too (:data:`MEMORY_HEADROOM` above what it starts with), so
a render that allocates without end fails with ``MemoryError`` in the child instead of pressing
on the host.

The child renders with the settings of the calling process: every ``WEBHOOKS_*`` setting is
copied to it (those that can be pickled; the others it reads from its own settings module, the
``DJANGO_SETTINGS_MODULE`` it inherited). What it renders must not need the database: the
payload callbacks run in the calling process (:mod:`.time_limited`).

This module and what it runs import no models, so the child needs no ``django.setup()``. As
for any use of multiprocessing's ``forkserver`` or ``spawn``, the child imports the main module
of the web process again (as ``__mp_main__``), so that module must be safe to import: it is for
``manage.py``, gunicorn's, uWSGI's and the ASGI servers' entry points (``if __name__ ==
"__main__":``). A preview takes 20 to 40 ms more than in the web process (measured: the first
one in a process about 0.3 s, the forkserver's start).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import Any, TypeVar, cast

from webhooks_app.conf import conf
from webhooks_app.exceptions import TimeLimitError, UnexpectedError, WebhookError

__all__ = ["MEMORY_HEADROOM", "PRELOAD", "STARTUP_TIMEOUT", "run_in_child"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

PRELOAD = ["webhooks_app.delivery.isolation", "webhooks_app.delivery.rendering"]
# A child that has not started within this time is given up (a starved machine, not a template).
STARTUP_TIMEOUT = 30.0
MEMORY_HEADROOM = 1 << 30

_lock = threading.Lock()
_context: ForkServerContext | SpawnContext | None = None


def _multiprocessing() -> ForkServerContext | SpawnContext:
    global _context
    with _lock:
        if _context is None:
            try:
                forkserver = multiprocessing.get_context("forkserver")
            except ValueError:  # no forkserver on this platform: a fresh interpreter each time
                _context = multiprocessing.get_context("spawn")
            else:
                forkserver.set_forkserver_preload(PRELOAD)
                _context = forkserver
        return _context


def run_in_child(func: Callable[..., T], *args: Any, limit: float, what: str, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a child process, killed after ``limit`` seconds. ``func``
    (a module-level function), its arguments and its result cross by pickling. Raises what
    ``func`` raised if it is a ``WebhookError``, ``TimeLimitError`` past the limit (``what``
    names the work: ``"Rendering"``), ``UnexpectedError`` for anything else."""
    context = _multiprocessing()
    receiving, sending = context.Pipe(duplex=False)
    snapshot = _settings_snapshot()
    process = context.Process(
        target=_child,
        args=(sending, snapshot, func, args, kwargs),
        name="webhooks-render",
        daemon=True,
    )
    try:
        try:
            process.start()
        except Exception as exc:  # what the arguments hold cannot be pickled
            raise WebhookError(
                f"{what} cannot be done in a separate process: {type(exc).__name__}: {exc}"
            ) from exc
        sending.close()  # the child's end only: a child that dies ends the pipe
        return cast(T, _answer(receiving, process, limit, what))
    finally:
        if process.is_alive():
            process.kill()
        if process.pid is not None:
            process.join()
            process.close()
        sending.close()
        receiving.close()


def _answer(receiving: Connection, process: Any, limit: float, what: str) -> Any:
    try:
        if not receiving.poll(STARTUP_TIMEOUT):
            raise UnexpectedError(f"The process for {what.lower()} did not start.")
        receiving.recv()  # ready: the limit counts from here
        if not receiving.poll(limit):
            raise TimeLimitError(
                f"{what} took longer than the limit of {limit:g} s "
                "(WEBHOOKS_PREVIEW_TIME_LIMIT) and was stopped."
            )
        kind, value, details = receiving.recv()
    except EOFError:
        process.join()
        raise UnexpectedError(
            f"The process for {what.lower()} ended unexpectedly (exit code {process.exitcode})."
        ) from None
    except (pickle.UnpicklingError, TypeError, AttributeError, ImportError) as exc:
        raise UnexpectedError.from_exception(exc, f"reading the outcome of {what.lower()}") from exc
    if kind == "ok":
        return value
    if kind == "bug":
        logger.error("Bug in a child process (%s): %s\n%s", what.lower(), value, details)
        raise UnexpectedError(value)
    raise value


def _settings_snapshot() -> dict[str, Any]:
    """Every ``WEBHOOKS_*`` setting (as :mod:`webhooks_app.conf` reads it) that pickles."""
    snapshot = {}
    for name in dir(type(conf)):
        if not name.startswith("WEBHOOKS_"):
            continue
        value = getattr(conf, name)
        try:
            pickle.dumps(value)
        except Exception:  # a lambda, say: the child reads its settings module's own
            logger.debug("Setting %s cannot be passed to a child process", name)
            continue
        snapshot[name] = value
    return snapshot


def _child(
    sending: Connection,
    snapshot: dict[str, Any],
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """The child: limit memory, take the settings, say it is ready, run, send the outcome."""
    try:
        _limit_memory()
        _apply_settings(snapshot)
        sending.send(("ready", None, None))
        outcome: tuple[str, Any, Any] = ("ok", func(*args, **kwargs), None)
    except UnexpectedError as exc:
        outcome = ("bug", str(exc), "".join(traceback.format_exception(exc)))
    except WebhookError as exc:
        outcome = ("error", exc, None)
    except Exception as exc:
        error = UnexpectedError.from_exception(exc, "rendering")
        outcome = ("bug", str(error), "".join(traceback.format_exception(exc)))
    try:
        sending.send(outcome)
    except Exception as exc:  # an exception or a result that does not pickle
        sending.send(("bug", f"The outcome could not be sent back ({exc!r}).", ""))
    sending.close()


def _apply_settings(snapshot: dict[str, Any]) -> None:
    from django.conf import ENVIRONMENT_VARIABLE, settings

    if not settings.configured and not os.environ.get(ENVIRONMENT_VARIABLE):
        settings.configure()
    for name, value in snapshot.items():
        setattr(settings, name, value)


def _limit_memory() -> None:
    """Cap the child's address space at what it has now plus :data:`MEMORY_HEADROOM`."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return  # not Linux: no cap
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
