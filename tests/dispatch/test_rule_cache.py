"""The per-process rule cache: rules changed anywhere take effect for the next commit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import make_rule, queued_deliveries, worker_database_url
from webhooks_app.dispatch.rule_cache import enabled_rules, rules_changed
from webhooks_app.models import EventRule, RulesVersion, Webhook

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]


def in_another_process(code: str) -> None:
    """Run Django code in a separate process on the same test database."""
    script = f"import django; django.setup()\nfrom webhooks_app.models import EventRule\n{code}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    if url := worker_database_url():  # PostgreSQL: the test database, not the configured one
        env["DATABASE_URL"] = url
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, check=True, timeout=60)


def create_site(queue: Queue, name: str) -> int:
    """Create a site; how many deliveries it queued."""
    Site.objects.create(name=name, slug=name.lower())
    deliveries = [d for job in queued_deliveries(queue) for d in job]
    return sum(1 for d in deliveries if d["context"]["data"]["name"] == name)


def test_rules_changed_in_another_process_apply_to_the_next_commit(
    queue: Queue, site_rule: EventRule
) -> None:
    assert create_site(queue, "One") == 1  # rules now cached in this process
    in_another_process(f"EventRule.objects.filter(pk={site_rule.pk}).update(enabled=False)")
    assert create_site(queue, "Two") == 0
    in_another_process(f"r = EventRule.objects.get(pk={site_rule.pk}); r.enabled = True; r.save()")
    assert create_site(queue, "Three") == 1
    in_another_process(f"EventRule.objects.get(pk={site_rule.pk}).object_types.clear()")
    assert create_site(queue, "Four") == 0


def test_cached_rules_cost_one_query_while_unchanged(site_rule: EventRule) -> None:
    enabled_rules()
    with CaptureQueriesContext(connection) as queries:
        rules = enabled_rules()
    assert len(queries) == 1
    assert [rule.name for rules_of_type in rules.values() for rule in rules_of_type] == ["Sites"]


@pytest.mark.parametrize(
    "change",
    [
        lambda rule: EventRule.objects.filter(pk=rule.pk).update(name="Renamed"),
        lambda rule: EventRule.objects.bulk_update([rule], ["name"]),
        lambda rule: Webhook.objects.get(pk=rule.webhook_id).save(),
        lambda rule: rule.object_types.remove(*rule.object_types.all()),
        lambda rule: rule.delete(),
        lambda rule: rules_changed(),
    ],
    ids=["update", "bulk_update", "webhook_save", "object_types", "delete", "explicit"],
)
def test_every_kind_of_rule_write_gives_a_new_version(site_rule: EventRule, change: object) -> None:
    before = RulesVersion.current("default")
    change(site_rule)  # type: ignore[operator]
    assert RulesVersion.current("default") != before


def test_without_a_version_row_the_rules_are_read_every_time(
    queue: Queue, webhook: Webhook
) -> None:
    rule = make_rule(webhook, name="Sites")
    RulesVersion.objects.all().delete()
    assert create_site(queue, "One") == 1
    with connection.cursor() as cursor:  # a write that bypasses signals and querysets
        cursor.execute(
            f"UPDATE {EventRule._meta.db_table} SET enabled = %s WHERE id = %s", [False, rule.pk]
        )
    assert create_site(queue, "Two") == 0
