"""Field validators for webhook configuration (pure: no ORM), and the one JSON decoder for
untrusted text: the API's request bodies and the admin's JSON fields.

``load_json`` decodes JSON or raises :class:`InvalidJSON`, saying what is wrong and where, also
for what ``json.loads`` fails on with another exception than a syntax error: nesting deeper
than a limit (found before decoding, so that no recursion limit is ever reached; Python's
decoder raises ``RecursionError``), integers beyond Python's digit limit (``ValueError``), and
``NaN`` / ``Infinity``, which are not JSON. ``validate_storable_json`` checks a decoded value
before it is stored: depth, text a database refuses, numbers out of range (``1e400``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from webhooks_app import crypto
from webhooks_app.templating import is_template, literal_header_error, template_syntax_error

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
    """A header template that compiles, and whose literally written lines are headers HTTP can
    carry (a token for a name; rendered lines are checked when sent)."""
    validate_template(value, headers=True)
    error = literal_header_error(value) if value else None
    if error:
        raise ValidationError(error, code="invalid_header")


def validate_secret_header_template(value: str) -> None:
    """As :func:`validate_header_template`, for secret headers: the messages never quote the
    text (a value, or a template's code, may be the credential)."""
    if not value:
        return
    if is_template(value):
        error = template_syntax_error(value, headers=True, reveal=False)
        if error:
            raise ValidationError(error, code="invalid_template")
    error = literal_header_error(value, reveal=False)
    if error:
        raise ValidationError(error, code="invalid_header")


def validate_json_object_or_null(value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        raise ValidationError("Action data must be a JSON object or null.", code="not_an_object")


# The deepest JSON a field holds (objects and arrays inside each other): enough for any
# configuration, and far from the recursion limits of the code that encodes it again.
MAX_JSON_DEPTH = 64
# Ids beyond a 64-bit integer cannot exist, and some databases refuse them in queries.
MAX_ID = 2**63 - 1

TOO_DEEP = f"JSON is nested too deeply (more than {MAX_JSON_DEPTH} levels)."

# A string (to its end, even unterminated); brackets and commas; a key's colon.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_TOKEN = re.compile(rf"{_STRING.pattern}|[\[\]{{}},]", re.DOTALL)
_COLON = re.compile(r"\s*:")

Path = list[str | int | None]


class InvalidJSON(ValueError):
    """Why a JSON text was refused, and where: the 1-based line and column when known, and
    for nesting too deep the keys and indexes of the containers around the place (``path``)."""

    def __init__(
        self,
        msg: str,
        lineno: int | None = None,
        colno: int | None = None,
        path: Path | None = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.lineno = lineno
        self.colno = colno
        self.path = path or []

    def describe(self, prefix: str = "Invalid JSON") -> str:
        where = f" at line {self.lineno}, column {self.colno}" if self.lineno else ""
        return f"{prefix}{where}: {self.msg}"


def _nesting_bound(text: str) -> int:
    """At least the nesting depth that a left-to-right decoder reaches in ``text`` (in C, with
    no recursion: strings dropped, then the brackets summed)."""
    if "[" not in text and "{" not in text:
        return 0
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1]
    return key if isinstance(key, str) else token


def _locate_too_deep(text: str, max_depth: int) -> InvalidJSON | None:
    """The error for the first object or array that opens deeper than ``max_depth``, with
    its position and path, or None."""
    # Each open container: its bracket and the key (object) or index (array) being read.
    stack: list[list[Any]] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            if len(stack) == max_depth:
                pos = match.start()
                return InvalidJSON(
                    f"nested too deeply (more than {max_depth} levels)",
                    lineno=text.count("\n", 0, pos) + 1,
                    colno=pos - text.rfind("\n", 0, pos),
                    path=[entry[1] for entry in stack],
                )
            stack.append([token, 0 if token == "[" else None])
        elif token in ("]", "}"):
            if stack:
                stack.pop()
        elif token == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
        elif stack and stack[-1][0] == "{" and _COLON.match(text, match.end()):
            stack[-1][1] = _key(token)
    return None


def _parse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not a JSON value")


def _parse_int(text: str) -> int:
    limit = sys.get_int_max_str_digits()
    if limit and len(text.lstrip("-")) > limit:
        raise InvalidJSON(f"a number has more than {limit} digits")
    return int(text)


def load_json(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``text`` decoded, or :class:`InvalidJSON` saying what is wrong (and where)."""
    if _nesting_bound(text) > max_depth:
        error = _locate_too_deep(text, max_depth)
        if error is not None:
            raise error
    try:
        return json.loads(
            text,
            parse_constant=_parse_constant,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        raise InvalidJSON(exc.msg, exc.lineno, exc.colno) from exc


def _has_unstorable_text(text: str) -> bool:
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def validate_storable_json(value: Any) -> None:
    """JSON that every supported database can store and encode again: no NUL characters or
    unpaired surrogates in strings (PostgreSQL's jsonb refuses them), no more than
    ``MAX_JSON_DEPTH`` objects and arrays inside each other, finite numbers (``1e400`` decodes
    as infinity, which JSON cannot write)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        texts: list[str] = []
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError("JSON numbers must be finite.", code="not_finite")
        elif isinstance(item, (Mapping, list)):
            if depth >= MAX_JSON_DEPTH:
                raise ValidationError(TOO_DEEP, code="too_deep")
            if isinstance(item, Mapping):
                texts = [str(key) for key in item]
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
        if any(_has_unstorable_text(text) for text in texts):
            raise ValidationError(
                "JSON text cannot contain NUL characters or unpaired surrogates.",
                code="unstorable",
            )


def validate_not_a_token(value: str) -> None:
    """Refuse a credential that has the form of a Fernet token: credentials are stored as
    tokens, and a value of that form is kept as the token it looks like (see
    :meth:`~webhooks_app.models.encrypted.EncryptedTextField.seal`)."""
    if value and crypto.is_token(value.strip()):
        raise ValidationError(
            "This looks like an encrypted value (a Fernet token, as the database stores "
            "credentials), not a credential: enter the credential itself.",
            code="encrypted_value",
        )
