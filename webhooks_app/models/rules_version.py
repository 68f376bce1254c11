"""RulesVersion: one row whose token changes with every change to event rules or webhooks.

Each process caches the enabled rules with the token it read just before loading them, and
reloads them when the stored token differs. The token is written in the transaction that
changes the rules, so another process sees the new rules and the new token together. Tokens
are random, never counters, so a flushed or restored table cannot bring an old one back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import connections, models

SINGLETON_ID = 1


def new_token() -> str:
    return uuid.uuid4().hex


class RulesVersion(models.Model):
    token = models.CharField(max_length=32, default=new_token)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"rules version {self.token}"

    @classmethod
    def bump(cls, using: str) -> None:
        """Give the rules a new token (in the caller's transaction, if any)."""
        manager = cls.objects.using(using)
        if not manager.filter(pk=SINGLETON_ID).update(token=new_token()):
            manager.update_or_create(pk=SINGLETON_ID, defaults={"token": new_token()})

    @classmethod
    def current(cls, using: str) -> str | None:
        """The stored token, or None without a row (then nothing may be cached). Plain SQL:
        this runs on every dispatch, and compiling an ORM query would cost more than it."""
        connection = connections[using]
        quote = connection.ops.quote_name
        sql = f"SELECT {quote('token')} FROM {quote(cls._meta.db_table)} WHERE {quote('id')} = %s"
        with connection.cursor() as cursor:
            cursor.execute(sql, [SINGLETON_ID])
            row = cursor.fetchone()
        return None if row is None else str(row[0])


M = TypeVar("M", bound=models.Model)


class VersionedQuerySet(models.QuerySet[M]):
    """For the models the rules version covers: bulk writes, which send no model signals, give
    the rules a new version too (``bulk_update()`` goes through ``update()``; deletes send
    signals)."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        RulesVersion.bump(self.db)
        return count

    def bulk_create(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> list[M]:
        created = super().bulk_create(objs, *args, **kwargs)
        RulesVersion.bump(self.db)
        return created
