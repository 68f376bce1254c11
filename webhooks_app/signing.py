"""Request signatures: NetBox's ``X-Hook-Signature`` and Standard Webhooks.

A secret that cannot be used (text that is not valid Unicode, a ``whsec_`` secret that is not
base64) raises :class:`~webhooks_app.exceptions.SigningError` saying so.

During a secret's rotation overlap (see :mod:`webhooks_app.delivery.rendering` for the rule),
``X-Hook-Signature`` is made with the previous secret and ``X-Hook-Signature-Next`` with the
new one, and ``webhook-signature`` carries both. The ``verify_*`` functions take one secret or
several (a receiver in the middle of switching), and accept a request when any of its secrets
made any of the signatures it carries: :func:`verify_hook_signatures` is the receiver's whole
check of the two ``X-Hook-*`` headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from secrets import token_bytes, token_urlsafe

from webhooks_app.choices import SIGNATURE_HEADER, SIGNATURE_NEXT_HEADER
from webhooks_app.exceptions import SigningError

__all__ = [
    "STANDARD_HEADERS",
    "Secrets",
    "check_request_signatures",
    "generate_signature",
    "generate_standard_signature",
    "generate_standard_signatures",
    "new_secret",
    "standard_secret",
    "verify_hook_signatures",
    "verify_signature",
    "verify_standard_signature",
]

STANDARD_SECRET_PREFIX = "whsec_"
# Bytes of randomness in a generated secret (256 bits, the HMAC-SHA256 key size).
GENERATED_SECRET_BYTES = 32

STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")  # Standard Webhooks

Secrets = str | Iterable[str]
"""One secret, or several (any of them may have signed)."""


def new_secret(*, standard: bool = False) -> str:
    """A strong random secret: ``whsec_`` and 32 random bytes in base64 (what Standard
    Webhooks libraries are configured with) when ``standard``, else 32 random bytes as URL-safe
    text (43 characters). Either is used as it is, as text, for ``X-Hook-Signature``."""
    if standard:
        return STANDARD_SECRET_PREFIX + base64.b64encode(
            token_bytes(GENERATED_SECRET_BYTES)
        ).decode("ascii")
    return token_urlsafe(GENERATED_SECRET_BYTES)


def _all(secrets: Secrets) -> list[str]:
    return [secrets] if isinstance(secrets, str) else [s for s in secrets if s]


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


def verify_signature(body: bytes, secret: Secrets, signature: str) -> bool:
    """Whether one of the secrets made ``signature`` (an ``X-Hook-Signature`` value)."""
    given = signature.strip().lower()
    return any(hmac.compare_digest(generate_signature(body, s), given) for s in _all(secret))


def verify_hook_signatures(
    body: bytes, secret: Secrets, signature: str | None, next_signature: str | None = None
) -> bool:
    """A receiver's check: whether one of its secrets made ``X-Hook-Signature-Next`` (the
    new secret's, sent during an overlap) or ``X-Hook-Signature``. A receiver that has not
    switched yet verifies ``X-Hook-Signature`` with the old secret; one that has switched is
    configured with the new secret, which made ``X-Hook-Signature-Next`` during the overlap
    and ``X-Hook-Signature`` after it."""
    return any(
        value is not None and verify_signature(body, secret, value)
        for value in (next_signature, signature)
    )


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


def generate_standard_signatures(
    msg_id: str, timestamp: int, body: bytes, secrets: Iterable[str]
) -> str:
    """The ``webhook-signature`` value for several secrets: their ``v1,...`` signatures
    separated by spaces, as the Standard Webhooks specification allows during a rotation."""
    return " ".join(
        generate_standard_signature(msg_id, timestamp, body, secret) for secret in secrets
    )


def verify_standard_signature(
    msg_id: str, timestamp: int, body: bytes, secret: Secrets, header: str
) -> bool:
    """Whether one of the secrets made one of the ``v1`` signatures in ``header``."""
    expected = [
        generate_standard_signature(msg_id, timestamp, body, s).split(",", 1)[1]
        for s in _all(secret)
    ]
    for candidate in header.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and any(hmac.compare_digest(value, e) for e in expected):
            return True
    return False


def check_request_signatures(
    secret: Secrets, headers: Mapping[str, str], body: bytes
) -> tuple[bool | None, bool | None]:
    """A received request's (``X-Hook-Signature`` valid?, Standard Webhooks signature valid?)
    by the rotation rule, with one secret or several; None when not checked (no secret, or
    the request has no such header)."""
    secrets = _all(secret)
    if not secrets:
        return None, None
    found = {name.lower(): value for name, value in headers.items()}
    signature = found.get(SIGNATURE_HEADER.lower())
    next_signature = found.get(SIGNATURE_NEXT_HEADER.lower())
    hook_valid = None
    if signature is not None or next_signature is not None:
        hook_valid = verify_hook_signatures(body, secrets, signature, next_signature)
    msg_id, timestamp, standard = (found.get(name, "") for name in STANDARD_HEADERS)
    if not (msg_id or timestamp or standard):
        return hook_valid, None
    if not (msg_id and standard and timestamp.isdigit()):
        return hook_valid, False
    return hook_valid, verify_standard_signature(msg_id, int(timestamp), body, secrets, standard)
