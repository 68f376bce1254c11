"""Sandboxed templates: rendering, caching, header parsing and the header_safe filter."""

from __future__ import annotations

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from webhooks_app.exceptions import HeaderError, TemplateRenderError
from webhooks_app.templating import (
    compile_template,
    header_safe,
    parse_headers,
    render,
    template_syntax_error,
)


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
