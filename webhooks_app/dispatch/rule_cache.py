"""The enabled event rules, cached per process and checked against the stored version.

Loading the rules (a three-table query) costs more than everything else dispatch does for a
single change, so each process keeps them, with the :class:`~webhooks_app.models.RulesVersion`
token read just before loading them. Every dispatch reads the token again (one primary-key
lookup) and reloads the rules when it changed: a rule edited in any process takes effect for
the next commit in every process. Writes that change rules bump the token in their own
transaction: the model signal receivers below (connected when this module is imported, by
the app config) and the rule queryset's bulk methods. Raw SQL on the rule tables does not; call
:func:`rules_changed` after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, router
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from webhooks_app.models import EventRule, RulesVersion, Webhook

__all__ = ["enabled_rules", "rules_changed"]

RulesByType = Mapping[int, list[EventRule]]

_cache: dict[str, tuple[str, RulesByType]] = {}  # alias -> (token, rules); replaced, never mutated


def _load(using: str) -> RulesByType:
    through = EventRule.object_types.through
    rows = (
        through.objects.using(using)
        .filter(eventrule__enabled=True)
        .select_related("eventrule__webhook")
        .order_by("eventrule__name")
    )
    result: dict[int, list[EventRule]] = defaultdict(list)
    rules: dict[int, EventRule] = {}
    for row in rows:
        rule = rules.setdefault(row.eventrule_id, row.eventrule)  # one instance per rule
        result[row.contenttype_id].append(rule)
    return dict(result)


def enabled_rules() -> RulesByType:
    """Enabled rules (with their webhook) per content type id, by name. Treat as read-only:
    the rule instances are shared by every dispatch of the process until the rules change."""
    using = router.db_for_read(EventRule) or DEFAULT_DB_ALIAS
    token = RulesVersion.current(using)
    cached = _cache.get(using)
    if token is not None and cached is not None and cached[0] == token:
        return cached[1]
    rules = _load(using)  # read after the token: a newer change only leads to a reload
    if token is not None:
        _cache[using] = (token, rules)
    return rules


def rules_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Make every process reload the rules (after writing rule tables with raw SQL)."""
    RulesVersion.bump(using)


@receiver(post_save, sender=EventRule)
@receiver(post_delete, sender=EventRule)
@receiver(post_save, sender=Webhook)
@receiver(post_delete, sender=Webhook)
def bump_rules_version(sender: type[models.Model], using: str = "default", **kwargs: Any) -> None:
    rules_changed(using)


@receiver(m2m_changed, sender=EventRule.object_types.through)
def bump_rules_version_for_object_types(
    sender: type[models.Model], action: str, using: str = "default", **kwargs: Any
) -> None:
    if action.startswith("post_"):
        rules_changed(using)
