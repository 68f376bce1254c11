"""One event's payload stored once for all its deliveries (EventPayload), and object_id's index
without PostgreSQL's varchar_pattern_ops twin.

Cheap on a log of millions of rows, whatever its size (no row is read or rewritten):

- CREATE TABLE for EventPayload;
- the delivery's payload column stays where it is, renamed in the models only
  (``stored_payload``, ``db_column="payload"``), and becomes nullable (ALTER COLUMN DROP NOT
  NULL): deliveries logged before keep their copy until the retention prunes them;
- ADD COLUMN event_payload_id, nullable, without a default, index or constraint;
- object_id: on PostgreSQL the ``..._like`` index (varchar_pattern_ops, for LIKE, which no
  search uses any more) is dropped and the plain one is renamed ``webhooks_delivery_object_id``
  (ALTER INDEX ... RENAME: no index is built). Elsewhere, or if the indexes are not the ones
  Django made, they are dropped and the named index is created (SQLite rebuilds the table for
  the nullable column anyway).
"""

from __future__ import annotations

import copy
from typing import Any

import django.db.models.deletion
from django.db import migrations, models

import webhooks_app.models.fields

OBJECT_ID_INDEX = "webhooks_delivery_object_id"


def _object_id_indexes(delivery: Any, schema_editor: Any) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, delivery._meta.db_table)
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and info["columns"] == ["object_id"]
        and not info["unique"]
        and not info["primary_key"]
    ]


def name_the_object_id_index(apps: Any, schema_editor: Any) -> None:
    delivery = apps.get_model("webhooks_app", "Delivery")
    named = models.Index(fields=["object_id"], name=OBJECT_ID_INDEX)
    if schema_editor.connection.vendor == "postgresql":
        names = _object_id_indexes(delivery, schema_editor)
        plain = [name for name in names if not name.endswith("_like")]
        if len(plain) == 1:
            for name in names:
                if name.endswith("_like"):
                    schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")
            old = models.Index(fields=["object_id"], name=plain[0])
            schema_editor.rename_index(delivery, old, named)
            return
    indexed = delivery._meta.get_field("object_id")
    unindexed = copy.copy(indexed)
    unindexed.db_index = False
    schema_editor.alter_field(delivery, indexed, unindexed)
    schema_editor.add_index(delivery, named)


def index_object_id_as_before(apps: Any, schema_editor: Any) -> None:
    delivery = apps.get_model("webhooks_app", "Delivery")
    indexed = delivery._meta.get_field("object_id")
    unindexed = copy.copy(indexed)
    unindexed.db_index = False
    schema_editor.remove_index(delivery, models.Index(fields=["object_id"], name=OBJECT_ID_INDEX))
    schema_editor.alter_field(delivery, unindexed, indexed)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0010_attempt_bodies_not_stored_twice"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventPayload",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        editable=False,
                        help_text="See payload_id().",
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "data",
                    webhooks_app.models.fields.OrderedJSONField(
                        help_text="The event context, keys in the order they were written."
                    ),
                ),
            ],
            options={
                "verbose_name": "event payload",
            },
        ),
        # The column keeps its name: first named explicitly (no change in the database but
        # DROP NOT NULL), then the field is renamed in the models only.
        migrations.AlterField(
            model_name="delivery",
            name="payload",
            field=webhooks_app.models.fields.OrderedJSONField(
                blank=True,
                db_column="payload",
                help_text="The event context, in the row itself (deliveries logged before 0011).",
                null=True,
            ),
        ),
        migrations.RenameField(
            model_name="delivery",
            old_name="payload",
            new_name="stored_payload",
        ),
        migrations.AddField(
            model_name="delivery",
            name="event_payload",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="The event context, shared by the deliveries of one event that carry it.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="webhooks_app.eventpayload",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="object_id",
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(fields=["object_id"], name=OBJECT_ID_INDEX),
                ),
            ],
            database_operations=[
                migrations.RunPython(name_the_object_id_index, index_object_id_as_before),
            ],
        ),
    ]
