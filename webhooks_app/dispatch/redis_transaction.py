"""One Redis transaction (MULTI/EXEC) of the commands gathered in a pipeline, lean.

redis-py's ``Pipeline.execute`` packs each argument through its encoder, records metrics,
wraps the call in its retry policy and runs a reply callback per command; for the few plain
commands of a dispatch this costs more Python than the commands themselves. Here the
commands (bytes, str or int arguments) are packed in one pass and the replies read without
callbacks. Same round trip, same transaction.

Sending and reading the reply are apart: :func:`send_transaction` returns a
:class:`SentTransaction` that keeps the connection (out of its pool) until
:meth:`~SentTransaction.confirm` reads the reply, at once or later. Redis runs the
transaction as soon as it has read it, whether or not anyone reads the reply yet.

A connection that fails while sending is reconnected and the whole transaction sent once more
(Redis discards a transaction whose ``EXEC`` it never read). A failure while reading the reply
is raised, never retried: the transaction may have run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.client import Pipeline
from redis.connection import ConnectionPool
from redis.exceptions import ConnectionError, ExecAbortError, ResponseError, TimeoutError

__all__ = ["SentTransaction", "pack", "send_transaction"]

_BIG = 16384  # arguments at least this long are sent as their own buffer, not copied


def _encoded(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, int) and not isinstance(arg, bool):
        return b"%d" % arg
    raise TypeError(f"cannot send {type(arg).__name__} to Redis: {arg!r}")


def pack(commands: Sequence[Sequence[Any]]) -> list[bytes]:
    """The commands in Redis's protocol (RESP), as buffers to send one after the other."""
    buffers: list[bytes] = []
    parts: list[bytes] = []
    for command in commands:
        parts.append(b"*%d\r\n" % len(command))
        for arg in command:
            value = _encoded(arg)
            parts.append(b"$%d\r\n" % len(value))
            if len(value) >= _BIG:
                buffers.append(b"".join(parts))
                buffers.append(value)
                parts = [b"\r\n"]
            else:
                parts.append(value)
                parts.append(b"\r\n")
    buffers.append(b"".join(parts))
    return buffers


class SentTransaction:
    """A sent MULTI/EXEC of ``count`` commands whose reply is still to be read."""

    def __init__(self, pool: ConnectionPool, connection: Any, count: int) -> None:
        self._pool = pool
        self._connection: Any = connection
        self._count = count

    def confirm(self) -> list[Any]:
        """Read the reply and give the connection back to its pool: the commands' replies.
        Raises ``RedisError`` if the transaction did not run, or if that cannot be known."""
        connection, self._connection = self._connection, None
        if connection is None:
            raise RuntimeError("this transaction was confirmed already")
        try:
            return _read_reply(connection, self._count)
        except BaseException:
            connection.disconnect()  # replies may be left unread: never reuse it
            raise
        finally:
            self._pool.release(connection)


def send_transaction(pipe: Pipeline[Any]) -> SentTransaction | None:
    """Send the commands gathered in ``pipe`` as one MULTI/EXEC (``pipe`` is left empty),
    without waiting for the reply; None if there were none. Raises ``RedisError`` if Redis
    cannot be reached."""
    commands = [args for args, _options in pipe.command_stack]
    pipe.reset()
    if not commands:
        return None
    packed = pack([("MULTI",), *commands, ("EXEC",)])
    pool = pipe.connection_pool
    connection: Any = pool.get_connection()
    try:
        try:
            connection.send_packed_command(packed)
        except (ConnectionError, TimeoutError):
            connection.disconnect()  # a stale pooled connection: once more on a new one
            connection.send_packed_command(packed)
    except BaseException:
        connection.disconnect()
        pool.release(connection)
        raise
    return SentTransaction(pool, connection, len(commands))


def _read_reply(connection: Any, count: int) -> list[Any]:
    refused: ResponseError | None = None
    for _ in range(count + 1):  # MULTI's OK, then QUEUED for each command
        try:
            connection.read_response()
        except ResponseError as error:  # a command Redis would not queue
            refused = refused or error
    try:
        replies = connection.read_response()
    except ExecAbortError:
        raise refused or ExecAbortError("transaction discarded") from None
    if not isinstance(replies, list) or len(replies) != count:
        raise ResponseError(f"unexpected reply to EXEC: {replies!r}")
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies
