"""``manage.py webhooks_reencrypt``: rewrite every stored credential under the first key.

After a new key is put first in ``WEBHOOKS_ENCRYPTION_KEYS`` (or the setting is set for the
first time, or ``SECRET_KEY`` is rotated with the old one in ``SECRET_KEY_FALLBACKS``), this
encrypts every credential again under the first key, so the old key can then be dropped. A
credential no configured key decrypts is left as it is and named; the command then exits with
an error (nothing else is lost: the others are rewritten).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, transaction

from webhooks_app import crypto
from webhooks_app.models.encrypted import Ciphertext, current_keyring, encrypted_fields


class Command(BaseCommand):
    help = "Encrypt every stored credential again under the first key of WEBHOOKS_ENCRYPTION_KEYS."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using: str = options["database"]
        try:
            ring = current_keyring()
        except ValueError as exc:
            raise CommandError(f"WEBHOOKS_ENCRYPTION_KEYS is invalid: {exc}") from None
        rewritten = 0
        failed: list[str] = []
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            rows = model._base_manager.using(using)
            names = [f.name for f in fields]
            with transaction.atomic(using=using):
                for pk, *tokens in rows.select_for_update().values_list("pk", *names):
                    changes: dict[str, Ciphertext] = {}
                    for name, token in zip(names, tokens, strict=True):
                        if not token:
                            continue
                        try:
                            changes[name] = Ciphertext(crypto.rotate(ring, str(token)))
                        except crypto.InvalidToken:
                            failed.append(f"{model._meta.verbose_name} {pk}: {name}")
                    if changes:
                        rows.filter(pk=pk).update(**changes)
                        rewritten += len(changes)
        self.stdout.write(f"Re-encrypted {rewritten} credential(s) under the first key.")
        if failed:
            raise CommandError(
                f"{len(failed)} credential(s) cannot be decrypted with any configured key and "
                f"were left as they are: {', '.join(failed)}. Configure the key they were "
                "encrypted with and run this again, or set them anew."
            )
