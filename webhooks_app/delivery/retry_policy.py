"""When to try a failed delivery again: the schedule, jitter and ``Retry-After``."""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime

from django.utils import timezone

from webhooks_app.conf import conf

__all__ = ["next_delay", "parse_retry_after"]

MAX_RETRY_AFTER = 24 * 3600.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": str.isdigit takes more than 0-9
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(0.0, (when - timezone.now()).total_seconds()), MAX_RETRY_AFTER)


def next_delay(attempt: int, retry_after: float | None = None) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None when the schedule is used up.

    The schedule's delay gets +/-20% jitter so that a receiver that comes back is not hit by
    every delayed delivery at the same instant; ``Retry-After`` is honoured when it is longer.
    """
    schedule = conf.WEBHOOKS_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    base = float(schedule[attempt - 1])
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
