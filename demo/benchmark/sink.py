"""The benchmark's receiver: an HTTP/1.1 sink on loopback that answers every request with one
status, at once or after a set delay, and notes when each request arrived.

In production the receiver runs on another machine; here it shares the benchmark machine's
two cores with the workers, Redis and the web server, so what it costs is taken from what is
being measured. The troubleshooting receiver (:mod:`webhooks_app.receiver`: a thread per
connection, the standard library's request parsing, signature checks, output) costs about
0.2 ms of CPU a request on the 2-core VM; this one runs one asyncio event loop in a thread and
reads only what a webhook request needs (request line, ``Content-Length``, body): about
0.05 ms. A delay is a timer, not a sleeping thread, so hundreds of slow answers can be
pending at once.

It understands requests with a ``Content-Length`` (what the transport sends); anything else
(chunked bodies, malformed heads) is answered 400 and the connection closed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Self

__all__ = ["Receipt", "Sink"]

MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Receipt:
    """A request as it arrived: when (epoch seconds, as job times are), its target and body."""

    received_at: float
    path: str
    body: bytes


def _answer(status: int) -> bytes:
    reason = HTTPStatus(status).phrase
    length = "" if status in (204, 304) or status < 200 else "Content-Length: 0\r\n"
    return f"HTTP/1.1 {status} {reason}\r\n{length}\r\n".encode("latin-1")


_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Connection(asyncio.Protocol):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sink.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and (request := self._take_request()) is not None:
            self.sink.add_receipt(request)
            if self.sink.delay:
                self.sink.loop.call_later(self.sink.delay, self._write, self.sink.response)
            else:
                self.transport.write(self.sink.response)

    def _take_request(self) -> Receipt | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._refuse()
            return None
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length" and value.strip().isdigit():
                length = int(value)
            elif name == b"transfer-encoding":
                length = -1
        parts = lines[0].split(b" ")
        if length < 0 or len(parts) != 3:
            self._refuse()
            return None
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        return Receipt(time.time(), parts[1].decode("latin-1"), body)

    def _write(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)

    def _refuse(self) -> None:
        assert self.transport is not None
        self.transport.write(_BAD_REQUEST)
        self.transport.close()
        self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.sink.connections.discard(self)


class Sink:
    """Answers ``status`` after ``delay`` seconds; keeps every :class:`Receipt` if ``keep``
    (else only counts them). Serves from a thread of its own while used as a context manager."""

    def __init__(self, *, status: int = 204, delay: float = 0.0, keep: bool = True) -> None:
        self.delay = delay
        self.keep = keep
        self.response = _answer(status)  # every answer, as bytes
        self._receipts: list[Receipt] = []
        self._count = 0
        self.connections: set[_Connection] = set()  # open ones, closed on exit
        self.loop = asyncio.new_event_loop()  # run by the sink's thread
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self._server = self.loop.run_until_complete(
                self.loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
            )
            started.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=serve, name="benchmark-sink", daemon=True)
        self._thread.start()
        started.wait(10)
        if self._server is None:
            raise RuntimeError("The benchmark's receiver did not start.")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await self._server.wait_closed()

        if self._thread is not None:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.loop.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/"

    @property
    def received_count(self) -> int:
        return self._count

    @property
    def requests(self) -> list[Receipt]:
        """What arrived so far (empty unless ``keep``)."""
        return list(self._receipts)

    def add_receipt(self, receipt: Receipt) -> None:
        """Note a request that arrived (called on the sink's thread)."""
        if self.keep:
            self._receipts.append(receipt)
        self._count += 1
