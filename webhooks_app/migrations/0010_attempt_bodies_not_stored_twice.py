"""Empty the request body of every attempt already logged whose body is exactly its delivery's
payload as JSON, marking it request_body_is_payload (the display rebuilds it byte for byte; see
DeliveryAttempt.request_body).
Batches of 2,000 attempts walked by id, each batch its own transaction (the migration is not
atomic); a body is emptied only if the text rebuilt from the payload as stored equals it."""

from __future__ import annotations

import json
from typing import Any

from django.db import migrations, transaction
from rest_framework.utils.encoders import JSONEncoder

BATCH = 2000


def empty_bodies_of_payloads(apps: Any, schema_editor: Any) -> None:
    attempt_model = apps.get_model("webhooks_app", "DeliveryAttempt")
    using = schema_editor.connection.alias
    attempts = attempt_model.objects.using(using).order_by("pk")
    last = 0
    while True:
        page = list(
            attempts.filter(pk__gt=last, stored_request_body__gt="").values_list(
                "pk", "stored_request_body", "delivery__payload"
            )[:BATCH]
        )
        if not page:
            return
        same = [pk for pk, body, payload in page if body == json.dumps(payload, cls=JSONEncoder)]
        with transaction.atomic(using=using):
            attempts.filter(pk__in=same).update(
                stored_request_body="", request_body_is_payload=True
            )
        last = page[-1][0]


def store_bodies_again(apps: Any, schema_editor: Any) -> None:
    attempt_model = apps.get_model("webhooks_app", "DeliveryAttempt")
    using = schema_editor.connection.alias
    attempts = attempt_model.objects.using(using).order_by("pk")
    while True:
        page = list(
            attempts.filter(request_body_is_payload=True).values_list("pk", "delivery__payload")[
                :BATCH
            ]
        )
        if not page:
            return
        with transaction.atomic(using=using):
            for pk, payload in page:
                body = json.dumps(payload, cls=JSONEncoder)
                attempts.filter(pk=pk).update(
                    stored_request_body=body, request_body_is_payload=False
                )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("webhooks_app", "0009_attempt_body_from_payload"),
    ]

    operations = [
        migrations.RunPython(empty_bodies_of_payloads, store_bodies_again, elidable=True),
    ]
