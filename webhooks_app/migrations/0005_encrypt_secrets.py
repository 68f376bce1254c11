"""Webhook secrets are stored encrypted (``EncryptedTextField``): the column becomes text (a
token is longer than the secret) and every stored secret is encrypted under the first key of
``WEBHOOKS_ENCRYPTION_KEYS`` (or, unset, a key derived from ``SECRET_KEY``). Unapplying it
decrypts them again."""

from __future__ import annotations

from typing import Any

from django.db import migrations

import webhooks_app.models.encrypted
from webhooks_app import crypto
from webhooks_app.models.encrypted import Ciphertext, current_keyring


def encrypt_secrets(apps: Any, schema_editor: Any) -> None:
    webhook = apps.get_model("webhooks_app", "Webhook")
    rows = webhook._base_manager.using(schema_editor.connection.alias)
    ring = current_keyring()
    # Read as stored: before this migration the column holds the plaintext.
    for pk, plaintext in rows.exclude(secret="").values_list("pk", "secret"):
        token = crypto.encrypt(ring, str(plaintext))
        rows.filter(pk=pk).update(secret=Ciphertext(token))


def decrypt_secrets(apps: Any, schema_editor: Any) -> None:
    webhook = apps.get_model("webhooks_app", "Webhook")
    rows = webhook._base_manager.using(schema_editor.connection.alias)
    ring = current_keyring()
    for pk, token in rows.exclude(secret="").values_list("pk", "secret"):
        try:
            plaintext = crypto.decrypt(ring, str(token))
        except crypto.InvalidToken:
            raise RuntimeError(
                f"The secret of webhook {pk} cannot be decrypted with the configured keys: "
                "configure the key it was encrypted with before unapplying this migration."
            ) from None
        rows.filter(pk=pk).update(secret=Ciphertext(plaintext))


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0004_delivery_log_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhook",
            name="secret",
            field=webhooks_app.models.encrypted.EncryptedTextField(
                blank=True,
                help_text="When set, the body is signed with HMAC-SHA512 in the X-Hook-Signature "
                "header. Stored encrypted; reading it decrypts it (UndecryptableCredentialError "
                "when no key can).",
                max_length=255,
            ),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False),
    ]
