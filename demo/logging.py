"""Logging for the demo and production: a JSON-lines formatter and a filter for RQ's records.

:class:`JsonFormatter` writes one object per record on stdout. Each line has ``time`` (UTC, ISO
8601), ``level``, ``logger``, ``message`` and ``process``, then every field passed with
``extra=`` (for delivery outcomes: ``event_id``, ``delivery_id``, ``webhook``, ``attempt``,
``outcome``, ...), then ``exc_info`` and ``stack_info`` when present. Values JSON cannot
represent are written with ``str()``.

:class:`RQLogFilter` keeps a delivery to one line: see its docstring.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["RQLogFilter", "JsonFormatter"]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (no newlines inside, whatever the message)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# The RQ job that delivers webhooks, and the exception it fails with when a delivery failed for
# good (as text: logging is configured before Django's apps, whose modules it cannot import).
DELIVER_JOB = "webhooks_app.worker.job.deliver"
DELIVERY_FAILED = "webhooks_app.worker.job.DeliveryFailed"


class RQLogFilter(logging.Filter):
    """A handler filter that keeps RQ's log to what an operator needs at ``level``.

    RQ's records below ``level`` are dropped: at INFO, RQ logs three lines per job (started,
    completed, "Job OK") and "cleaning registries" every few seconds, while each delivery is
    already one line of ``webhooks_app.delivery.attempts`` with its outcome and reason. RQ's
    report of a delivery job that failed for good (a receiver answering 400, ...) counts as
    DEBUG: its traceback says nothing that line does not. Any other exception in a job (a bug)
    keeps its full traceback at ERROR.

    A filter rather than logger levels: ``rqworker`` and ``rqworker-pool`` set the levels of
    RQ's loggers themselves (from their ``--verbosity``) when they start.
    """

    def __init__(self, level: int | str = logging.WARNING) -> None:
        super().__init__()
        self.level = level if isinstance(level, int) else logging.getLevelNamesMapping()[level]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "rq" and not record.name.startswith("rq."):
            return True
        return self.level_of(record) >= self.level

    @staticmethod
    def level_of(record: logging.LogRecord) -> int:
        if (
            record.levelno >= logging.ERROR
            and getattr(record, "func", None) == DELIVER_JOB  # RQ's extra= on a job's failure
            and failed_with(record.getMessage(), DELIVERY_FAILED)
        ):
            return logging.DEBUG
        return record.levelno


def failed_with(message: str, exception: str) -> bool:
    """Whether the traceback at the end of ``message`` ends with ``exception`` raised."""
    lines = message.rstrip().splitlines()
    return bool(lines) and lines[-1].startswith(f"{exception}:")
