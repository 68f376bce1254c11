"""Webhook: where and how to send an HTTP request for an event, and its credentials.

Secret rotation (any ``save()``: admin, API, ORM): when the secret changes from a non-empty
value to another one, the old one becomes ``previous_secret`` until ``now +
secret_overlap_hours`` (``previous_secret_expires_at``); with an overlap of 0 the previous
secret is cleared. Clearing the secret clears both. How the two are used when signing is in
:mod:`webhooks_app.delivery.rendering`. ``QuerySet.update()`` writes columns as they are: it
does not rotate.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from webhooks_app.choices import HttpMethod
from webhooks_app.models.certificates import check_client_certificate
from webhooks_app.models.encrypted import (
    EncryptedTextField,
    UndecryptableCredentialError,
    encrypted_fields,
    is_decryptable,
    stored_credential,
)
from webhooks_app.models.rules_version import VersionedQuerySet
from webhooks_app.models.validators import (
    validate_header_template,
    validate_payload_url,
    validate_secret_header_template,
    validate_template,
)
from webhooks_app.signing import new_secret

# What a webhook loaded from the database held in ``secret`` (a token) when it was loaded.
_UNKNOWN = object()


class Webhook(models.Model):
    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=200, blank=True)
    payload_url = models.CharField(
        "URL",
        max_length=500,
        help_text="An http(s) URL, or a Jinja2 template that renders one.",
    )
    http_method = models.CharField(
        "HTTP method", max_length=30, choices=HttpMethod.choices, default=HttpMethod.POST
    )
    http_content_type = models.CharField(
        "HTTP content type", max_length=100, default="application/json"
    )
    additional_headers = models.TextField(
        blank=True,
        help_text="Jinja2 template; one <code>Name: Value</code> a line. "
        "Use <code>|header_safe</code> on values taken from the object.",
    )
    body_template = models.TextField(
        blank=True,
        help_text="Jinja2 template. Empty: the event context as JSON (NetBox's payload).",
    )
    secret = EncryptedTextField(
        max_length=255,
        blank=True,
        help_text="When set, the body is signed with HMAC-SHA512 in the X-Hook-Signature header. "
        "Stored encrypted; reading it decrypts it (UndecryptableCredentialError when no key can).",
    )
    previous_secret = EncryptedTextField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="The secret before the last change, still signed with until "
        "previous_secret_expires_at. Never shown.",
    )
    previous_secret_expires_at = models.DateTimeField(
        "previous secret expires at",
        null=True,
        blank=True,
        editable=False,
        help_text="Until then, requests also carry a signature made with the previous secret.",
    )
    secret_overlap_hours = models.PositiveIntegerField(
        "secret overlap (hours)",
        default=24,
        help_text="When the secret changes, the previous one stays valid this many hours "
        "(0: not at all).",
    )
    secret_headers = EncryptedTextField(
        blank=True,
        help_text="Like additional headers (Jinja2, one <code>Name: Value</code> a line), for "
        "credentials: stored encrypted, never shown back, [hidden] in the delivery log.",
    )
    standard_webhooks = models.BooleanField(
        "Standard Webhooks signature",
        default=False,
        help_text="Also send webhook-id, webhook-timestamp and webhook-signature (needs a secret).",
    )
    ssl_verification = models.BooleanField("SSL verification", default=True)
    ca_file_path = models.CharField(  # noqa: DJ001  (null as in NetBox: "not set")
        "CA file path",
        max_length=4096,
        null=True,
        blank=True,
        help_text="CA bundle on the worker host to verify the receiver's certificate.",
    )
    client_certificate = models.TextField(
        "client certificate",
        blank=True,
        help_text="PEM certificate (and chain) presented to receivers that ask for one "
        "(mutual TLS).",
    )
    client_key = EncryptedTextField(
        "client key",
        blank=True,
        help_text="PEM private key of the client certificate: stored encrypted, never shown back.",
    )
    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    objects = VersionedQuerySet["Webhook"].as_manager()

    # Not fields: the secret's token when loaded (rotation), whether end_secret_overlap() was
    # called before the next save, and a secret generate_secret() made (shown once).
    loaded_secret_token: object
    loaded_client_certificate: object
    overlap_ended: bool
    generated_secret: str

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        rotates = update_fields is None or "secret" in update_fields
        if rotates and self.rotate_secret(timezone.now()) and update_fields is not None:
            extra = {"previous_secret", "previous_secret_expires_at"}
            kwargs["update_fields"] = {*update_fields, *extra}
        super().save(*args, **kwargs)
        self.loaded_secret_token = stored_credential(self, "secret")
        self.loaded_client_certificate = self.client_certificate
        self.overlap_ended = False

    @classmethod
    def from_db(
        cls,
        db: str | None,
        field_names: Collection[str],
        values: Collection[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # Extra arguments passed through: Django 6.1 added fetch_mode.
        instance = super().from_db(db, field_names, values, *args, **kwargs)
        # The token as loaded: a save whose token is the same did not change the secret.
        instance.loaded_secret_token = instance.__dict__.get("secret", _UNKNOWN)
        instance.loaded_client_certificate = instance.__dict__.get("client_certificate", _UNKNOWN)
        return instance

    @property
    def has_secret(self) -> bool:
        """Whether a secret is set (without decrypting it)."""
        return bool(stored_credential(self, "secret"))

    @property
    def has_secret_headers(self) -> bool:
        return bool(stored_credential(self, "secret_headers"))

    @property
    def has_client_key(self) -> bool:
        return bool(stored_credential(self, "client_key"))

    def previous_secret_active(self, now: datetime | None = None) -> bool:
        """Whether a previous secret is still in its overlap (without decrypting it)."""
        expires = self.previous_secret_expires_at
        if expires is None or not stored_credential(self, "previous_secret"):
            return False
        return expires > (now or timezone.now())

    def active_previous_secret(self, now: datetime | None = None) -> str:
        """The previous secret while its overlap lasts, else ``""``."""
        return self.previous_secret if self.previous_secret_active(now) else ""

    def end_secret_overlap(self) -> None:
        """Forget the previous secret now (also one set by a secret change in the same save)."""
        self.previous_secret = ""
        self.previous_secret_expires_at = None
        self.overlap_ended = True

    def generate_secret(self) -> str:
        """Set a new random secret (rotated as any change when saved) and return it; kept as
        ``generated_secret`` on this instance only, so that the answer to this change can show
        it once. A ``whsec_`` secret when Standard Webhooks is on, else URL-safe text."""
        self.secret = self.generated_secret = new_secret(standard=self.standard_webhooks)
        return self.generated_secret

    def rotate_secret(self, now: datetime) -> bool:
        """Apply the rotation rule for a save now; whether the previous secret changed."""
        changed = False
        if self.previous_secret_expires_at is not None and self.previous_secret_expires_at <= now:
            self.previous_secret, self.previous_secret_expires_at = "", None  # expired: dropped
            changed = True
        new_token = self.__dict__.get("secret")  # deferred (None): not changed
        if new_token is None or self.pk is None:
            return changed
        if new_token == getattr(self, "loaded_secret_token", _UNKNOWN):
            return changed
        old_token = (
            type(self)
            ._base_manager.using(self._state.db)
            .filter(pk=self.pk)
            .values_list("secret", flat=True)
            .first()
        )
        if old_token is None or old_token == new_token:
            return changed
        field = self._meta.get_field("secret")
        assert isinstance(field, EncryptedTextField)
        try:
            old = field.decrypt(self, old_token)
        except UndecryptableCredentialError:
            old = ""  # what cannot be read cannot sign: no overlap
        new = self.secret
        if old == new:
            return changed
        hours = self.secret_overlap_hours or 0
        if new and old and hours > 0 and not getattr(self, "overlap_ended", False):
            self.previous_secret = old
            self.previous_secret_expires_at = now + timedelta(hours=hours)
        else:
            self.previous_secret, self.previous_secret_expires_at = "", None
        return True

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        # A credential no key decrypts cannot be validated; it is kept as it is (its
        # deliveries fail and say why) until a new one is set.
        skip = set(exclude or ())
        skip.update(
            f.name for f in encrypted_fields(type(self)) if not is_decryptable(self, f.name)
        )
        super().clean_fields(exclude=skip)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[ValidationError]] = {}
        checks = (
            ("payload_url", validate_payload_url),
            ("additional_headers", validate_header_template),
            ("secret_headers", validate_secret_header_template),
            ("body_template", validate_template),
        )
        for field, validator in checks:
            if field == "secret_headers" and not is_decryptable(self, field):
                continue  # kept as it is (see clean_fields)
            value = getattr(self, field)
            if value is None:
                continue
            try:
                validator(value)
            except ValidationError as exc:
                errors.setdefault(field, []).append(exc)
        if self.ca_file_path and not self.ssl_verification:
            errors.setdefault("ca_file_path", []).append(
                ValidationError(
                    "Do not specify a CA certificate file if SSL verification is disabled."
                )
            )
        if is_decryptable(self, "client_key"):  # else kept as it is (see clean_fields)
            try:
                # An expired certificate is refused when it is entered; one that expired since
                # does not block other changes to the webhook (its deliveries say why they fail).
                entered = self.client_certificate != getattr(
                    self, "loaded_client_certificate", _UNKNOWN
                )
                check_client_certificate(
                    self.client_certificate, self.client_key, check_expiry=entered
                )
            except ValidationError as exc:
                for field, messages in exc.error_dict.items():
                    errors.setdefault(field, []).extend(messages)
        if self.standard_webhooks and not self.has_secret:
            errors.setdefault("standard_webhooks", []).append(
                ValidationError("Standard Webhooks signatures need a secret.")
            )
        if errors:
            raise ValidationError(errors)
