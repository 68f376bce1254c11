"""The lean MULTI/EXEC: the commands of a pipeline run as one transaction on the real Redis,
packed as redis-py packs them, with Redis's refusals and lost connections raised."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ConnectionError, ResponseError
from rq import Queue

from webhooks_app.dispatch.enqueue import get_queue
from webhooks_app.dispatch.redis_transaction import pack, send_transaction


@pytest.fixture
def client(queue: Queue) -> Redis:
    return get_queue().connection


def execute_transaction(pipe: Any) -> list[Any]:
    sent = send_transaction(pipe)
    return [] if sent is None else sent.confirm()


def _commands_sent(client: Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def test_the_commands_run_in_one_transaction_and_their_replies_come_back_in_order(
    client: Redis,
) -> None:
    with client.pipeline() as pipe:
        pipe.sadd("set", "a")
        pipe.hset("hash", mapping={b"n": 7, "text": "héllo"})
        pipe.rpush("list", "x", "y")
        assert execute_transaction(pipe) == [1, 2, 2]
        assert len(pipe) == 0
    assert client.smembers("set") == {b"a"}
    assert client.hgetall("hash") == {b"n": b"7", b"text": "héllo".encode()}
    assert client.lrange("list", 0, -1) == [b"x", b"y"]


def test_no_commands_send_nothing(client: Redis) -> None:
    before = _commands_sent(client)
    with client.pipeline() as pipe:
        assert execute_transaction(pipe) == []
    assert _commands_sent(client) == before + 1  # only INFO itself


def test_the_packing_is_redis_pys_own(client: Redis) -> None:
    connection: Any = client.connection_pool.get_connection()
    try:
        for command in [
            ("SADD", "rq:queues", b"rq:queue:default"),
            ("HSET", "k", b"f", b"\x00\r\n" * 10, "é", 42),
            ("RPUSH", "q", b"z" * 70000),  # a long argument goes as its own buffer
        ]:
            assert b"".join(pack([command])) == b"".join(connection.pack_command(*command))
    finally:
        client.connection_pool.release(connection)


def test_a_long_argument_arrives_whole(client: Redis) -> None:
    value = bytes(range(256)) * 300
    with client.pipeline() as pipe:
        pipe.set("big", value)
        pipe.get("missing")
        assert execute_transaction(pipe) == [b"OK", None]  # raw replies, no callbacks
    assert client.get("big") == value


def test_a_command_redis_will_not_queue_aborts_the_whole_transaction(client: Redis) -> None:
    with client.pipeline() as pipe:
        pipe.rpush("list", "x")
        pipe.execute_command("HSET", "hash")  # wrong number of arguments
        with pytest.raises(ResponseError, match="wrong number of arguments"):
            execute_transaction(pipe)
    assert not client.exists("list")
    with client.pipeline() as pipe:  # the pool's connections are still good
        pipe.rpush("list", "y")
        assert execute_transaction(pipe) == [1]


def test_a_command_failing_inside_the_transaction_is_raised(client: Redis) -> None:
    client.set("text", "not a list")
    with client.pipeline() as pipe:
        pipe.rpush("text", "x")
        pipe.rpush("list", "x")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            execute_transaction(pipe)
    assert client.lrange("list", 0, -1) == [b"x"]  # Redis runs the others (no rollback)


def test_a_stale_pooled_connection_is_replaced_and_the_transaction_runs_once(
    client: Redis,
) -> None:
    pooled = client.client_id()  # the connection that goes back to the pool
    where = client.connection_pool.connection_kwargs
    with Redis(host=where["host"], port=where["port"]) as other:
        assert other.client_kill_filter(_id=pooled) == 1  # Redis drops it
    with client.pipeline() as pipe:
        pipe.incr("counter")
        assert execute_transaction(pipe) == [1]
    assert client.get("counter") == b"1"


def test_without_redis_a_connection_error_is_raised() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there
    with Redis(port=port) as nowhere, nowhere.pipeline() as pipe:
        pipe.incr("counter")
        with pytest.raises(ConnectionError):
            execute_transaction(pipe)
