"""The webhook's admin form: its credentials are write-only.

``secret``, ``secret_headers`` and ``client_key`` are never shown back, not even when the form
comes back with errors: the inputs are always empty, a placeholder says whether one is set,
typing a value replaces it, leaving the input empty keeps it, and a "clear" checkbox removes
it. The stored value is kept as its token, never decrypted here.

"Generate a new secret" makes a strong random secret (see
:func:`~webhooks_app.signing.new_secret`), which the admin shows once, on the page answering
the save (:meth:`~webhooks_app.admin.webhooks.WebhookAdmin.response_change`). "End the overlap
now" forgets the previous secret (also when the same save changes the secret).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from webhooks_app.admin.forms import code_textarea
from webhooks_app.models import Webhook
from webhooks_app.models.encrypted import stored_credential
from webhooks_app.models.validators import validate_not_a_token
from webhooks_app.signing import new_secret

__all__ = ["WRITE_ONLY", "WebhookForm"]

# django-stubs makes ModelForm generic, but Django's class cannot be subscripted at run time.
if TYPE_CHECKING:
    WebhookFormBase = forms.ModelForm[Webhook]
else:
    WebhookFormBase = forms.ModelForm

# Write-only field -> (what it is called in errors, its "clear" checkbox, its placeholder
# when one is set).
WRITE_ONLY = {
    "secret": ("secret", "clear_secret", "A secret is set (hidden)"),
    "secret_headers": ("secret headers", "clear_secret_headers", "Secret headers are set (hidden)"),
    "client_key": ("client key", "clear_client_key", "A client key is set (hidden)"),
}


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never shows a value (not even the one just typed, on an invalid form)."""

    def format_value(self, value: Any) -> str | None:
        return None


class WriteOnlyField(forms.CharField):
    """A write-only value: the input is never filled in, and only typing a value changes it."""

    def __init__(self, *, textarea: bool = False, **kwargs: Any) -> None:
        self.textarea = textarea
        if textarea:
            attrs = {"class": "vLargeTextField webhooks-code", "rows": 3, "spellcheck": "false"}
            kwargs["widget"] = WriteOnlyTextarea(attrs={**attrs, "autocomplete": "off"})
        else:
            kwargs["widget"] = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            )
        kwargs.setdefault("validators", [validate_not_a_token])
        super().__init__(required=False, strip=False, **kwargs)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(data)

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value))
        return _lines(text) if self.textarea else text


def _lines(text: str) -> str:
    """Text from a textarea with the line ends a file would have (browsers send CRLF)."""
    return text.replace("\r\n", "\n")


def _clear(label: str, effect: str) -> forms.BooleanField:
    return forms.BooleanField(required=False, label=f"Clear {label}", help_text=effect)


class WebhookForm(WebhookFormBase):
    secret = WriteOnlyField(
        max_length=Webhook._meta.get_field("secret").max_length,
        help_text="HMAC-SHA512 signing secret, sent in the X-Hook-Signature header. "
        "It is never shown again; leave blank to keep the current one. When it changes, the "
        "previous one stays valid for the overlap below.",
    )
    generate_secret = forms.BooleanField(
        required=False,
        label="Generate a new secret",
        help_text="Make a strong random secret (whsec_… when Standard Webhooks is on). It is "
        "shown once, after saving: copy it then.",
    )
    clear_secret = _clear("secret", "Remove the stored secret: requests are sent unsigned.")
    end_secret_overlap = forms.BooleanField(
        required=False,
        label="End the overlap now",
        help_text="Forget the previous secret: only the current one signs from now on.",
    )
    secret_headers = WriteOnlyField(
        textarea=True,
        help_text="Headers for credentials (<code>Authorization: Bearer …</code>, "
        "<code>X-Api-Key: …</code>): one <code>Name: Value</code> a line, a Jinja2 template "
        "like the additional headers; a name here replaces the same name there. Stored "
        "encrypted, never shown again, <code>[hidden]</code> in the delivery log and previews. "
        "Typing replaces all of them; leave blank to keep them.",
    )
    clear_secret_headers = _clear("secret headers", "Remove the stored secret headers.")
    client_key = WriteOnlyField(
        textarea=True,
        help_text="The PEM private key (unencrypted) of the client certificate. Stored "
        "encrypted, never shown again; leave blank to keep the current one.",
    )
    clear_client_key = _clear("client key", "Remove the stored key (with the certificate).")

    class Meta:
        model = Webhook
        fields = [
            "name",
            "description",
            "payload_url",
            "http_method",
            "http_content_type",
            "additional_headers",
            "body_template",
            "secret",
            "secret_overlap_hours",
            "standard_webhooks",
            "secret_headers",
            "ssl_verification",
            "ca_file_path",
            "client_certificate",
            "client_key",
        ]
        widgets = {
            "payload_url": forms.TextInput(
                attrs={"class": "vTextField webhooks-code webhooks-wide"}
            ),
            "additional_headers": code_textarea(rows=4),
            "body_template": code_textarea(rows=14),
            "client_certificate": code_textarea(rows=4),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The stored tokens (never decrypted here): kept as they are when nothing is typed.
        self.stored = {
            name: stored_credential(self.instance, name) if self.instance.pk else ""
            for name in WRITE_ONLY
        }
        for name, (label, _, is_set) in WRITE_ONLY.items():
            if name in self.fields:  # not for a user who may only view
                placeholder = is_set if self.stored[name] else f"No {label} set"
                self.fields[name].widget.attrs["placeholder"] = placeholder

    def clean_client_certificate(self) -> str:
        return _lines(self.cleaned_data.get("client_certificate") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, (label, clear, _) in WRITE_ONLY.items():
            typed = cleaned.get(name) or ""
            if name not in self.fields:
                continue
            if cleaned.get(clear):
                if typed:
                    self.add_error(name, f"Enter a new {label} or clear it, not both.")
                cleaned[name] = ""
            elif not typed:
                cleaned[name] = self.stored[name]
        if cleaned.get("generate_secret"):
            if self.data.get(self.add_prefix("secret")) or cleaned.get("clear_secret"):
                self.add_error("generate_secret", "Generate a secret, enter one or clear it.")
            else:
                standard = bool(cleaned.get("standard_webhooks"))
                cleaned["secret"] = self.instance.generated_secret = new_secret(standard=standard)
        if cleaned.get("end_secret_overlap"):
            self.instance.end_secret_overlap()
        return cleaned
