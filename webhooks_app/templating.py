"""Jinja2 templates for URLs, headers and bodies, rendered in a sandbox.

The sandbox (:mod:`webhooks_app.sandbox`) bounds what a template can build and how much it can
write. Environments are built once per filter set and compiled templates are cached by source,
so rendering a stored template costs microseconds instead of building a sandbox every time.
Compiling never evaluates an expression of unbounded size (the optimizer is off), and input
nested too deeply for Jinja2's parser is a template error, not a crash.

Headers are checked in one place, :func:`header_problem`: when a request is built (every
header, rendered or not: :func:`check_headers`) and, for what a header template writes
literally, when it is saved (:func:`literal_header_error`).

Secret headers (a webhook's credentials) are checked by the same functions with
``reveal=False``: the messages then name the line and a valid header name, never a value or a
character of it, nor what Jinja2 quotes of the template (:data:`HIDDEN_DETAILS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from django.utils.module_loading import import_string
from jinja2 import BaseLoader, Template, TemplateError, TemplateSyntaxError

from webhooks_app.exceptions import HeaderError, TemplateRenderError
from webhooks_app.sandbox import BoundedSandbox, render_bounded

__all__ = [
    "TemplateRenderError",
    "check_headers",
    "HIDDEN_DETAILS",
    "compile_template",
    "header_problem",
    "header_safe",
    "is_template",
    "literal_header_error",
    "parse_headers",
    "render",
    "template_syntax_error",
]

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# A header name is an RFC 9110 token; a value is Latin-1 text without control characters
# (a tab is allowed).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_NOT_FIELD_TEXT = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
# Set by the sender from the body: a template's value would make the receiver misread it.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
_TEMPLATE_OPENERS = ("{{", "{%", "{#")
HIDDEN_DETAILS = "the details are not shown, as they could show a secret value"
# Our own message (it quotes nothing): shown for secret headers too.
NESTED_TOO_DEEPLY = "the template is nested too deeply (brackets, lists or blocks)"
_NAME_RULE = "a name is letters, digits and !#$%&'*+-.^_`|~"


def header_safe(value: Any) -> str:
    """Strip C0 control characters and DEL, so a value cannot break out of its header line."""
    return _CONTROL_CHARS.sub("", str(value))


def is_template(text: str) -> bool:
    return any(opener in text for opener in _TEMPLATE_OPENERS)


def _extra_filters() -> dict[str, Callable[..., Any]]:
    from webhooks_app.conf import conf

    filters: dict[str, Callable[..., Any]] = {}
    for name, value in conf.WEBHOOKS_JINJA2_FILTERS.items():
        filters[name] = import_string(value) if isinstance(value, str) else value
    return filters


def _reject_line_breaks(value: Any) -> Any:
    """Header templates: an expression whose output holds CR or LF would forge header lines."""
    if value is not None and not isinstance(value, (int, float)):
        text = str(value)
        if "\r" in text or "\n" in text:
            raise HeaderError(
                f"A header value contains a line break ({text[:60]!r}); filter it with header_safe."
            )
    return value


def _max_size() -> int:
    from webhooks_app.conf import conf

    return int(conf.WEBHOOKS_TEMPLATE_MAX_SIZE)


@lru_cache(maxsize=8)
def _environment(
    filter_key: tuple[tuple[str, int], ...], headers: bool, max_size: int
) -> BoundedSandbox:
    env = BoundedSandbox(
        max_size=max_size,
        loader=BaseLoader(),
        autoescape=False,
        finalize=_reject_line_breaks if headers else None,
    )
    env.add_filters(_extra_filters())
    if headers:
        # Per-purpose filters win over configured ones.
        env.add_filters({"header_safe": header_safe})
    return env


def _env(headers: bool) -> BoundedSandbox:
    filters = _extra_filters()
    key = tuple(sorted((name, id(func)) for name, func in filters.items()))
    return _environment(key, headers, _max_size())


@lru_cache(maxsize=512)
def _compile(env: BoundedSandbox, source: str) -> Template:
    try:
        return env.from_string(source)
    except RecursionError:
        raise TemplateSyntaxError(NESTED_TOO_DEEPLY, lineno=1) from None


def compile_template(source: str, *, headers: bool = False) -> Template:
    """The compiled template for ``source`` (cached); raises Jinja2's ``TemplateError``."""
    return _compile(_env(headers), source)


def template_syntax_error(source: str, *, headers: bool = False, reveal: bool = True) -> str | None:
    """A human message naming the line if ``source`` does not compile, else None
    (``reveal=False``: without Jinja2's message, which may quote the template)."""
    try:
        compile_template(source, headers=headers)
    except TemplateSyntaxError as exc:
        if not reveal and exc.message != NESTED_TOO_DEEPLY:
            return f"Invalid template (line {exc.lineno}); {HIDDEN_DETAILS}."
        return f"Invalid template (line {exc.lineno}): {exc.message}"
    except TemplateError as exc:
        return f"Invalid template: {exc}" if reveal else f"Invalid template; {HIDDEN_DETAILS}."
    return None


