"""Header templates are refused when saved if a literally written line is no HTTP header."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from webhooks_app.models.validators import validate_header_template


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("X Object: 1", "X Object"),
        ("X-A: 1\nBad:Name: 2\nX\x01Ctl: 3", "X\x01Ctl"),
    ],
)
def test_a_literal_header_name_that_is_not_an_http_token_is_refused(text, reason):
    with pytest.raises(ValidationError) as refused:
        validate_header_template(text)
    assert "not a valid HTTP header name" in str(refused.value)


@pytest.mark.parametrize(
    "text", ["", "X-Object: {{ data.name }}", "Authorization: Bearer x\nX-A: b", "{{ name }}: v"]
)
def test_valid_or_rendered_header_lines_are_accepted(text):
    validate_header_template(text)
