"""Exceptions raised while rendering and delivering webhooks.

Whatever goes wrong while one delivery is built or sent is a :class:`WebhookError` whose message
says what happened in words a person acts on (it is the attempt's error in the delivery log and
the ``detail`` of a refused preview). ``retryable`` says whether a later attempt may succeed.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BlockedDestinationError",
    "BodyTooLargeError",
    "DeliveryError",
    "HeaderError",
    "SigningError",
    "TemplateRenderError",
    "TimeLimitError",
    "UnexpectedError",
    "WebhookError",
]


class WebhookError(Exception):
    """Root of the app's errors. ``retryable`` says whether a later attempt may succeed."""

    retryable: ClassVar[bool] = False


class TemplateRenderError(WebhookError):
    """A URL, header or body template failed to render, or rendered text that cannot be sent
    (a body that is not valid Unicode)."""


class HeaderError(WebhookError):
    """A header cannot be sent: a name that is not an HTTP token, a value with a line break,
    a control character or a character outside Latin-1."""


class BodyTooLargeError(WebhookError):
    """The body is bigger than ``WEBHOOKS_MAX_BODY_BYTES``."""


class SigningError(WebhookError):
    """The webhook's secret cannot be used to sign (not encodable, or not base64 after
    ``whsec_``)."""


class TimeLimitError(WebhookError):
    """Rendering a preview or a test send took longer than ``WEBHOOKS_PREVIEW_TIME_LIMIT``."""


class BlockedDestinationError(WebhookError):
    """The destination resolves to an address in a denied network."""


class UnexpectedError(WebhookError):
    """An exception nobody planned for while one delivery was built or sent: a bug (ours or a
    dependency's). It fails that attempt only, and for good; the message names the exception,
    and whoever catches it logs the traceback (``__cause__``)."""

    @classmethod
    def from_exception(cls, exc: BaseException, doing: str) -> UnexpectedError:
        detail = str(exc)
        named = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        error = cls(
            f"Unexpected error while {doing} ({named[:500]}); this is a bug, the traceback "
            "is in the log."
        )
        error.__cause__ = exc
        return error


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
