"""The benchmark's processes: its own Redis, database, web server and workers, on loopback.

Every child runs in its own process group, logs to a file in the benchmark's temporary folder
and is stopped (SIGTERM to the group, then SIGKILL) by :meth:`Harness.close`, which runs on
every way out: ``finally``, ``atexit``, and a watchdog process that stops whatever is left if
the benchmark itself is killed. Every wait is bounded.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis
from rq import Queue, Worker

from demo.benchmark.processes import (
    HOST,
    Child,
    HarnessError,
    default_db_dir,
    free_port,
    tree_pss_kb,
    tree_rss_kb,
)

__all__ = [
    "HOST",
    "Child",
    "Harness",
    "HarnessError",
    "HarnessOptions",
    "default_db_dir",
    "free_port",
    "tree_pss_kb",
    "tree_rss_kb",
]

SETTINGS_SHIM = "demo.benchmark.settings"


@dataclass
class HarnessOptions:
    base_settings: str
    database: dict[str, Any] | None = None  # DATABASES["default"]; None: a temporary SQLite file
    overrides: Mapping[str, Any] = field(default_factory=dict)
    queue: str = "default"
    keep_files: bool = False
    profile_dir: str | None = None  # record web and worker processes with py-spy into it
    db_dir: str | None = None  # where the temporary SQLite file goes; see default_db_dir()
    log: Callable[[str], None] = lambda message: None


class Harness:
    """Starts and owns every process of a benchmark run; use as a context manager."""

    def __init__(self, options: HarnessOptions) -> None:
        self.options = options
        self.queue = options.queue
        self.workdir = Path(tempfile.mkdtemp(prefix="webhooks-benchmark-"))
        self.children: list[Child] = []
        self._extra_dirs: list[Path] = []
        self.redis_port = free_port()
        self.redis_url = f"redis://{HOST}:{self.redis_port}/0"
        self.web_port = free_port()
        self.web_url = f"http://{HOST}:{self.web_port}"
        self.redis = redis.Redis(host=HOST, port=self.redis_port, socket_timeout=30)
        self.env = self._child_env()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._migrate: Child | None = None
        self._web: Child | None = None
        self._worker_count = 0
        self._closed = False
        atexit.register(self.close)

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Environment ---------------------------------------------------------------------------

    def _child_env(self) -> dict[str, str]:
        database = self.options.database or {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(self._sqlite_path()),
            # As the demo settings have it for processes sharing a file: wait for locks, take
            # the write lock at BEGIN, and let readers run while one process writes.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "CONN_MAX_AGE": 0,
        }
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS_SHIM,
            WEBHOOKS_BENCHMARK_SETTINGS=self.options.base_settings,
            WEBHOOKS_BENCHMARK_DATABASE=json.dumps(database),
            WEBHOOKS_BENCHMARK_REDIS=self.redis_url,
            WEBHOOKS_BENCHMARK_OVERRIDES=json.dumps(dict(self.options.overrides)),
            REDIS_URL=self.redis_url,
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
        )
        env.pop("DATABASE_URL", None)
        return env

    def _sqlite_path(self) -> Path:
        if self.options.db_dir is None:
            return self.workdir / "benchmark.sqlite3"
        folder = Path(tempfile.mkdtemp(prefix="webhooks-benchmark-db-", dir=self.options.db_dir))
        self._extra_dirs.append(folder)
        return folder / "benchmark.sqlite3"

    # Processes -----------------------------------------------------------------------------

    def spawn(self, name: str, argv: Sequence[str], *, stdin: int | None = None) -> Child:
        """Start ``argv`` in its own process group, output to ``<workdir>/logs/<name>.log``."""
        if self._closed:
            raise HarnessError("the harness is closed")
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdin is not None else out,
                stderr=out,
                env=self.env,
                cwd=os.getcwd(),
                start_new_session=True,
            )
        child = Child(name, process, log, on_exit=self._forget)
        self.children.append(child)
        self._tell_watchdog(f"+{process.pid}")
        return child

    def _profile(self, child: Child) -> None:
        """Record ``child`` with py-spy (collapsed stacks, <profile_dir>/<name>.txt), if asked."""
        folder = self.options.profile_dir
        if folder is None:
            return
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(binary).exists():
            raise HarnessError("--profile needs py-spy: pip install py-spy")
        Path(folder).mkdir(parents=True, exist_ok=True)
        output = Path(folder) / f"{child.name}.txt"
        argv = [binary, "record", "--pid", str(child.pid), "--subprocesses", "--nonblocking"]
        argv += ["--rate", "200", "--format", "raw", "--output", str(output)]
        child.profiler = self.spawn(f"py-spy-{child.name}", argv)

    def _forget(self, child: Child) -> None:
        self._tell_watchdog(f"-{child.pid}")
        if child in self.children:
            self.children.remove(child)

    def django(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "django", *args]

    def start(self) -> None:
        """Watchdog and Redis; then migrations and the web server, started together. Start
        other processes that need no database yet, then call :meth:`wait_started`."""
        self._start_watchdog()
        self._start_redis()
        self.options.log("Migrating the benchmark database and starting the web server...")
        self._migrate = self.spawn("migrate", self.django("migrate", "--noinput", "-v", "0"))
        self._web = self.spawn("web", self._web_argv())

    def wait_started(self) -> None:
        """Until the migrations are done and the web server answers."""
        migrate, web = self._migrate, self._web
        assert migrate is not None and web is not None, "call start() first"
        try:
            code = migrate.wait(300)
        finally:
            migrate.stop()
        if code != 0:
            raise HarnessError(f"migrate failed (exit {code}):\n{migrate.log_tail()}")
        self._wait_until(self._web_answers, 60, "the web server", web)
        self._profile(web)

    def _start_watchdog(self) -> None:
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "demo.benchmark.watchdog"],
            stdin=subprocess.PIPE,
            env=self.env,
            start_new_session=True,
        )
        for folder in [self.workdir, *self._extra_dirs]:
            self._tell_watchdog(f"@{folder}")

    def _tell_watchdog(self, line: str) -> None:
        watchdog = self._watchdog
        if watchdog is not None and watchdog.stdin is not None and watchdog.poll() is None:
            try:
                watchdog.stdin.write(line.encode() + b"\n")
                watchdog.stdin.flush()
            except OSError:
                pass

    def _start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise HarnessError("redis-server is not installed (sudo apt-get install redis-server)")
        argv = [
            binary,
            *("--bind", HOST, "--port", str(self.redis_port), "--dir", str(self.workdir)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"),
        ]
        child = self.spawn("redis", argv)
        self._wait_until(self._redis_answers, 10, "redis-server", child)

    def _redis_answers(self, child: Child) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False

    def _web_argv(self) -> list[str]:
        """The web app in one server process: gunicorn (one gthread worker) or runserver."""
        if importlib.util.find_spec("gunicorn") is None:
            return self.django("runserver", f"{HOST}:{self.web_port}", "--noreload")
        return [
            sys.executable,
            *("-m", "gunicorn", "--bind", f"{HOST}:{self.web_port}"),
            *("--workers", "1", "--worker-class", "gthread", "--threads", "2"),
            *("--keep-alive", "75", "--timeout", "300", "--log-level", "warning"),
            "demo.benchmark.wsgi:application",
        ]

    def _web_answers(self, child: Child | None = None) -> bool:
        conn = http.client.HTTPConnection(HOST, self.web_port, timeout=5)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def _wait_until(
        self, ready: Callable[[Child], bool], timeout: float, what: str, child: Child
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.running():
                raise HarnessError(f"{what} exited while starting:\n{child.log_tail()}")
            if ready(child):
                return
            time.sleep(0.05)
        raise HarnessError(f"{what} did not become ready within {timeout:g}s:\n{child.log_tail()}")

    # Workers -------------------------------------------------------------------------------

    def start_workers(
        self,
        count: int,
        *,
        worker_class: str | None = None,
        wait: bool = True,
    ) -> list[Child]:
        """``rqworker <queue>`` processes with the benchmark's settings (of ``worker_class``,
        else ``RQ["WORKER_CLASS"]``), one job at a time each, no scheduler."""
        workers: list[Child] = []
        for _ in range(count):
            self._worker_count += 1
            name = f"worker-{self._worker_count}"
            argv = self.django("rqworker", self.queue, "--name", f"benchmark-{name}")
            if worker_class:
                argv += ["--worker-class", worker_class]
            worker = self.spawn(name, argv)
            self._profile(worker)
            workers.append(worker)
        if wait:
            self.wait_registered(workers)
        return workers

    def start_pool(self, count: int) -> Child:
        """The recommended set-up, one command: ``rqworker-pool <queue> --num-workers count``
        (django-rq's pool of ``count`` forked workers of ``RQ["WORKER_CLASS"]``, each of which
        may run rq's scheduler). Returns once every worker has registered."""
        self._worker_count += 1
        name = f"pool-{self._worker_count}"
        argv = self.django("rqworker-pool", self.queue, "--num-workers", str(count))
        pool = self.spawn(name, argv)
        self._profile(pool)
        self._wait_until(lambda child: self.registered_count() >= count, 60, name, pool)
        return pool

    def registered_count(self) -> int:
        """Workers registered (and heart-beating) in Redis for the benchmark's queue."""
        return Worker.count(connection=self.redis, queue=Queue(self.queue, connection=self.redis))

    def wait_registered(self, workers: Sequence[Child], timeout: float = 60) -> None:
        """Until each worker has registered itself in Redis (it is then ready for jobs)."""
        deadline = time.monotonic() + timeout
        pending = list(workers)
        while pending and time.monotonic() < deadline:
            names = {worker.name for worker in Worker.all(connection=self.redis)}
            for child in list(pending):
                if f"benchmark-{child.name}" in names:
                    pending.remove(child)
                elif not child.running():
                    raise HarnessError(f"{child.name} exited while starting:\n{child.log_tail()}")
            time.sleep(0.05)
        if pending:
            raise HarnessError(f"{pending[0].name} did not register within {timeout:g}s")

    def stop(self, children: Sequence[Child]) -> None:
        for child in children:
            child.stop()

    def close(self) -> None:
        """Stop every process (newest first) and remove the temporary folder. Idempotent."""
        if self._closed:
            return
        self._closed = True
        profilers = {id(c.profiler) for c in self.children if c.profiler is not None}
        targets = [c for c in self.children if id(c) not in profilers]
        leftovers = [c for c in self.children if id(c) in profilers]
        for child in [*reversed(targets), *leftovers]:  # a profiler stops with its target
            try:
                child.stop()
            except Exception:  # keep stopping the others
                child.send_signal(signal.SIGKILL)
        with contextlib.suppress(redis.RedisError):
            self.redis.close()
        self._tell_watchdog("done")
        if self._watchdog is not None:
            stdin: IO[bytes] | None = self._watchdog.stdin
            if stdin is not None:
                stdin.close()
            try:
                self._watchdog.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
        if not self.options.keep_files:
            for folder in [self.workdir, *self._extra_dirs]:
                shutil.rmtree(folder, ignore_errors=True)
        atexit.unregister(self.close)
