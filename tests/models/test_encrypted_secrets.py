"""Webhook secrets are encrypted at rest: the column and every raw dump of the database hold a
Fernet token, never the secret; the model reads it back; existing plaintext is encrypted by the
migration; a secret no key decrypts fails that webhook's deliveries with a reason, and the admin
and API still show and save the webhook."""

from __future__ import annotations

import importlib
import io
import pickle
import shutil
import subprocess
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import drain, failed_jobs, make_rule, make_webhook
from tests.tls_server import Authority
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, Webhook
from webhooks_app.models.encrypted import UndecryptableCredentialError, stored_credential
from webhooks_app.receiver import Receiver

K1, K2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
MIGRATION = importlib.import_module("webhooks_app.migrations.0005_encrypt_secrets")


def column(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_app_webhook WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_column_holds_a_token_and_the_model_reads_the_secret() -> None:
    webhook = make_webhook("http://127.0.0.1:9/", secret="s3cret-value")
    stored = column(webhook.pk)
    assert "s3cret-value" not in stored and stored.startswith("gAAAAA")
    assert Webhook.objects.get().secret == "s3cret-value"
    assert Webhook.objects.get().has_secret
    # values(), pickling (caches) and dumpdata only see the token.
    assert list(Webhook.objects.values_list("secret", flat=True)) == [stored]
    assert b"s3cret-value" not in pickle.dumps(Webhook.objects.get())
    out = io.StringIO()
    call_command("dumpdata", "webhooks_app.webhook", stdout=out)
    assert "s3cret-value" not in out.getvalue() and stored in out.getvalue()
    # A queryset update encrypts too; "" stays "not set".
    Webhook.objects.update(secret="other-secret")
    assert "other-secret" not in column(webhook.pk)
    assert Webhook.objects.get().secret == "other-secret"
    Webhook.objects.update(secret="")
    assert column(webhook.pk) == "" and not Webhook.objects.get().has_secret


@pytest.mark.django_db
def test_a_secret_as_long_as_allowed_fits_once_encrypted() -> None:
    secret = "\u00e9" * 255
    webhook = make_webhook("http://127.0.0.1:9/", secret=secret)
    assert len(column(webhook.pk)) > 255
    assert Webhook.objects.get().secret == secret


def raw_dump() -> bytes:
    """Everything the database holds, as bytes: the file and an SQL dump (SQLite), or
    ``pg_dump`` (PostgreSQL)."""
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        # Read by another process: opening and closing the file here would drop the POSIX locks
        # this process's SQLite connection holds on it (SQLite's documented pitfall), and the
        # worker processes of later tests would then corrupt the database's WAL index.
        files = [
            subprocess.run(["cat", str(p)], capture_output=True, check=True).stdout
            for p in (name, Path(f"{name}-wal"))
            if p.exists()
        ]
        dump = "\n".join(connection.connection.iterdump()).encode()
        return b"\n".join([*files, dump])
    assert connection.vendor == "postgresql"
    from tests.postgres_server import find_bindir

    pg_dump = find_bindir() / "pg_dump"
    s = connection.settings_dict
    command = [
        str(pg_dump if pg_dump.exists() else shutil.which("pg_dump")),
        "--host", str(s["HOST"]), "--port", str(s["PORT"]),
        "--username", str(s["USER"]), "--dbname", str(s["NAME"]),
    ]  # fmt: skip
    env = {"PGPASSWORD": str(s["PASSWORD"]), "PATH": "/usr/bin:/bin"}
    return subprocess.run(command, capture_output=True, check=True, env=env).stdout


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_of_the_database_holds_no_secret(
    admin_client: Client, admin_user: Any, tmp_path: Path
) -> None:
    """Every credential, set through the admin and the API: the secret, the previous secret
    (a rotation), secret headers and the client key."""
    from_admin, from_api = f"admin-{uuid.uuid4()}", f"api-{uuid.uuid4()}"
    header_admin, header_api = f"hdr-{uuid.uuid4()}", f"hdr-{uuid.uuid4()}"
    client = Authority(tmp_path).client("dumped")
    response = admin_client.post(
        "/admin/webhooks_app/webhook/add/",
        {
            "name": "dumped-admin",
            "payload_url": "http://127.0.0.1:9/",
            "http_method": "POST",
            "http_content_type": "application/json",
            "secret": from_admin,
            "secret_overlap_hours": "24",
            "secret_headers": f"Authorization: Bearer {header_admin}",
            "client_certificate": client.certificate,
            "client_key": client.key,
            "standard_webhooks": "on",
            "ssl_verification": "on",
        },
    )
    assert response.status_code == 302, response.content
    api = APIClient()
    api.force_authenticate(admin_user)
    created = api.post(
        "/api/webhooks/webhooks/",
        {
            "name": "dumped-api",
            "payload_url": "http://127.0.0.1:9/",
            "secret": from_api,
            "secret_headers": f"X-Api-Key: {header_api}",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    changed = api.patch(created.json()["url"], {"secret": from_api + "-2"}, format="json")
    assert changed.status_code == 200, changed.content
    assert {w.name: (w.secret, w.previous_secret) for w in Webhook.objects.all()} == {
        "dumped-admin": (from_admin, ""),
        "dumped-api": (from_api + "-2", from_api),  # the previous secret is stored too
    }
    assert Webhook.objects.get(name="dumped-admin").client_key == client.key
    dump = raw_dump()
    assert b"dumped-admin" in dump and b"dumped-api" in dump  # the dump does hold the rows
    assert client.certificate.splitlines()[1].encode() in dump  # public: stored as it is
    key_line = client.key.splitlines()[1]
    for secret in (from_admin, from_api, header_admin, header_api, key_line):
        assert secret.encode() not in dump
        assert secret.encode("utf-16-le") not in dump


@pytest.mark.django_db
def test_the_migration_encrypts_stored_plaintext_and_unapplying_it_decrypts() -> None:
    webhook = make_webhook("http://127.0.0.1:9/", name="old", secret="x")
    other = make_webhook("http://127.0.0.1:9/", name="unsigned")
    with connection.cursor() as cursor:  # as stored before the migration
        cursor.execute(
            "UPDATE webhooks_app_webhook SET secret = %s WHERE id = %s", ["plain", webhook.pk]
        )
    editor = SimpleNamespace(connection=connection)  # what the migration's functions use
    MIGRATION.encrypt_secrets(apps, editor)
    assert column(webhook.pk).startswith("gAAAAA") and column(other.pk) == ""
    assert Webhook.objects.get(pk=webhook.pk).secret == "plain"
    MIGRATION.decrypt_secrets(apps, editor)
    assert column(webhook.pk) == "plain" and column(other.pk) == ""


@pytest.mark.django_db
def test_an_undecryptable_secret_reads_as_an_error_and_the_webhook_still_loads(
    admin_client: Client, admin_user: Any
) -> None:
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[K1]):
        webhook = make_webhook("http://127.0.0.1:9/", name="lost-key", secret="s3cret")
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[K2]):
        loaded = Webhook.objects.get()
        assert loaded.has_secret
        with pytest.raises(UndecryptableCredentialError, match="cannot be decrypted with any key"):
            loaded.secret  # noqa: B018
        page = admin_client.get(f"/admin/webhooks_app/webhook/{webhook.pk}/change/")
        assert page.status_code == 200 and "A secret is set" in page.content.decode()
        api = APIClient()
        api.force_authenticate(admin_user)
        shown = api.get(f"/api/webhooks/webhooks/{webhook.pk}/")
        assert shown.status_code == 200 and shown.json()["secret_set"] is True
        token = column(webhook.pk)
        # Saving other fields keeps the token as it is; a new secret replaces it.
        changed = api.patch(shown.json()["url"], {"description": "edited"}, format="json")
        assert changed.status_code == 200, changed.content
        assert column(webhook.pk) == token
        changed = api.patch(shown.json()["url"], {"secret": "fresh"}, format="json")
        assert changed.status_code == 200, changed.content
        assert Webhook.objects.get().secret == "fresh"


@pytest.mark.django_db(transaction=True)
def test_deliveries_of_a_webhook_whose_secret_no_key_decrypts_fail_with_the_reason(
    queue: Queue, receiver: Receiver
) -> None:
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[K1]):
        webhook = make_webhook(receiver.url, name="lost-key", secret="s3cret")
        make_rule(webhook)
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[K2]):
        Site.objects.create(name="Site", slug="site")
        drain(queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert "The secret of webhook" in delivery.last_error
    assert "cannot be decrypted with any key of WEBHOOKS_ENCRYPTION_KEYS" in delivery.last_error
    assert "Unexpected" not in delivery.last_error
    [attempt] = delivery.attempts.all()
    assert attempt.error == delivery.last_error
    # The job ends as a failed delivery does (its reason in the failed registry), not a crash.
    assert receiver.requests == [] and len(failed_jobs(queue)) == 1
    assert stored_credential(webhook, "secret") == column(webhook.pk)


@pytest.mark.django_db
def test_dumpdata_then_loaddata_keeps_every_credential(tmp_path: Path) -> None:
    """A fixture holds the tokens; loading it keeps them (no second encryption), so every
    credential reads back as it was."""
    webhook = make_webhook(
        "http://127.0.0.1:9/",
        secret="s3cret-value",
        secret_headers="Authorization: Bearer t0ken",
    )
    webhook.secret = "new-s3cret"
    webhook.save()  # the old secret becomes the previous one
    fixture = tmp_path / "webhooks.json"
    call_command("dumpdata", "webhooks_app.webhook", output=str(fixture))
    assert "s3cret" not in fixture.read_text() and "t0ken" not in fixture.read_text()
    Webhook.objects.all().delete()
    call_command("loaddata", str(fixture), verbosity=0)
    loaded = Webhook.objects.get()
    assert loaded.secret == "new-s3cret"
    assert loaded.previous_secret == "s3cret-value"
    assert loaded.secret_headers == "Authorization: Bearer t0ken"


@pytest.mark.django_db
def test_a_credential_in_the_form_of_a_stored_token_is_refused(admin_client: Client) -> None:
    webhook = make_webhook("http://127.0.0.1:9/", secret="s3cret-value")
    token = column(webhook.pk)
    api = APIClient()
    api.force_authenticate(user=admin_client.get("/admin/").wsgi_request.user)
    answer = api.patch(f"/api/webhooks/webhooks/{webhook.pk}/", {"secret": token}, format="json")
    assert answer.status_code == 400
    assert "encrypted value" in str(answer.json()["secret"])
    assert token not in answer.content.decode()
    page = admin_client.post(
        f"/admin/webhooks_app/webhook/{webhook.pk}/change/",
        {
            "name": webhook.name,
            "payload_url": webhook.payload_url,
            "http_method": "POST",
            "http_content_type": "application/json",
            "secret": token,
            "secret_overlap_hours": "24",
            "ssl_verification": "on",
        },
    )
    assert page.status_code == 200 and b"encrypted value" in page.content
    assert Webhook.objects.get().secret == "s3cret-value"
