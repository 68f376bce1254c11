"""Jinja2 templates for URLs, headers and bodies, rendered in a sandbox.

The sandbox (:mod:`webhooks_app.sandbox`) bounds what a template can build and how much it can
write. Environments are built once per filter set and compiled templates are cached by source,
so rendering a stored template costs microseconds instead of building a sandbox every time.
Compiling never evaluates an expression of unbounded size (the optimizer is off), and input
nested too deeply for Jinja2's parser is a template error, not a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.utils.module_loading import import_string
from jinja2 import BaseLoader, Template, TemplateError, TemplateSyntaxError

from webhooks_app.exceptions import HeaderError, TemplateRenderError
from webhooks_app.sandbox import BoundedSandbox, render_bounded

__all__ = [
    "TemplateRenderError",
    "compile_template",
    "header_safe",
    "is_template",
    "parse_headers",
    "render",
    "template_syntax_error",
]

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_TEMPLATE_OPENERS = ("{{", "{%", "{#")


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
        raise TemplateSyntaxError(
            "the template is nested too deeply (brackets, lists or blocks)", lineno=1
        ) from None


def compile_template(source: str, *, headers: bool = False) -> Template:
    """The compiled template for ``source`` (cached); raises Jinja2's ``TemplateError``."""
    return _compile(_env(headers), source)


def template_syntax_error(source: str, *, headers: bool = False) -> str | None:
    """A human message naming the line if ``source`` does not compile, else None."""
    try:
        compile_template(source, headers=headers)
    except TemplateSyntaxError as exc:
        return f"Invalid template (line {exc.lineno}): {exc.message}"
    except TemplateError as exc:
        return f"Invalid template: {exc}"
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
