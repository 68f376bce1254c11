"""The template sandbox: what a template may build and write is bounded, compiling evaluates
nothing, and input nested too deeply is a template error (issue 16, items 2 and 3)."""

from __future__ import annotations

import resource

import pytest
from django.test import override_settings

from webhooks_app.exceptions import TemplateRenderError
from webhooks_app.sandbox import BoundedSandbox, render_bounded
from webhooks_app.templating import compile_template, render, template_syntax_error

CONTEXT = {"data": {"name": "site-1", "tags": ["a", "b"]}}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{{ 'a' | center(1000000000) }}",
        "{{ 'a' | indent(1000000000) }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ '%0999999999d' | format(1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ ('a' * 999999) | replace('a', 'b' * 999999) }}",
        "{{ ('a' * 9999999).replace('a', 'bb') }}",
        "{{ [[1] * 9999999] * 9999999 }}",
        "{% set x = [1] * 3000000 %}{% set y = [x, x] %}{% set z = [y, y] %}{{ z }}",
        "{% for i in range(100000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}",
    ],
)
def test_a_template_cannot_build_or_write_more_than_the_limit(source: str) -> None:
    before = peak_rss_mb()
    assert template_syntax_error(source) is None  # compiles: nothing is evaluated
    with pytest.raises(TemplateRenderError, match="template size limit"):
        render(source, CONTEXT)
    assert peak_rss_mb() - before < 400  # never the gigabyte the expression asks for


def test_compiling_does_not_fold_constant_expressions() -> None:
    template = compile_template("{{ 'a' * 3 }}")
    assert template.environment.optimized is False
    assert template.render() == "aaa"  # evaluated when rendered, with its size checked


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{{ " + "[" * 2000 + "]" * 2000 + " }}",
        "{% if true %}" * 3000 + "x" + "{% endif %}" * 3000,
    ],
)
def test_input_nested_too_deeply_is_a_template_error(source: str) -> None:
    message = template_syntax_error(source)
    assert message is not None and "nested too deeply" in message
    with pytest.raises(TemplateRenderError, match="nested too deeply"):
        render(source, CONTEXT)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ data | tojson }}", '{"name": "site-1", "tags": ["a", "b"]}'),
        ("{{ data.tags | join(', ') }}", "a, b"),
        ("{{ data.name | replace('-', '_') | upper }}", "SITE_1"),
        ("{{ '%s/%s' | format(data.name, 2) }}", "site-1/2"),
        ("{{ '{}-{}'.format(data.name, 3) }}", "site-1-3"),
        ("{{ 'ab' * 3 }}{{ 2 ** 10 }}{{ [1] + [2] }}", "ababab1024[1, 2]"),
        ("{% for t in data.tags %}{{ loop.index }}{{ t }}{% endfor %}", "1a2b"),
    ],
)
def test_ordinary_templates_render_as_before(source: str, expected: str) -> None:
    assert render(source, CONTEXT) == expected


@override_settings(WEBHOOKS_TEMPLATE_MAX_SIZE=10)
def test_the_limit_is_a_setting() -> None:
    assert render("{{ 'a' * 10 }}", {}) == "a" * 10
    with pytest.raises(TemplateRenderError, match=r"limit \(10\)"):
        render("{{ 'a' * 11 }}", {})
    with pytest.raises(TemplateRenderError, match="rendered output"):
        render("{% for i in range(3) %}abcd{% endfor %}", {})


def test_operator_filters_are_bounded_too() -> None:
    env = BoundedSandbox(max_size=5)
    env.add_filters({"twice": lambda value: value * 2})
    with pytest.raises(TemplateRenderError, match="filter"):
        render_through(env, "{{ 'abc' | twice }}")
    assert render_bounded(env.from_string("{{ 'ab' | twice }}"), {}, 5) == "abab"


def render_through(env: BoundedSandbox, source: str) -> str:
    try:
        return render_bounded(env.from_string(source), {}, env.max_size)
    except Exception as exc:
        raise TemplateRenderError(str(exc)) from exc
