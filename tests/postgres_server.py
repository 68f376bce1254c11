"""Pytest plugin: a private, throwaway PostgreSQL server for the session.

Load it with ``-p tests.postgres_server``; it does nothing unless ``WEBHOOKS_TEST_POSTGRES=1``.
Like ``tests.redis_server`` it runs before pytest-django imports the settings: it creates a
cluster under ``run/pg-<port>/`` in the repository (``initdb``, password authentication, TCP on
127.0.0.1 only, no Unix socket), starts ``postgres`` on a free port, creates the ``webhooks``
database and exports ``DATABASE_URL`` (worker subprocesses inherit it). It stops the server and
deletes the folder when the session ends.

PostgreSQL refuses to run as root, so when we are root the server runs as the unprivileged
system user ``webhooks-pg`` (created with ``useradd --system`` if missing); otherwise it runs as
the current user. The binaries come from Debian's ``postgresql`` package
(``scripts/ensure-system-deps.sh postgresql`` installs it), ``pg_config --bindir`` or ``PATH``.

While active, only the tests that use the database run: the rest do not depend on it and
already ran on SQLite.

No test can leave the database locked for the next one: before each test's teardown, sessions
of other processes or threads still inside a transaction on the test database (a worker or
thread the test left behind) are terminated, so that pytest-django's flush (``TRUNCATE``) or
``DROP DATABASE`` cannot wait for them forever; the run's summary lists the tests that leaked
one. The server gets SIGINT (PostgreSQL's fast shutdown) if the pytest process dies without
stopping it.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.redis_server import free_port

ENV_FLAG = "WEBHOOKS_TEST_POSTGRES"
SYSTEM_USER = "webhooks-pg"
DB_USER = "webhooks"
DB_NAME = "webhooks"
REPO_DIR = Path(__file__).resolve().parent.parent
DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)
# A throwaway cluster: durability is not the point, speed is.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


PR_SET_PDEATHSIG = 1
# Sessions on the test database that hold a transaction, other than the given ones.
LEFT_IN_TRANSACTION = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = %(db)s AND pid <> ALL(%(keep)s) AND (%(all)s OR xact_start IS NOT NULL)
"""


