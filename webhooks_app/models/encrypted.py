"""Credentials encrypted at rest: :class:`EncryptedTextField`.

The column holds a Fernet token (:mod:`webhooks_app.crypto`), never the credential; ``""``
means "not set" and is stored as is. On the instance, the attribute reads as the plaintext
(decrypted when read) and takes a plaintext when assigned (encrypted at once, under the first
key of ``WEBHOOKS_ENCRYPTION_KEYS``); what was loaded from the database stays a
:class:`Ciphertext` in the instance's ``__dict__``, so pickling or copying an instance, saving
it, ``dumpdata`` and ``values()`` only ever see the token.

A token that no configured key decrypts (the key was dropped, or the value was changed in the
database) does not stop the instance from loading: reading the attribute raises
:class:`UndecryptableCredentialError` (a :class:`~webhooks_app.exceptions.WebhookError`), which
fails that webhook's delivery attempts with its message. :func:`stored_credential` tells
whether one is set without decrypting.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import MultiFernet
from django.conf import settings
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from webhooks_app import crypto
from webhooks_app.conf import conf
from webhooks_app.exceptions import WebhookError

__all__ = [
    "Ciphertext",
    "EncryptedTextField",
    "UndecryptableCredentialError",
    "current_keyring",
    "encrypted_fields",
    "is_decryptable",
    "stored_credential",
]


class Ciphertext(str):
    """A credential as stored: a Fernet token (assigning one keeps it as is)."""

    __slots__ = ()


class UndecryptableCredentialError(WebhookError):
    """A stored credential that no key of ``WEBHOOKS_ENCRYPTION_KEYS`` (or, unset, of
    ``SECRET_KEY`` / ``SECRET_KEY_FALLBACKS``) decrypts."""


def current_keyring() -> MultiFernet:
    """The keys from the settings, now (``ValueError`` when a configured key is invalid)."""
    return crypto.keyring(
        conf.WEBHOOKS_ENCRYPTION_KEYS,
        settings.SECRET_KEY,
        getattr(settings, "SECRET_KEY_FALLBACKS", ()),
    )


class EncryptedAttribute(DeferredAttribute):
    """The instance attribute of an :class:`EncryptedTextField`: plaintext in, plaintext out,
    a token in between."""

    field: EncryptedTextField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        return self.field.decrypt(instance, super().__get__(instance, cls))

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.seal(value)


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A credential, stored as a Fernet token in a text column. ``max_length`` (optional)
    limits the plaintext in forms."""

    description = "A credential, encrypted at rest"
    descriptor_class = EncryptedAttribute

    def seal(self, value: Any) -> str:
        """What the instance keeps for ``value``: a token (a plaintext is encrypted now). A
        value that has the form of a Fernet token is kept as it is: ``loaddata`` of a
        ``dumpdata`` assigns the stored tokens, which must not be encrypted a second time (a
        credential cannot be a Fernet token, see the README's *Secrets at rest*)."""
        if isinstance(value, Ciphertext) or value in (None, ""):
            return value or ""
        if isinstance(value, str) and crypto.is_token(value):
            return Ciphertext(value)
        return Ciphertext(crypto.encrypt(current_keyring(), str(value)))

    def decrypt(self, instance: Any, token: str) -> str:
        if not token:
            return ""
        try:
            ring = current_keyring()
        except ValueError as exc:
            raise UndecryptableCredentialError(
                f"The {self.verbose_name} of {self.describe(instance)} cannot be decrypted: "
                f"WEBHOOKS_ENCRYPTION_KEYS is invalid ({exc})."
            ) from None
        try:
            return crypto.decrypt(ring, token)
        except crypto.InvalidToken:
            raise UndecryptableCredentialError(
                f"The {self.verbose_name} of {self.describe(instance)} cannot be decrypted with "
                "any key of WEBHOOKS_ENCRYPTION_KEYS (or, when it is unset, SECRET_KEY and "
                "SECRET_KEY_FALLBACKS): it was encrypted under a key that is no longer "
                f"configured, or changed in the database. Configure that key again, or set a "
                f"new {self.verbose_name}."
            ) from None

    def describe(self, instance: Any) -> str:
        return f"{self.model._meta.verbose_name} {instance.pk} ({instance})"

    def stored(self, instance: Any) -> str:
        """The token the instance holds (``""`` when none is set), without decrypting."""
        if self.attname not in instance.__dict__:  # deferred: load it
            instance.refresh_from_db(fields=[self.attname])
        return instance.__dict__[self.attname]  # type: ignore[no-any-return]

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        return Ciphertext(value) if value else ""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        return self.stored(model_instance)

    def value_from_object(self, obj: models.Model) -> Any:
        return self.stored(obj)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "" or isinstance(value, Ciphertext):
            return value if value is None else str(value)
        return crypto.encrypt(current_keyring(), value)  # a plaintext, e.g. from update()


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def _field(instance: models.Model, name: str) -> EncryptedTextField:
    field = instance._meta.get_field(name)
    if not isinstance(field, EncryptedTextField):
        raise TypeError(f"{name} is not an encrypted field")
    return field


def stored_credential(instance: models.Model, name: str) -> str:
    """The stored token of field ``name`` (``""``: not set); never decrypts."""
    return _field(instance, name).stored(instance)


def is_decryptable(instance: models.Model, name: str) -> bool:
    try:
        getattr(instance, name)
    except UndecryptableCredentialError:
        return False
    return True
