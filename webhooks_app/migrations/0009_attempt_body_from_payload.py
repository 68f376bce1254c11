"""An attempt's request body that was its delivery's payload as JSON need not be stored twice:
``request_body_is_payload`` says so, and DeliveryAttempt.request_body rebuilds it from the
payload. The body's field is now ``stored_request_body`` in Python; its column keeps its name,
and the new column has a database default, so adding it rewrites nothing and a worker still
running the previous version keeps writing the log."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0008_webhook_credentials"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RenameField(
                    model_name="deliveryattempt",
                    old_name="request_body",
                    new_name="stored_request_body",
                ),
                migrations.AlterField(
                    model_name="deliveryattempt",
                    name="stored_request_body",
                    field=models.TextField(
                        blank=True,
                        db_column="request_body",
                        help_text="The body as sent; empty when request_body_is_payload.",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="deliveryattempt",
            name="request_body_is_payload",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="The body was the delivery's payload as JSON (rebuilt from it, not stored).",
            ),
        ),
    ]
