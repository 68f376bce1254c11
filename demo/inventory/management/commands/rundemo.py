"""``manage.py rundemo`` (``make demo``): Redis, web server, workers and receiver in one terminal.

Starts a private Redis on 127.0.0.1 (data under ``run/redis/``), migrates, seeds the demo data,
then runs the web server, a pool of RQ workers (``rqworker-pool``, as in production) and the
webhook receiver with prefixed output until Ctrl-C. See :mod:`demo.supervisor`.

While it runs, ``run/demo.json`` tells the clone's other ``manage.py`` commands where the demo's
Redis and database are (see :mod:`demo.state`).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from rest_framework.authtoken.models import Token

from demo import state
from demo.inventory import seeding
from demo.supervisor import ProcessSpec, StartError, Supervisor

HOST = "127.0.0.1"
REDIS_MISSING = "redis-server is not installed; run `sudo apt-get install redis-server`"
WORKERS = 2  # processes of the demo's worker pool


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port``: as the servers do, ignoring the connections
    of a previous run still closing (TIME_WAIT), so that the demo restarts at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def redis_answers(port: int) -> bool:
    """True when a Redis server on ``port`` answers PING."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def manage(*args: str) -> list[str]:
    """The command line of ``manage.py`` with ``args``, run by this Python."""
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]


class Command(BaseCommand):
    help = (
        "Run the demo: a private Redis, migrations and demo data, then the web server, a pool of "
        "RQ workers and the webhook receiver, until Ctrl-C."
    )
    requires_system_checks: list[str] = []  # each child runs them

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="Web server port (8000; make demo PORT=...)."
        )
        parser.add_argument(
            "--redis-port",
            type=int,
            default=6380,
            help="Port of the demo's own Redis (6380, so a system Redis on 6379 is untouched; "
            "make demo REDIS_PORT=...).",
        )
        parser.add_argument(
            "--receiver-port",
            type=int,
            default=9000,
            help="Webhook receiver port (9000; make demo RECEIVER_PORT=...).",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not run RQ workers.")
        parser.add_argument(
            "--no-receiver", action="store_true", help="Do not run the webhook receiver."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise CommandError(REDIS_MISSING)
        port: int = options["port"]
        redis_port: int = options["redis_port"]
        receiver_port: int = options["receiver_port"]
        with_receiver = not options["no_receiver"]
        if with_receiver and "webhook_receiver" not in get_commands():
            self.stderr.write("The webhook_receiver command is missing: running without it.")
            with_receiver = False
        run_dir: Path = settings.RUN_DIR
        if running := state.running_demo(run_dir):
            raise CommandError(
                f"A demo is already running from {run_dir} (process {running['pid']}): stop it "
                "first, or run this one with another WEBHOOKS_RUN_DIR."
            )
        self.check_ports({"--port": port, "--redis-port": redis_port}, receiver_port, with_receiver)

        redis_dir = run_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Explicit for every child, whatever a state file says.
        env["REDIS_URL"] = f"redis://{HOST}:{redis_port}/0"
        env["DATABASE_URL"] = settings.DATABASE_URL
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("LOG_FORMAT", "plain")  # a terminal, not a log collector
        supervisor = Supervisor(env=env, cwd=settings.BASE_DIR, write=self.write_line)

        redis = ProcessSpec(
            "redis",
            [
                redis_server,
                *("--bind", HOST, "--port", str(redis_port), "--dir", str(redis_dir)),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *("--loglevel", "warning"),
            ],
            ready=lambda: redis_answers(redis_port),
        )
        tasks = [
            ProcessSpec("migrate", manage("migrate", "--noinput")),
            ProcessSpec("static", manage("collectstatic", "--noinput", "--verbosity", "0")),
            ProcessSpec("seed", manage("seed_demo", "--receiver-port", str(receiver_port))),
        ]
        services = [ProcessSpec("web", manage("runserver", f"{HOST}:{port}", "--noreload"))]
        if not options["no_worker"]:
            pool = manage("rqworker-pool", "default", "--num-workers", str(WORKERS))
            services.append(ProcessSpec("worker", pool))
        if with_receiver:
            receiver_args = ("--port", str(receiver_port), "--secret", seeding.WEBHOOK_SECRET)
            services.append(ProcessSpec("receiver", manage("webhook_receiver", *receiver_args)))

        state.write_state(run_dir, env)
        with supervisor.signals_handled():
            try:
                self.run_demo(supervisor, redis, tasks, services, port, redis_port, with_receiver)
            finally:
                supervisor.stop_all()
                state.remove_state(run_dir)
        self.write_line("Demo stopped.")

    def write_line(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def check_ports(self, ports: dict[str, int], receiver_port: int, with_receiver: bool) -> None:
        if with_receiver:
            ports["--receiver-port"] = receiver_port
        if len(set(ports.values())) != len(ports):
            raise CommandError(f"The ports must differ: {ports}.")
        for flag, number in ports.items():
            if not port_is_free(number):
                variable = flag.removeprefix("--").replace("-", "_").upper()
                raise CommandError(
                    f"Port {number} on {HOST} is in use; choose another with {flag} "
                    f"(make demo {variable}=...)."
                )

    def run_demo(
        self,
        supervisor: Supervisor,
        redis: ProcessSpec,
        tasks: list[ProcessSpec],
        services: list[ProcessSpec],
        port: int,
        redis_port: int,
        with_receiver: bool,
    ) -> None:
        """Start everything, then wait; returns on a stop request, raises if a child fails."""
        try:
            supervisor.start(redis)
        except StartError as exc:
            raise CommandError(f"Redis did not start: {exc}.") from exc
        for task in tasks:
            if supervisor.stop_requested:
                return
            code = supervisor.run(task)
            if code is None:
                return
            if code != 0:
                raise CommandError(f"{task.name} failed with exit code {code}; demo stopped.")
        for service in services:
            supervisor.start(service)
        self.print_banner(port, redis_port, with_receiver)
        exited = supervisor.wait()
        if exited is not None:
            name, code = exited
            message = f"{name} exited unexpectedly with code {code}; stopping the demo."
            supervisor.emit(message)
            raise CommandError(message)

    def print_banner(self, port: int, redis_port: int, with_receiver: bool) -> None:
        web = f"http://{HOST}:{port}"
        token = self.admin_token()
        lines = [
            "=" * 72,
            "The demo is starting. Log in as admin / admin (created on the first run).",
            f"  Admin:     {web}/admin/",
            f"  API:       {web}/api/inventory/  (header  Authorization: Token {token})",
            f"  API docs:  {web}/api/docs/  (ReDoc: {web}/api/redoc/)",
            f"  Webhooks:  {web}/api/webhooks/",
            f"  Redis:     redis://{HOST}:{redis_port}/0",
        ]
        if with_receiver:
            lines.append(
                "  Receiver:  deliveries of the 'Demo receiver' webhook appear as 'receiver |' lines."
            )
        lines += [
            "Other manage.py commands of this clone use the demo's Redis and database meanwhile.",
            "Press Ctrl-C to stop.",
            "=" * 72,
        ]
        for line in lines:
            self.write_line(line)

    def admin_token(self) -> str:
        try:
            key = (
                Token.objects.filter(user__username=seeding.ADMIN_USERNAME)
                .values_list("key", flat=True)
                .first()
            )
        finally:
            connections.close_all()  # do not hold the SQLite file open next to the children
        return key or "<run manage.py create_demo_token admin>"
