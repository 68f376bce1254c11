"""The webhooks a worker delivers for, cached per process and checked against the rules version.

Every change to a webhook gives the rules a new version token (model signals, and the
queryset's bulk writes; see :class:`~webhooks_app.models.rules_version.VersionedQuerySet`), so
a job reads the token (one primary-key lookup in plain SQL) instead of loading its webhooks:
a secret, URL or template changed in any process applies to the next job in every worker.
Treat the instances as read-only: the jobs of a process share them until the token changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, router

from webhooks_app.models import RulesVersion, Webhook

__all__ = ["webhooks_by_id"]

# alias -> (token, webhook or None (deleted) by id); replaced when the token changes
_cache: dict[str, tuple[str, dict[int, Webhook | None]]] = {}


def webhooks_by_id(ids: Iterable[int]) -> dict[int, Webhook]:
    """The webhooks with these ids that exist."""
    wanted = set(ids)
    using = router.db_for_read(Webhook) or DEFAULT_DB_ALIAS
    token = RulesVersion.current(using)
    if token is None:  # nothing may be cached without a token
        return Webhook.objects.using(using).in_bulk(list(wanted))
    cached = _cache.get(using)
    if cached is None or cached[0] != token:
        cached = (token, {})
        _cache[using] = cached
    known = cached[1]
    missing = [pk for pk in wanted if pk not in known]
    if missing:  # loaded after reading the token: a newer change only leads to a reload
        found = Webhook.objects.using(using).in_bulk(missing)
        for pk in missing:
            known[pk] = found.get(pk)
    return {pk: webhook for pk in wanted if (webhook := known.get(pk)) is not None}
