"""Exceptions raised while rendering and delivering webhooks."""

from __future__ import annotations

from typing import ClassVar


class WebhookError(Exception):
    """Root of the app's errors. ``retryable`` says whether a later attempt may succeed."""

    retryable: ClassVar[bool] = False


class TemplateRenderError(WebhookError):
    """A URL, header or body template failed to render."""


class HeaderError(WebhookError):
    """Rendered headers are unusable (for example a value with CR or LF)."""


class BlockedDestinationError(WebhookError):
    """The destination resolves to an address in a denied network."""


class DeliveryError(WebhookError):
    """The receiver could not be reached or did not answer 2xx."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body_excerpt: str = "",
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body_excerpt = body_excerpt
        self.retryable = retryable  # type: ignore[misc]
        self.retry_after = retry_after