def render(
    source: str, context: Mapping[str, Any], *, headers: bool = False, what: str = "template"
) -> str:
    """Render ``source`` with ``context``; any template failure becomes ``TemplateRenderError``."""
    if _is_plain(source):
        # No template syntax: Jinja2 would give back the text less one trailing newline.
        return source.removesuffix("\n")
    try:
        env = _env(headers)
        return render_bounded(_compile(env, source), context, env.max_size)
    except HeaderError:
        raise
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(
            f"Error rendering {what} (line {exc.lineno}): {exc.message}"
        ) from exc
    except TemplateError as exc:
        raise TemplateRenderError(f"Error rendering {what}: {exc}") from exc
    except RecursionError as exc:
        raise TemplateRenderError(f"Error rendering {what}: it recurses too deeply") from exc
    except MemoryError as exc:
        raise TemplateRenderError(f"Error rendering {what}: out of memory") from exc
    except Exception as exc:  # a filter or a value's method failed inside the sandbox
        raise TemplateRenderError(f"Error rendering {what}: {type(exc).__name__}: {exc}") from exc


def _is_plain(source: str) -> bool:
    """Whether ``source`` has nothing for Jinja2 to do: no delimiter (``{{``, ``{%``, ``{#``
    all start with a brace) and no carriage return (Jinja2 turns CRLF into LF)."""
    return "{" not in source and "\r" not in source


def parse_headers(text: str) -> dict[str, str]:
    """Split rendered header text into ``Name: Value`` pairs (later duplicates win).

    Lines end at LF (a CRLF's CR is dropped). Blank lines and lines without a colon are
    skipped. A name or value that still contains CR cannot be sent safely: ``HeaderError``.
    """
    result: dict[str, str] = {}
    for raw_line in text.split("\n"):
        line = raw_line.removesuffix("\r")
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if not name:
            continue
        result[name] = value
    for name, value in result.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise HeaderError(f"Header {name!r} contains a line break; use the header_safe filter.")
    return result


def _describe_char(char: str) -> str:
    if char == " ":
        return "a space"
    if char < " " or char == "\x7f":
        return f"the control character {char!r}"
    if char > "\xff":
        return f"the non-Latin-1 character {char!r}"
    return f"the character {char!r}"


def header_problem(name: str, value: str, *, reveal: bool = True) -> str | None:
    """Why ``name: value`` cannot be sent as an HTTP header, in words a person can act on (for
    example ``Header X-Object: value cannot be sent as HTTP header text (non-Latin-1 character
    '東')``), or None when it can. ``reveal=False`` (secret headers): an invalid name is not
    quoted and no character of the value is named."""
    bad = _NOT_TOKEN.search(name)
    if bad is not None or not name:
        if not reveal:
            return f"A header name is not a valid HTTP header name ({_NAME_RULE})"
        what = _describe_char(bad.group()) if bad is not None else "it is empty"
        return f"Header {name[:100]!r}: name is not a valid HTTP header name ({what}; {_NAME_RULE})"
    if name.lower() in FRAMING_HEADERS:
        return f"Header {name}: set by the sender from the body, it cannot be given"
    bad = _NOT_FIELD_TEXT.search(value)
    if bad is not None:
        char = bad.group()
        if not reveal:
            kind = "a non-Latin-1 character" if char > "\xff" else "a control character"
            reason = f"it holds {kind}"
        elif char > "\xff":
            reason = f"non-Latin-1 character {char!r}"
        else:
            reason = f"control character {char!r}; the header_safe filter removes those"
        return f"Header {name}: value cannot be sent as HTTP header text ({reason})"
    return None


def check_headers(headers: Mapping[str, str], *, reveal: bool = True) -> None:
    """Raise ``HeaderError`` for the first header that cannot be sent (:func:`header_problem`)."""
    for name, value in headers.items():
        problem = header_problem(name, value, reveal=reveal)
        if problem is not None:
            raise HeaderError(problem)


def literal_header_error(source: str, *, reveal: bool = True) -> str | None:
    """The first problem (:func:`header_problem`) of what a header template writes as it is,
    whatever the data: a name with no template syntax before its colon, and a value too when
    the whole line has none. ``"Line 2: Header 'X Object': name is not a valid HTTP header
    name (a space; ...)."``, or None. What a template builds is checked when it is rendered."""
    for lineno, name, value in _literal_header_lines(source):
        problem = header_problem(name, "" if value is None else value, reveal=reveal)
        if problem is not None:
            return f"Line {lineno}: {problem}."
    return None


def _literal_header_lines(source: str) -> Iterator[tuple[int, str, str | None]]:
    """``(line, name, value)`` of every header line of ``source`` whose name is written as it
    is; ``value`` None when the template writes part of it."""
    # The output as literal text and holes (None: what an expression or a tag writes there).
    segments: list[tuple[int, str] | None] = []
    try:
        for lineno, kind, value in _env(True).lex(source):
            if kind == "data":
                segments.append((lineno, value))
            elif kind in ("variable_begin", "block_begin"):
                segments.append(None)
    except TemplateError:
        return  # template_syntax_error says what is wrong
    line: str | None = ""  # the current line so far, while it is all literal
    start = 1
    for segment in [*segments, (0, "\n")]:
        if segment is None:
            name = line.partition(":")[0].strip() if line is not None and ":" in line else ""
            if name:
                yield start, name, None
            line = None
            continue
        lineno, text = segment
        first, *rest = text.split("\n")
        if line is not None:
            line += first
        for offset, following in enumerate(rest):
            if line is not None:
                name, colon, value = line.removesuffix("\r").partition(":")
                if colon and name.strip():
                    yield start, name.strip(), value.strip()
            line, start = following, lineno + offset + 1
