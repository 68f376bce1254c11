"""``manage.py webhook_receiver``: print the webhooks sent to a local HTTP listener.

Keeps NetBox's behaviour (``--port``, ``--no-headers``, pretty JSON, numbered requests) and adds
signature checks, scripted failures and delays. The server lives in ``webhooks_app.receiver``.
"""

from __future__ import annotations

import errno
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from webhooks_app.receiver import Receiver


class Command(BaseCommand):
    help = "Listen for webhooks on a local port and print each request received."
    # A debugging tool: it must start even when the project's checks or database are not ready.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=9000, help="TCP port (default: 9000).")
        parser.add_argument(
            "--bind",
            default="127.0.0.1",
            help="Address to listen on (default: 127.0.0.1). Use 0.0.0.0 only inside a container.",
        )
        parser.add_argument(
            "--no-headers",
            action="store_true",
            dest="no_headers",
            help="Hide the request headers.",
        )
        parser.add_argument(
            "--secret",
            action="append",
            default=None,
            help="Verify X-Hook-Signature (or X-Hook-Signature-Next, during a rotation) and "
            "Standard Webhooks signatures with this secret. Give it more than once to accept "
            "any of several secrets (the old and the new one while a secret is rotated).",
        )
        parser.add_argument(
            "--status", type=int, default=200, help="Status code to answer with (default: 200)."
        )
        parser.add_argument(
            "--fail-rate",
            type=float,
            default=0.0,
            help="Fraction of requests (0 to 1) answered with 503 instead (default: 0).",
        )
        parser.add_argument(
            "--delay",
            type=float,
            default=0.0,
            help="Seconds to wait before answering each request (default: 0).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        receiver = self.build_receiver(options)
        self.listen(receiver)
        check = "on" if receiver.secrets else "off"
        if len(receiver.secrets) > 1:
            check += f", {len(receiver.secrets)} secrets"
        quit_key = "CTRL-BREAK" if sys.platform == "win32" else "CONTROL-C"
        self.stdout.write(
            f"Listening on {receiver.url} (signature check: {check}). Stop with {quit_key}."
        )
        self.stdout.flush()
        receiver.serve_forever()
        self.stdout.write("\nExiting...")

    def build_receiver(self, options: dict[str, Any]) -> Receiver:
        try:
            return Receiver(
                host=options["bind"],
                port=options["port"],
                secret=options["secret"],
                status=options["status"],
                fail_rate=options["fail_rate"],
                delay=options["delay"],
                output=self.stdout,
                show_headers=not options["no_headers"],
            )
        except ValueError as exc:  # the receiver validates its own settings
            raise CommandError(f"Invalid option: {exc}") from exc

    def listen(self, receiver: Receiver) -> None:
        try:
            receiver.bind()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "the port is already in use; choose another with --port"
            else:
                reason = exc.strerror or str(exc)
            raise CommandError(f"Cannot listen on {receiver.url}: {reason}.") from exc
