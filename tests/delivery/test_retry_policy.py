"""The retry schedule, jitter and Retry-After."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

from django.utils import timezone

from webhooks_app.delivery.retry_policy import next_delay, parse_retry_after


def test_delays_follow_the_schedule_with_jitter(settings: Any) -> None:
    settings.WEBHOOKS_RETRY_SCHEDULE = [10, 60]
    for _ in range(50):
        assert 8 <= (next_delay(1) or 0) <= 12
        assert 48 <= (next_delay(2) or 0) <= 72
    assert next_delay(3) is None


def test_retry_after_is_honoured_when_longer(settings: Any) -> None:
    settings.WEBHOOKS_RETRY_SCHEDULE = [1]
    assert next_delay(1, retry_after=30) == 30
    assert (next_delay(1, retry_after=0) or 0) <= 1.2


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = timezone.now() + timedelta(seconds=90)
    parsed = parse_retry_after(format_datetime(when, usegmt=True))
    assert parsed is not None and 85 <= parsed <= 91
    assert parse_retry_after("999999999") == 24 * 3600


def test_retry_after_that_is_not_seconds_or_a_valid_date_is_ignored() -> None:
    # Latin-1 digits other than 0-9 ("²"), out-of-range dates: a receiver's header never breaks
    # the attempt that reads it.
    for value in ("²", "١٢", "Wed, 21 Oct 99999 07:28:00 GMT", "Wed, 21 Oct 2015 99:28:00 GMT"):
        assert parse_retry_after(value) is None
