"""Webhook: where and how to send an HTTP request for an event."""

from __future__ import annotations

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import models

from webhooks_app.choices import HttpMethod
from webhooks_app.models.encrypted import (
    EncryptedTextField,
    encrypted_fields,
    is_decryptable,
    stored_credential,
)
from webhooks_app.models.rules_version import VersionedQuerySet
from webhooks_app.models.validators import (
    validate_header_template,
    validate_payload_url,
    validate_template,
)


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

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        """Whether a secret is set (without decrypting it)."""
        return bool(stored_credential(self, "secret"))

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
            ("body_template", validate_template),
        )
        for field, validator in checks:
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
        if self.standard_webhooks and not self.has_secret:
            errors.setdefault("standard_webhooks", []).append(
                ValidationError("Standard Webhooks signatures need a secret.")
            )
        if errors:
            raise ValidationError(errors)
