"""The no-op job: what rq's own per-job bookkeeping costs, with no work in the job."""

from __future__ import annotations

__all__ = ["noop"]


def noop() -> None:
    """Do nothing."""
