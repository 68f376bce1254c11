"""Request signatures: NetBox's ``X-Hook-Signature`` and Standard Webhooks.

A secret that cannot be used (text that is not valid Unicode, a ``whsec_`` secret that is not
base64) raises :class:`~webhooks_app.exceptions.SigningError` saying so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from webhooks_app.exceptions import SigningError

__all__ = [
    "generate_signature",
    "generate_standard_signature",
    "standard_secret",
    "verify_signature",
    "verify_standard_signature",
]

STANDARD_SECRET_PREFIX = "whsec_"


def _utf8(secret: str) -> bytes:
    try:
        return secret.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise SigningError(
            f"The secret cannot be used to sign: it is not valid Unicode text ({bad!r} at "
            f"character {exc.start + 1})."
        ) from None


def generate_signature(body: bytes, secret: str) -> str:
    """Lower-case hex HMAC-SHA512 of the exact body bytes, keyed with the UTF-8 secret."""
    return hmac.new(_utf8(secret), body, hashlib.sha512).hexdigest()


def verify_signature(body: bytes, secret: str, signature: str) -> bool:
    return hmac.compare_digest(generate_signature(body, secret), signature.strip().lower())


def _standard_key(secret: str) -> bytes:
    """The HMAC key for Standard Webhooks: a ``whsec_`` base64 secret, or our raw secret's bytes."""
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(STANDARD_SECRET_PREFIX) :])
        except ValueError as exc:  # binascii.Error: bad padding; ValueError: not ASCII
            raise SigningError(
                f"The secret starts with {STANDARD_SECRET_PREFIX!r} but the rest is not "
                f"base64 ({exc}), so it cannot sign for Standard Webhooks."
            ) from None
    return _utf8(secret)


def standard_secret(secret: str) -> str:
    """The secret as a receiver using the ``standardwebhooks`` library must be configured."""
    if secret.startswith(STANDARD_SECRET_PREFIX):
        return secret
    return STANDARD_SECRET_PREFIX + base64.b64encode(_utf8(secret)).decode("ascii")


def generate_standard_signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` as Standard Webhooks defines it."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_standard_signature(
    msg_id: str, timestamp: int, body: bytes, secret: str, header: str
) -> bool:
    expected = generate_standard_signature(msg_id, timestamp, body, secret).split(",", 1)[1]
    for candidate in header.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False
