"""A loopback HTTP receiver for webhooks: ``manage.py webhook_receiver``, tests and benchmarks.

Standard library only: ``ThreadingHTTPServer``, HTTP/1.1 keep-alive, a daemon thread per connection.
Signatures are checked with one secret or several, following the rotation rule
(:func:`~webhooks_app.signing.check_request_signatures`).
"""

from __future__ import annotations

import json
import math
import random
import socket
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self

from webhooks_app.signing import check_request_signatures

__all__ = ["ReceivedRequest", "Receiver", "ReceiverTimeout", "ScriptedResponse", "TextSink"]

ScriptedResponse = int | tuple[int, dict[str, str]]
"""One scripted answer: a status code, or a status code and extra response headers."""

_MAX_LINE = 65536
_VERDICTS = {True: "valid", False: "INVALID", None: "missing"}


class TextSink(Protocol):
    """Where output goes: any text stream, or a management command's ``self.stdout``."""

    def write(self, s: str, /) -> object: ...

    def flush(self) -> object: ...


class ReceiverTimeout(AssertionError, TimeoutError):
    """``Receiver.wait_for`` gave up: both a failed assertion and a timeout."""


@dataclass(frozen=True)
class ReceivedRequest:
    number: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    signature_valid: bool | None
    standard_signature_valid: bool | None
    status: int

    def header(self, name: str) -> str | None:
        """The value of a request header, looked up case-insensitively."""
        return {key.lower(): value for key, value in self.headers.items()}.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


def _check(name: str, value: float, low: float, high: float = math.inf) -> None:
    if not low <= value <= high:
        bounds = f"between {low:g} and {high:g}" if high < math.inf else f"at least {low:g}"
        raise ValueError(f"{name} must be {bounds}, got {value:g}.")


