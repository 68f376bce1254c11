"""``manage.py webhooks_reencrypt``: every stored credential rewritten under the first key, so
the old key can be dropped; one no key decrypts is named and left as it is."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tests.conftest import make_webhook
from webhooks_app.models import Webhook
from webhooks_app.models.encrypted import UndecryptableCredentialError

pytestmark = pytest.mark.django_db

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))


def reencrypt() -> str:
    out = io.StringIO()
    call_command("webhooks_reencrypt", stdout=out)
    return out.getvalue()


def test_after_reencrypting_the_old_key_can_be_dropped() -> None:
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[OLD]):
        make_webhook("http://127.0.0.1:9/", name="a", secret="secret-a")
        make_webhook("http://127.0.0.1:9/", name="b", secret="secret-b")
        make_webhook("http://127.0.0.1:9/", name="unsigned")
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[NEW, OLD]):
        assert "Re-encrypted 2 credential(s)" in reencrypt()
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[NEW]):
        assert {w.name: w.secret for w in Webhook.objects.all()} == {
            "a": "secret-a",
            "b": "secret-b",
            "unsigned": "",
        }


def test_secrets_from_before_keys_were_configured_move_to_the_configured_key() -> None:
    make_webhook("http://127.0.0.1:9/", name="a", secret="secret-a")  # under SECRET_KEY
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[NEW]):
        reencrypt()
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[NEW], SECRET_KEY="a-new-secret-key"):
        assert Webhook.objects.get().secret == "secret-a"


def test_a_secret_no_key_decrypts_is_named_and_the_others_are_rewritten() -> None:
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[LOST]):
        lost = make_webhook("http://127.0.0.1:9/", name="lost", secret="secret-lost")
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[OLD]):
        make_webhook("http://127.0.0.1:9/", name="kept", secret="secret-kept")
    with (
        override_settings(WEBHOOKS_ENCRYPTION_KEYS=[NEW, OLD]),
        pytest.raises(CommandError, match=f"webhook {lost.pk}: secret"),
    ):
        reencrypt()
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[NEW]):
        assert Webhook.objects.get(name="kept").secret == "secret-kept"
        with pytest.raises(UndecryptableCredentialError):
            Webhook.objects.get(name="lost").secret  # noqa: B018
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[LOST]):
        assert Webhook.objects.get(name="lost").secret == "secret-lost"
