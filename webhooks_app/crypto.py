"""Encryption of stored credentials (Fernet, from ``cryptography``), from values passed in.

Pure: no settings are read here. :func:`keyring` builds a :class:`~cryptography.fernet.MultiFernet`
from the configured keys (``WEBHOOKS_ENCRYPTION_KEYS``: the first encrypts, all decrypt) or, when
none are configured, from keys derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``. Keys
derived from the secret keys also decrypt (never encrypt) when keys are configured, so values
written before the setting was set stay readable until ``manage.py webhooks_reencrypt`` rewrites
them under the first configured key.

A Fernet token is authenticated (AES-128-CBC + HMAC-SHA256): a token changed in the database,
or written under a key that is no longer configured, does not decrypt (:class:`InvalidToken`).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "decrypt", "derive_key", "encrypt", "keyring", "rotate"]

_SALT = b"webhooks_app.crypto"
_INFO = b"webhooks_app credentials (Fernet key)"

Key = str | bytes


def _bytes(value: Key) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def derive_key(secret: Key) -> bytes:
    """A Fernet key derived from a Django secret key (HKDF-SHA256)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        _bytes(secret)
    )
    return base64.urlsafe_b64encode(derived)


def keyring(
    configured: Sequence[Key] | None, secret_key: Key, fallbacks: Sequence[Key] = ()
) -> MultiFernet:
    """The keys credentials are encrypted and decrypted with; the first encrypts. Raises
    ``ValueError`` for a configured key that is not a Fernet key (``Fernet.generate_key()``),
    or for a configured empty list."""
    return _keyring(
        None if configured is None else tuple(_bytes(key) for key in configured),
        _bytes(secret_key),
        tuple(_bytes(key) for key in fallbacks),
    )


@functools.lru_cache(maxsize=16)
def _keyring(
    configured: tuple[bytes, ...] | None, secret_key: bytes, fallbacks: tuple[bytes, ...]
) -> MultiFernet:
    derived = [derive_key(key) for key in (secret_key, *fallbacks)]
    if configured is None:
        keys = derived
    elif not configured:
        raise ValueError("WEBHOOKS_ENCRYPTION_KEYS holds no key.")
    else:
        keys = [*configured, *derived]
    return MultiFernet([Fernet(key) for key in dict.fromkeys(keys)])


def encrypt(ring: MultiFernet, plaintext: str) -> str:
    """``plaintext`` encrypted under the first key, as text (a Fernet token)."""
    return ring.encrypt(plaintext.encode()).decode("ascii")


@functools.lru_cache(maxsize=4096)
def decrypt(ring: MultiFernet, token: str) -> str:
    """The plaintext of ``token``; raises :class:`InvalidToken` when no key decrypts it."""
    try:
        return ring.decrypt(token.encode("ascii")).decode()
    except (UnicodeError, ValueError) as exc:  # not a token's characters, or not text
        raise InvalidToken from exc


def rotate(ring: MultiFernet, token: str) -> str:
    """``token`` encrypted again under the first key; raises :class:`InvalidToken` when no
    key decrypts it."""
    try:
        return ring.rotate(token.encode("ascii")).decode("ascii")
    except (UnicodeError, ValueError) as exc:
        raise InvalidToken from exc