def _die_with_parent() -> None:
    """In the server's process before exec: fast shutdown if the pytest process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)


def is_active() -> bool:
    return os.environ.get(ENV_FLAG, "").strip().lower() in {"1", "true", "yes", "on"}


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres``: the newest Debian cluster version first."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(found.stdout.strip()))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise pytest.UsageError(
        "PostgreSQL is not installed: run `make test`, or "
        "`bash scripts/ensure-system-deps.sh postgresql`, which installs it."
    )


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    created = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SYSTEM_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:  # a concurrent session may have created it first
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise pytest.UsageError(
            f"Could not create the system user {SYSTEM_USER!r} for PostgreSQL: {created.stderr}"
        ) from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_clusters(root: Path) -> None:
    """Delete ``pg-*`` folders left by sessions that were killed, if their server is gone."""
    for folder in root.glob("pg-*"):
        pidfile = folder / "data" / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        started = folder.stat().st_mtime
        if (pid and _pid_alive(pid)) or (not pid and time.time() - started < 120):
            continue  # a live server, or one being set up by a concurrent session
        shutil.rmtree(folder, ignore_errors=True)


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1, owned by this session."""

    def __init__(self, root: Path, settings: dict[str, str] | None = None) -> None:
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self.bindir = find_bindir()
        self.account = server_account()
        self.root = root
        self.port = free_port()
        self.dir = root / f"pg-{self.port}"
        self.password = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None
        self.version = ""
        self._admin: psycopg.Connection[Any] | None = None

    @property
    def url(self) -> str:
        return f"postgres://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{DB_NAME}"

    def _as_server_user(self) -> dict[str, Any]:
        if self.account is None:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def _give(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _open_the_way(self) -> None:
        """Let the server's account traverse the folders above the repo's run folder (a clone
        in a private folder, such as one from ``mktemp -d``, is closed to other users): add
        search permission, never read permission, to the folders this process owns."""
        if self.account is None:
            return
        for folder in [self.root, *self.root.parents]:
            mode = folder.stat().st_mode
            if mode & stat.S_IXOTH or folder.stat().st_uid != os.getuid():
                continue
            os.chmod(folder, mode | stat.S_IXOTH)
            print(f"postgres_server: allowed other users to traverse {folder}", file=sys.stderr)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._open_the_way()
        remove_stale_clusters(self.root)
        self.dir.mkdir(mode=0o700)
        self._give(self.dir)
        self._initdb()
        log = (self.dir / "server.log").open("ab")
        settings = [f"--{key}={value}" for key, value in self.settings.items()]
        with log:
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port)]
                + settings,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                preexec_fn=_die_with_parent,  # runs after the switch to the server's user
                **self._as_server_user(),
            )
        self._wait_until_ready()

    def _initdb(self) -> None:
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._give(pwfile)
        try:
            done = subprocess.run(
                [
                    str(self.bindir / "initdb"),
                    "--pgdata",
                    str(self.dir / "data"),
                    "--username",
                    DB_USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                capture_output=True,
                text=True,
                check=False,
                cwd=self.dir,
                **self._as_server_user(),
            )
        finally:
            pwfile.unlink()
        if done.returncode != 0:
            user = self.account.pw_name if self.account else "the current user"
            raise RuntimeError(
                f"initdb failed (running as {user}; it needs to reach {self.dir}):\n"
                f"{done.stdout}{done.stderr}"
            )

    def _connect(self, dbname: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=DB_USER,
            password=self.password,
            dbname=dbname,
            connect_timeout=2,
            autocommit=True,
        )

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60
        while True:
            try:
                with self._connect("postgres") as conn:
                    conn.execute(f'CREATE DATABASE "{DB_NAME}"')
                    number = conn.info.server_version  # e.g. 150018 for 15.18
                    self.version = f"{number // 10000}.{number % 10000}"
                    return
            except psycopg.OperationalError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = (self.dir / "server.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"PostgreSQL did not start: {exc}\n{log}") from exc
                time.sleep(0.1)

    def terminate_sessions(self, dbname: str, keep: list[int], *, idle_too: bool) -> int:
        """End the sessions on ``dbname`` that are in a transaction (all of them with
        ``idle_too``), except the backends in ``keep``; how many there were."""
        if self._admin is None or self._admin.closed:
            self._admin = self._connect("postgres")
        params = {"db": dbname, "keep": keep, "all": idle_too}
        pids = [pid for (pid,) in self._admin.execute(LEFT_IN_TRANSACTION, params)]
        for pid in pids:
            self._admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
        return len(pids)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


_server: PostgresServer | None = None


def get_server() -> PostgresServer | None:
    """The session's server, or None when the PostgreSQL run is not active."""
    return _server


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    global _server
    if is_active():
        run_dir = Path(os.environ.get("WEBHOOKS_RUN_DIR", REPO_DIR / "run"))
        _server = PostgresServer(run_dir)
        try:
            _server.start()
        except BaseException:
            _server.close()
            _server = None
            raise
        os.environ["DATABASE_URL"] = _server.url
    return (yield)


def pytest_report_header(config: pytest.Config) -> str | None:
    if _server is None:
        return None
    return f"postgresql: server {_server.version} on 127.0.0.1:{_server.port} in {_server.dir}"


def uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    return bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _server is None:
        return
    keep = [item for item in items if uses_database(item)]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
        items[:] = keep


_leaks: list[tuple[str, int]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Before the test's fixtures are torn down: end what it left inside a transaction (after
    the last test, every other session, so that the test database can be dropped)."""
    if _server is None or not uses_database(item):
        return
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"]:
        return
    keep = [connection.connection.info.backend_pid] if connection.connection is not None else []
    ended = _server.terminate_sessions(
        connection.settings_dict["NAME"], keep, idle_too=nextitem is None
    )
    if ended and nextitem is not None:
        _leaks.append((item.nodeid, ended))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for nodeid, count in _leaks:
        terminalreporter.write_line(
            f"postgres_server: {nodeid} left {count} session(s) in a transaction (terminated)"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    global _server
    if _server is not None:
        _server.close()
        _server = None
