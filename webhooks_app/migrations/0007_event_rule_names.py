"""Name the rule of every delivery already logged (event_rule_name), so that the log still
names it once the rule is deleted. Batches of 5,000 rows per rule, each its own transaction
(the migration is not atomic), walked through the (event_rule, created, id) index."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Q

BATCH = 5000


def name_rules(apps: Any, schema_editor: Any) -> None:
    delivery_model = apps.get_model("webhooks_app", "Delivery")
    rule_model = apps.get_model("webhooks_app", "EventRule")
    using = schema_editor.connection.alias
    deliveries = delivery_model.objects.using(using)
    for rule_id, name in rule_model.objects.using(using).values_list("pk", "name"):
        last = None
        while True:
            rows = deliveries.filter(event_rule_id=rule_id).order_by("created", "id")
            if last is not None:
                rows = rows.filter(Q(created__gt=last[0]) | Q(created=last[0], id__gt=last[1]))
            page = list(rows.values_list("created", "id")[:BATCH])
            if not page:
                break
            deliveries.filter(pk__in=[pk for _, pk in page]).update(event_rule_name=name)
            last = page[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("webhooks_app", "0006_deleting_keeps_the_log"),
    ]

    operations = [
        migrations.RunPython(name_rules, migrations.RunPython.noop, elidable=True),
    ]
