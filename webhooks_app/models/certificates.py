"""Client certificates (mutual TLS): the check a webhook's certificate and key pass when saved.

:func:`check_client_certificate` takes the PEM certificate (the client certificate first, then
any intermediate certificates of its chain) and the PEM private key (unencrypted), and raises a
:class:`~django.core.exceptions.ValidationError` keyed by ``client_certificate`` /
``client_key`` when they cannot be used together: only one of them set, text that is not PEM,
a passphrase-protected key, a key that does not belong to the certificate, or a certificate
that has expired. No message ever includes the key, nor the text it could not parse.

:func:`describe_certificate` summarises a certificate (subject, issuer, expiry, fingerprint) for
the admin and the API, which never show the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from django.core.exceptions import ValidationError

__all__ = ["CertificateSummary", "check_client_certificate", "describe_certificate"]

CERTIFICATE = "client_certificate"
KEY = "client_key"

_ENCRYPTED_MARKERS = ("ENCRYPTED PRIVATE KEY", "Proc-Type: 4,ENCRYPTED")


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    not_valid_before: datetime
    not_valid_after: datetime
    sha256_fingerprint: str

    def __str__(self) -> str:
        return (
            f"{self.subject}, issued by {self.issuer}, valid until "
            f"{self.not_valid_after:%Y-%m-%d %H:%M} UTC"
        )


def load_certificates(certificate: str) -> list[x509.Certificate]:
    """The certificates in ``certificate`` (PEM), the client certificate first; raises
    ``ValidationError`` (keyed ``client_certificate``) when there is none or one is invalid."""
    if "PRIVATE KEY-----" in certificate:
        raise _error(
            CERTIFICATE,
            "The certificate contains a private key: put the key in the client key field, "
            "which is stored encrypted, and only certificates here.",
            "key_in_certificate",
        )
    if "-----BEGIN CERTIFICATE-----" not in certificate:
        raise _error(
            CERTIFICATE,
            "Enter a PEM certificate (-----BEGIN CERTIFICATE----- ... "
            "-----END CERTIFICATE-----), then any intermediate certificates of its chain.",
            "invalid_certificate",
        )
    try:
        return x509.load_pem_x509_certificates(certificate.encode("utf-8", "replace"))
    except ValueError as exc:
        raise _error(
            CERTIFICATE,
            f"The certificate is not a valid PEM X.509 certificate ({exc}).",
            "invalid_certificate",
        ) from None


def load_private_key(key: str) -> PrivateKeyTypes:
    """The private key in ``key`` (PEM, unencrypted); raises ``ValidationError`` (keyed
    ``client_key``) otherwise. The message never quotes the key."""
    if any(marker in key for marker in _ENCRYPTED_MARKERS):
        raise _error(KEY, _PASSPHRASE_MESSAGE, "encrypted_key")
    if "PRIVATE KEY-----" not in key:
        raise _error(
            KEY,
            "Enter a PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----).",
            "invalid_key",
        )
    try:
        return serialization.load_pem_private_key(key.encode("utf-8", "replace"), password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        raise _error(KEY, _PASSPHRASE_MESSAGE, "encrypted_key") from None
    except (ValueError, UnsupportedAlgorithm):
        # cryptography's messages do not quote the key, but say nothing useful either.
        raise _error(
            KEY,
            "The private key cannot be read: it is not a valid PEM private key (RSA, EC, "
            "Ed25519 or Ed448).",
            "invalid_key",
        ) from None


_PASSPHRASE_MESSAGE = (
    "The private key is protected by a passphrase; enter it unencrypted (for example "
    "`openssl pkey -in key.pem -out plain.pem`): it is stored encrypted here."
)


def check_client_certificate(
    certificate: str, key: str, *, now: datetime | None = None, check_expiry: bool = True
) -> None:
    """Raise ``ValidationError`` ({field: message}) unless ``certificate`` and ``key`` are both
    empty, or a PEM certificate (with its chain) and the PEM private key that belongs to it,
    and (``check_expiry``) the certificate has not expired (at ``now``, default: now)."""
    certificate, key = (certificate or "").strip(), (key or "").strip()
    if not certificate and not key:
        return
    if not key:
        raise _error(KEY, "A client certificate needs its private key.", "key_required")
    if not certificate:
        raise _error(CERTIFICATE, "A client key needs its certificate.", "certificate_required")
    errors: dict[str, ValidationError] = {}
    leaf: x509.Certificate | None = None
    private_key: PrivateKeyTypes | None = None
    try:
        leaf = load_certificates(certificate)[0]
    except ValidationError as exc:
        errors[CERTIFICATE] = exc.error_dict[CERTIFICATE][0]
    try:
        private_key = load_private_key(key)
    except ValidationError as exc:
        errors[KEY] = exc.error_dict[KEY][0]
    if leaf is not None and check_expiry:
        expires = leaf.not_valid_after_utc
        if expires <= (now or datetime.now(UTC)):
            errors[CERTIFICATE] = ValidationError(
                f"The certificate expired on {expires:%Y-%m-%d %H:%M} UTC.",
                code="expired_certificate",
            )
    if leaf is not None and private_key is not None and not _matches(leaf, private_key):
        errors[KEY] = ValidationError(
            "The private key does not belong to the certificate (their public keys differ).",
            code="key_mismatch",
        )
    if errors:
        raise ValidationError(errors)


def describe_certificate(certificate: str) -> CertificateSummary | None:
    """The client certificate's subject, issuer, validity and SHA-256 fingerprint; ``None``
    when ``certificate`` is empty or cannot be read."""
    try:
        leaf = load_certificates((certificate or "").strip())[0]
    except ValidationError:
        return None
    return CertificateSummary(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_valid_before=leaf.not_valid_before_utc,
        not_valid_after=leaf.not_valid_after_utc,
        sha256_fingerprint=leaf.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


def _matches(leaf: x509.Certificate, private_key: PrivateKeyTypes) -> bool:
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        public = private_key.public_key().public_bytes(*spki)
        return public == leaf.public_key().public_bytes(*spki)
    except (ValueError, TypeError, AttributeError, UnsupportedAlgorithm):
        return False


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})
