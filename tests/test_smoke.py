from __future__ import annotations

import django_rq


def test_test_redis_is_private_and_reachable() -> None:
    conn = django_rq.get_connection("default")
    assert conn.ping()
    assert conn.connection_pool.connection_kwargs["port"] != 6379