def _response_text(status: int) -> bytes:
    if 200 <= status < 300:
        return b"Webhook received!\n"
    phrase = next((known.phrase for known in HTTPStatus if known == status), "Error")
    return f"{status} {phrase}\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_port = False  # never share a port with another listener
    request_queue_size = socket.SOMAXCONN  # the default 5 resets connections under load

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (or stop() mid-request) is not worth a traceback on stderr."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else a body waits ~40 ms for the ACK of the headers
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.receiver.track_connection(self.connection, opened=True)

    def finish(self) -> None:
        self.server.receiver.track_connection(self.connection, opened=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's access log on stderr; the receiver writes its own."""

    def handle_request(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed request body")
            return
        request, extra_headers, delay = self.server.receiver.record(self, body)
        time.sleep(delay)
        no_body = request.status < 200 or request.status in (204, 304)
        payload = b"" if no_body else _response_text(request.status)
        try:
            self.send_response(request.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client went away; still report what arrived
        self.server.receiver.report(request, self.client_address[0], self.requestline)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_request

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip(), 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE)  # the CRLF closing the chunk
            while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields are ignored
            return b"".join(chunks)
        if (length := int(self.headers.get("Content-Length") or 0)) < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)


class Receiver:
    """An HTTP server on loopback that records, checks, answers and optionally prints webhooks.

    Requests are recorded as soon as read (before any delay); output is written after answering.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret: str | Sequence[str] | None = None,
        status: int = 200,
        fail_rate: float = 0.0,
        delay: float = 0.0,
        output: TextSink | None = None,
        show_headers: bool = True,
        keep: bool = True,
        seed: int | None = None,
    ) -> None:
        _check("port", port, 0, 65535)
        _check("status", status, 100, 599)
        _check("fail_rate", fail_rate, 0.0, 1.0)
        _check("delay", delay, 0.0)
        self.host = host
        given = [secret] if isinstance(secret, str) else list(secret or ())
        # Every secret a signature may be made with (several while a secret is rotated).
        self.secrets = tuple(value for value in given if value)
        self.secret = self.secrets[0] if self.secrets else None
        self.fail_rate = fail_rate
        self.output = output
        self.show_headers = show_headers
        self.keep = keep
        self._port = port
        self._status = status
        self._delay = delay
        self._random = random.Random(seed)
        self._script: list[ScriptedResponse] = []
        self._requests: list[ReceivedRequest] = []
        self._received = 0  # since the last clear(), counted even when keep=False
        self._last_number = 0  # never reset, so numbers in the output stay unambiguous
        self._changed = threading.Condition()
        self._output_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False

    def bind(self) -> None:
        """Open the listening socket (idempotent). Raises OSError, e.g. when the port is taken."""
        if self._server is None:
            self._server = _Server((self.host, self._port), self)
            self._port = int(self._server.server_address[1])  # kept after stop(); reused by start()

    def start(self) -> Self:
        """Serve in a background daemon thread."""
        self.bind()
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(target=self._serve, daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() is called or Ctrl-C is pressed."""
        self.bind()
        self._serving = True
        try:
            with suppress(KeyboardInterrupt):
                self._serve()
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, drop open connections and close the socket (idempotent)."""
        if (server := self._server) is not None and self._serving:
            server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.05)
        finally:
            self._serving = False

    def _close(self) -> None:
        with self._changed:
            server, self._server = self._server, None
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # wakes handlers waiting on keep-alive
        if server is not None:
            server.server_close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A snapshot of the recorded requests, oldest first."""
        with self._changed:
            return list(self._requests)

    @property
    def received_count(self) -> int:
        """Requests received since the last clear(), whether kept or not."""
        with self._changed:
            return self._received

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until ``count`` requests have arrived; returns the recorded requests."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._received >= count, timeout):
                seen = ", ".join(f"{r.method} {r.path} -> {r.status}" for r in self._requests)
                raise ReceiverTimeout(
                    f"Expected {count} request(s) at {self.url} within {timeout:g}s, "
                    f"received {self._received}" + (f": {seen}" if seen else ".")
                )
            return list(self._requests)

    def clear(self) -> None:
        """Forget recorded requests (numbering in the output continues)."""
        with self._changed:
            self._requests.clear()
            self._received = 0

    def set_responses(self, statuses: Sequence[ScriptedResponse]) -> None:
        """Answer the next requests with these, one each, then fall back to the default status."""
        for item in statuses:
            _check("status", item[0] if isinstance(item, tuple) else item, 100, 599)
        with self._changed:
            self._script = list(statuses)

    def set_status(self, code: int) -> None:
        _check("status", code, 100, 599)
        self._status = code

    def set_delay(self, seconds: float) -> None:
        _check("delay", seconds, 0.0)
        self._delay = seconds

    def track_connection(self, connection: socket.socket, *, opened: bool) -> None:
        """For the handler: a connection opened or closed (stop() shuts the open ones down)."""
        with self._changed:
            (self._connections.add if opened else self._connections.discard)(connection)

    def _next_answer(self) -> tuple[int, dict[str, str]]:
        if self._script:
            item = self._script.pop(0)
            return item if isinstance(item, tuple) else (item, {})
        if self.fail_rate and self._random.random() < self.fail_rate:
            return HTTPStatus.SERVICE_UNAVAILABLE.value, {}
        return self._status, {}

    def record(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[ReceivedRequest, dict[str, str], float]:
        """For the handler: number, check and record a request just read; its answer and delay."""
        headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        signature_valid, standard_valid = check_request_signatures(self.secrets, headers, body)
        with self._changed:
            status, extra_headers = self._next_answer()
            self._last_number += 1
            request = ReceivedRequest(
                number=self._last_number,
                method=handler.command,
                path=handler.path,
                headers=headers,
                body=body,
                received_at=time.time(),
                signature_valid=signature_valid,
                standard_signature_valid=standard_valid,
                status=status,
            )
            if self.keep:
                self._requests.append(request)
            self._received += 1
            self._changed.notify_all()
            return request, extra_headers, self._delay

    def report(self, request: ReceivedRequest, client: str, request_line: str) -> None:
        """For the handler, once it has answered: write the request to ``output``, if any."""
        if self.output is None:
            return
        date = formatdate(usegmt=True)  # the HTTP date, as NetBox prints it
        lines = [f'[{request.number}] {date} {client} "{request_line}" {request.status} -']
        if self.show_headers:
            lines.extend(f"{name}: {value}" for name, value in request.headers.items())
            lines.append("")
        lines.extend(_describe_body(request))
        if self.secrets:
            lines.append(f"Signature: {_VERDICTS[request.signature_valid]}")
            if (standard := request.standard_signature_valid) is not None:
                lines.append(f"Standard Webhooks signature: {_VERDICTS[standard]}")
        lines.extend([f"Completed request #{request.number}", "-" * 12])
        with self._output_lock:
            self.output.write("\n".join(lines) + "\n")
            self.output.flush()


def _describe_body(request: ReceivedRequest) -> list[str]:
    """The body as output lines: pretty JSON, text, or a note."""
    if not request.body:
        return ["(No body)"]
    content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return [json.dumps(request.json(), indent=4)]
        except ValueError as exc:
            return [f"Invalid JSON: {exc}", request.body.decode("utf-8", errors="replace")]
    try:
        return [request.body.decode("utf-8")]
    except UnicodeDecodeError:
        return [f"({len(request.body)} bytes of binary data)"]
