"""Sandboxed templates: rendering, caching, header parsing, header checks and the header_safe
filter."""

from __future__ import annotations

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from webhooks_app.exceptions import HeaderError, TemplateRenderError
from webhooks_app.templating import (
    check_headers,
    compile_template,
    header_problem,
    header_safe,
    literal_header_error,
    parse_headers,
    render,
    template_syntax_error,
)

NAME_RULE = "a name is letters, digits and !#$%&'*+-.^_`|~"


def shout(value: object) -> str:
    return str(value).upper()


def test_render_uses_the_context() -> None:
    assert (
        render("{{ event }}/{{ data.name }}", {"event": "created", "data": {"name": "x"}})
        == "created/x"
    )


def test_compiled_templates_are_reused() -> None:
    assert compile_template("{{ a }}") is compile_template("{{ a }}")


def test_syntax_errors_name_the_line() -> None:
    assert (
        template_syntax_error("ok\n{{ broken")
        == "Invalid template (line 2): unexpected end of template, expected 'end of print statement'."
    )
    assert template_syntax_error("{{ fine }}") is None


def test_unknown_filter_is_a_syntax_error() -> None:
    assert "No filter named 'nope'" in (template_syntax_error("{{ x | nope }}") or "")


def test_sandbox_blocks_attribute_escapes() -> None:
    with pytest.raises(TemplateRenderError, match="unsafe|access"):
        render("{{ ''.__class__.__mro__ }}", {})


def test_a_render_failure_is_a_clear_error() -> None:
    with pytest.raises(TemplateRenderError, match="Error rendering body"):
        render("{{ data.missing.deeper }}", {"data": {}}, what="body")


def test_header_safe_strips_control_characters() -> None:
    assert header_safe("a\r\nb\x00c\x7f") == "abc"


def test_header_safe_exists_only_for_headers() -> None:
    assert render("{{ 'a\nb' | header_safe }}", {}, headers=True) == "ab"
    with pytest.raises(TemplateRenderError, match="header_safe"):
        render("{{ x | header_safe }}", {"x": 1})


def test_a_line_break_in_a_header_value_fails() -> None:
    with pytest.raises(HeaderError, match="line break"):
        render("X-Name: {{ name }}", {"name": "a\r\nX-Evil: 1"}, headers=True)


def test_parse_headers_skips_blank_and_colonless_lines_and_later_wins() -> None:
    text = "X-A: 1\n\njunk line\r\nX-B:  two words \nX-A: 3\n: no name"
    assert parse_headers(text) == {"X-A": "3", "X-B": "two words"}


def test_parse_headers_rejects_a_stray_carriage_return() -> None:
    with pytest.raises(HeaderError):
        parse_headers("X-A: 1\rX-Evil: 2")


def test_extra_filters_come_from_settings() -> None:
    with override_settings(WEBHOOKS_JINJA2_FILTERS={"shout": "tests.test_templating.shout"}):
        assert render("{{ 'hi' | shout }}", {}) == "HI"


def test_a_template_cannot_change_the_payload_it_renders() -> None:
    # Deliveries of one event share its data in a job: one webhook's template must not be able
    # to alter what the next one sends.
    data = {"tags": ["a"], "custom": {}}
    with pytest.raises(TemplateRenderError):
        render("{{ data.tags.append('b') }}", {"data": data}, what="body")
    with pytest.raises(TemplateRenderError):
        render("{% set _ = data.custom.update(x=1) %}", {"data": data}, what="body")
    assert data == {"tags": ["a"], "custom": {}}


@pytest.mark.parametrize(
    "source",
    [
        "http://127.0.0.1:9000/hook",
        "X-Team: ops\nX-Env: prod\n",
        "plain body\n\n",
        "",
        "\n",
        "tabs\tand unicode \u00e9 } ] %",
    ],
)
def test_text_without_template_syntax_renders_as_jinja2_would(source: str) -> None:
    jinja2 = compile_template(source).render()
    assert render(source, {"data": {}}) == jinja2


def test_text_with_carriage_returns_still_goes_through_jinja2() -> None:
    assert render("a\r\nb\r\n", {}) == compile_template("a\r\nb\r\n").render() == "a\nb"


