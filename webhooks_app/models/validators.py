"""Field validators for webhook configuration (pure: no ORM)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from webhooks_app.templating import is_template, template_syntax_error

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_MESSAGE = "Enter a valid URL, beginning with http:// or https://."


def validate_payload_url(value: str) -> None:
    """An http(s) URL with a host, or a Jinja2 template that compiles and, if it starts with a
    literal scheme, uses http or https."""
    if not value:
        return
    if is_template(value):
        match = _SCHEME.match(value)
        if match and match.group(1).lower() not in {"http", "https"}:
            raise ValidationError(_URL_MESSAGE, code="invalid_url")
        error = template_syntax_error(value)
        if error:
            raise ValidationError(error, code="invalid_template")
        return
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        raise ValidationError(f"{_URL_MESSAGE} ({exc})", code="invalid_url") from exc
    if parts.scheme not in {"http", "https"} or not host:
        raise ValidationError(_URL_MESSAGE, code="invalid_url")
    if any(ch.isspace() for ch in value):
        raise ValidationError("A URL cannot contain spaces.", code="invalid_url")


def validate_template(value: str, *, headers: bool = False) -> None:
    if value and is_template(value):
        error = template_syntax_error(value, headers=headers)
        if error:
            raise ValidationError(error, code="invalid_template")


def validate_header_template(value: str) -> None:
    validate_template(value, headers=True)


def validate_json_object_or_null(value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        raise ValidationError("Action data must be a JSON object or null.", code="not_an_object")


def format_json_error(exc: json.JSONDecodeError) -> str:
    return f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
