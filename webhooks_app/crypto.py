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

__all__ = [
    "InvalidToken",
    "decrypt",
    "derive_key",
    "encrypt",
    "is_token",
    "keyring",
    "rotate",
]

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


# A Fernet token: version byte 0x80, 8-byte timestamp, 16-byte IV, AES-CBC blocks of 16 bytes,
# 32-byte HMAC, in URL-safe base64 (so it starts with "gAAAAA" for any current timestamp).
_TOKEN_OVERHEAD = 1 + 8 + 16 + 32


def is_token(value: str) -> bool:
    """Whether ``value`` has the form of a Fernet token (whatever key made it)."""
    if not value.startswith("gAAAAA") or len(value) < 100:
        return False
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (UnicodeError, ValueError):
        return False
    body = len(raw) - _TOKEN_OVERHEAD
    return raw[0] == 0x80 and body >= 16 and body % 16 == 0


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