@given(st.text().filter(lambda text: "{" not in text and "\r" not in text))
def test_any_text_without_braces_or_carriage_returns_renders_unchanged_by_the_fast_path(
    source: str,
) -> None:
    assert render(source, {}) == compile_template(source).render()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Object", "Tokyo"),
        ("!#$%&'*+-.^_`|~09azAZ", "tab\tand spaces"),
        ("X-Latin-1", "caf\u00e9 \u00ff"),
        ("X-Empty", ""),
    ],
)
def test_headers_that_can_be_sent(name: str, value: str) -> None:
    assert header_problem(name, value) is None
    check_headers({name: value})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        (
            "X-Object",
            "\u6771\u4eac",
            "Header X-Object: value cannot be sent as HTTP header text (non-Latin-1 character "
            "'\u6771')",
        ),
        (
            "X-Object",
            "a\ud800",
            "Header X-Object: value cannot be sent as HTTP header text (non-Latin-1 character "
            "'\\ud800')",
        ),
        (
            "X-Bell",
            "a\x07b",
            "Header X-Bell: value cannot be sent as HTTP header text (control character "
            "'\\x07'; the header_safe filter removes those)",
        ),
        (
            "X Object",
            "1",
            f"Header 'X Object': name is not a valid HTTP header name (a space; {NAME_RULE})",
        ),
        (
            "X:Object",
            "1",
            "Header 'X:Object': name is not a valid HTTP header name (the character ':'; "
            f"{NAME_RULE})",
        ),
        (
            "X\x01",
            "1",
            "Header 'X\\x01': name is not a valid HTTP header name (the control character "
            f"'\\x01'; {NAME_RULE})",
        ),
        (
            "X-\u00e9",
            "1",
            "Header 'X-\u00e9': name is not a valid HTTP header name (the character '\u00e9'; "
            f"{NAME_RULE})",
        ),
        (
            "Content-Length",
            "5",
            "Header Content-Length: set by the sender from the body, it cannot be given",
        ),
        (
            "transfer-encoding",
            "chunked",
            "Header transfer-encoding: set by the sender from the body, it cannot be given",
        ),
    ],
)
def test_headers_that_cannot_be_sent_say_why(name: str, value: str, problem: str) -> None:
    assert header_problem(name, value) == problem
    with pytest.raises(HeaderError) as refused:
        check_headers({"X-Fine": "1", name: value})
    assert str(refused.value) == problem


SPACE = f"name is not a valid HTTP header name (a space; {NAME_RULE})"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("X-A: 1\nX B: 2", f"Line 2: Header 'X B': {SPACE}."),
        ("X-A: {{ a }}\nBad Name: {{ b }}", f"Line 2: Header 'Bad Name': {SPACE}."),
        ("{% if a %}\nBad Name: 1\n{% endif %}", f"Line 2: Header 'Bad Name': {SPACE}."),
        ("{% raw %}A B: 1{% endraw %}", f"Line 1: Header 'A B': {SPACE}."),
        (
            "X-A: 1\n{# a comment #}\nX-City: \u6771\u4eac",
            "Line 3: Header X-City: value cannot be sent as HTTP header text (non-Latin-1 "
            "character '\u6771').",
        ),
        (
            "X-A: 1\r\nContent-Length: 9",
            "Line 2: Header Content-Length: set by the sender from the body, it cannot be given.",
        ),
        # What a template writes is checked when it is rendered.
        ("{{ 'X Object' }}: 1", None),
        ("X-{{ kind }} Name: 1", None),
        ("X-City: {{ '\u6771' }}", None),
        ("{% if a %}X B: 1{% endif %}", None),
        ("X-A: {{ a }} {{ b }}\nno colon here\n\n: no name", None),
        ("{% if %}", None),  # a syntax error: template_syntax_error says so
    ],
)
def test_header_lines_written_literally_are_checked_when_saved(
    source: str, error: str | None
) -> None:
    assert literal_header_error(source) == error


def test_a_rendered_header_name_is_checked_when_the_request_is_built() -> None:
    headers = parse_headers(render("{{ 'X Object' }}: 1", {}, headers=True))
    with pytest.raises(HeaderError, match="'X Object': name is not a valid HTTP header name"):
        check_headers(headers)
