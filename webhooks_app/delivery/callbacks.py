"""Public hooks for projects: payload callbacks and the signature helper."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from webhooks_app.signing import generate_signature

__all__ = ["Callback", "generate_signature", "register_webhook_callback", "run_callbacks"]

logger = logging.getLogger(__name__)

# callback(object_type, event_type, data, request) -> dict merged into the payload's "context".
Callback = Callable[[str, str, dict[str, Any], dict[str, Any] | None], Any]

_callbacks: list[Callback] = []


def register_webhook_callback(func: Callback) -> Callback:
    """Register ``func`` (usable as a decorator). It runs in the worker for every delivery with
    the object type (``"app_label.model"``), the event type (``object_created``...), the data
    and the request info (a dict or None), and may return a dict merged into ``context``."""
    if func not in _callbacks:
        _callbacks.append(func)
        logger.debug("Registered webhook callback %s.%s", func.__module__, func.__qualname__)
    return func


def unregister_webhook_callback(func: Callback) -> None:
    if func in _callbacks:
        _callbacks.remove(func)


def run_callbacks(
    object_type: str, event_type: str, data: dict[str, Any], request: dict[str, Any] | None
) -> dict[str, Any]:
    """Merge what every callback returns; one that raises is logged with its traceback and skipped."""
    merged: dict[str, Any] = {}
    for callback in list(_callbacks):
        try:
            result = callback(object_type, event_type, data, request)
        except Exception:
            logger.exception(
                "Webhook callback %s raised; skipped", getattr(callback, "__qualname__", callback)
            )
            continue
        if result:
            if isinstance(result, dict):
                merged.update(result)
            else:
                logger.warning(
                    "Webhook callback %s returned %s, not a dict; ignored",
                    callback,
                    type(result).__name__,
                )
    return merged
