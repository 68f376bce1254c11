"""Keys for stored credentials: configured Fernet keys (the first encrypts, all decrypt), or
keys derived from SECRET_KEY and its fallbacks; the settings' checks."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.test import override_settings

from webhooks_app import crypto

K1, K2 = Fernet.generate_key(), Fernet.generate_key()


def test_without_configured_keys_secret_key_encrypts_and_its_fallbacks_decrypt() -> None:
    old = crypto.keyring(None, "old-secret-key")
    token = crypto.encrypt(old, "s3cret")
    rotated = crypto.keyring(None, "new-secret-key", ["old-secret-key"])
    assert crypto.decrypt(rotated, token) == "s3cret"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(crypto.keyring(None, "new-secret-key"), token)
    # The derived key is a real Fernet key, the same every time, different per secret key.
    assert Fernet(crypto.derive_key("x")).decrypt(Fernet(crypto.derive_key("x")).encrypt(b"a"))
    assert crypto.derive_key("x") == crypto.derive_key("x") != crypto.derive_key("y")


def test_configured_keys_the_first_encrypts_all_decrypt() -> None:
    token = crypto.encrypt(crypto.keyring([K1], "sk"), "s3cret")
    ring = crypto.keyring([K2.decode(), K1], "sk")
    assert crypto.decrypt(ring, token) == "s3cret"
    assert Fernet(K2).decrypt(crypto.encrypt(ring, "x").encode()) == b"x"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(crypto.keyring([K2], "sk"), token)
    rotated = crypto.rotate(ring, token)
    assert crypto.decrypt(crypto.keyring([K2], "other-sk"), rotated) == "s3cret"


def test_values_written_before_keys_were_configured_still_decrypt() -> None:
    token = crypto.encrypt(crypto.keyring(None, "sk"), "s3cret")
    assert crypto.decrypt(crypto.keyring([K1], "sk"), token) == "s3cret"


@pytest.mark.parametrize("value", ["not a token", "gAAAAAB\u00e9", ""])
def test_garbage_is_an_invalid_token(value: str) -> None:
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(crypto.keyring(None, "sk"), value)


@pytest.mark.parametrize("keys", [[], ["short"]])
def test_invalid_configured_keys_raise_value_error(keys: list[str]) -> None:
    with pytest.raises(ValueError):
        crypto.keyring(keys, "sk")


def _ids(deploy: bool = False) -> list[str]:
    return [m.id or "" for m in run_checks(include_deployment_checks=deploy)]


@pytest.mark.django_db  # Django 6.1's checks read the database
@pytest.mark.parametrize("value", [[], "a-key", ["not-a-key"], [K1, 42], {"k": K1}])
def test_invalid_encryption_keys_are_e014(value: object) -> None:
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=value):
        assert "webhooks_app.E014" in _ids()


@pytest.mark.django_db  # Django 6.1's checks read the database
def test_deploy_check_warns_when_no_keys_are_configured() -> None:
    assert "webhooks_app.W003" not in _ids()
    assert "webhooks_app.W003" in _ids(deploy=True)
    with override_settings(WEBHOOKS_ENCRYPTION_KEYS=[K1.decode(), K2]):
        ids = _ids(deploy=True)
        assert "webhooks_app.W003" not in ids and "webhooks_app.E014" not in ids
