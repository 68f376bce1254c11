"""A small HTTP/1.1 server on 127.0.0.1 for the transport's tests: it notes the connection
(client port) each request came on and, over TLS, the server name the client asked for."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["Loopback", "Seen"]


@dataclass(frozen=True)
class Seen:
    client_port: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def handle_one(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        loopback = self.server.loopback
        loopback.note(
            Seen(self.client_address[1], self.command, self.path, dict(self.headers), body)
        )
        if loopback.delay:
            time.sleep(loopback.delay)
        self.send_response(loopback.status)
        for name, value in loopback.headers.items():
            self.send_header(name, value)
        body = b"" if loopback.status in (204, 304) else loopback.body
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = handle_one

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, loopback: Loopback) -> None:
        self.loopback = loopback
        super().__init__(("127.0.0.1", 0), _Handler)


class Loopback:
    """Answers ``status`` with ``body`` (and ``headers``) after ``delay`` seconds; over TLS
    with ``tls`` (certificate and key files)."""

    def __init__(
        self,
        *,
        status: int = 200,
        body: bytes = b"ok",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.status, self.body, self.headers, self.delay = status, body, headers or {}, delay
        self.seen: list[Seen] = []
        self.server_names: list[str | None] = []
        self._lock = threading.Lock()
        self._server = _Server(self)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = self._note_server_name
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _note_server_name(
        self, sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, context: ssl.SSLContext
    ) -> None:
        with self._lock:
            self.server_names.append(name)

    def note(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}/"

    @property
    def client_ports(self) -> list[int]:
        """The connection each request came on, in order of arrival."""
        with self._lock:
            return [seen.client_port for seen in self.seen]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
