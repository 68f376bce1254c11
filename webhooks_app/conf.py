"""The app's settings, read from Django settings at access time.

Each ``WEBHOOKS_*`` setting has exactly one property here, named like the setting, with its
default. ``checks.py`` validates them; the README documents them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600)

# Link-local (which holds most cloud metadata services) and other metadata addresses.
DEFAULT_DENIED_NETWORKS: tuple[str, ...] = (
    "169.254.0.0/16",
    "fe80::/10",
    "100.100.100.200/32",
    "fd00:ec2::254/128",
    "0.0.0.0/8",
)


class Settings:
    """Typed access to the ``WEBHOOKS_*`` settings; values are never cached."""

    def _get(self, name: str, default: Any) -> Any:
        return getattr(settings, name, default)

    @property
    def WEBHOOKS_MODELS(self) -> dict[str, str | None]:
        """``"app_label.model"`` -> dotted path of a DRF serializer, or None for all fields."""
        value = self._get("WEBHOOKS_MODELS", {})
        return dict(value) if isinstance(value, dict) else value

    @property
    def WEBHOOKS_QUEUE(self) -> str:
        return str(self._get("WEBHOOKS_QUEUE", "default"))

    @property
    def WEBHOOKS_HTTP_TIMEOUT(self) -> float:
        return self._get("WEBHOOKS_HTTP_TIMEOUT", 10.0)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_HTTP_PROXIES(self) -> dict[str, str] | None:
        return self._get("WEBHOOKS_HTTP_PROXIES", None)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_RETRY_SCHEDULE(self) -> list[float]:
        return list(self._get("WEBHOOKS_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))

    @property
    def WEBHOOKS_DELIVERY_RETENTION_DAYS(self) -> int:
        return self._get("WEBHOOKS_DELIVERY_RETENTION_DAYS", 30)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_DELIVERY_LOG(self) -> str:
        """``"all"`` records every attempt; ``"failures"`` only deliveries that failed at least once."""
        return self._get("WEBHOOKS_DELIVERY_LOG", "all")  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_LOG_BODY_BYTES(self) -> int:
        """How much of a response body the delivery log keeps."""
        return self._get("WEBHOOKS_LOG_BODY_BYTES", 4096)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_MAX_RESPONSE_BYTES(self) -> int:
        """How much of a response body is read at most; the rest is discarded."""
        return self._get("WEBHOOKS_MAX_RESPONSE_BYTES", 65536)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_MAX_BODY_BYTES(self) -> int:
        """The biggest request body sent, in bytes once encoded; a bigger one fails its attempt."""
        return int(self._get("WEBHOOKS_MAX_BODY_BYTES", 10 * 1024 * 1024))

    @property
    def WEBHOOKS_PREVIEW_TIME_LIMIT(self) -> float:
        """Seconds a preview or test send may take to render (in a child process)."""
        return float(self._get("WEBHOOKS_PREVIEW_TIME_LIMIT", 5.0))

    @property
    def WEBHOOKS_TEMPLATE_MAX_SIZE(self) -> int:
        """The most characters (or list items) a template may build in one value or write."""
        return self._get("WEBHOOKS_TEMPLATE_MAX_SIZE", 10_000_000)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_CONDITION_REGEX_TIMEOUT(self) -> float:
        """Seconds one regex condition may take to match; past it the rule does not fire."""
        return float(self._get("WEBHOOKS_CONDITION_REGEX_TIMEOUT", 0.05))

    @property
    def WEBHOOKS_JINJA2_FILTERS(self) -> dict[str, Any]:
        """Extra Jinja2 filters: name -> callable or dotted path."""
        return dict(self._get("WEBHOOKS_JINJA2_FILTERS", {}))

    @property
    def WEBHOOKS_DENIED_NETWORKS(self) -> list[str]:
        """Networks (CIDR) no delivery may connect to, on top of the built-in ones."""
        return list(self._get("WEBHOOKS_DENIED_NETWORKS", []))

    @property
    def WEBHOOKS_ALLOWED_NETWORKS(self) -> list[str]:
        """Exceptions to the denied networks (CIDR)."""
        return list(self._get("WEBHOOKS_ALLOWED_NETWORKS", []))

    @property
    def WEBHOOKS_BATCH_SIZE(self) -> int:
        """Deliveries from one transaction, to any webhooks, carried by one job (1 = a job each)."""
        return self._get("WEBHOOKS_BATCH_SIZE", 100)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_CONCURRENCY(self) -> int:
        """Requests a job sends at once when it carries several deliveries."""
        return self._get("WEBHOOKS_CONCURRENCY", 32)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_RELAY_INTERVAL(self) -> float:
        """Seconds between automatic outbox relays while a worker runs."""
        return self._get("WEBHOOKS_RELAY_INTERVAL", 30.0)  # type: ignore[no-any-return]

    @property
    def WEBHOOKS_ENCRYPTION_KEYS(self) -> list[str | bytes] | None:
        """Fernet keys stored credentials are encrypted with: the first encrypts, all decrypt.
        None (unset): keys derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``."""
        value = self._get("WEBHOOKS_ENCRYPTION_KEYS", None)
        return None if value is None else list(value)


conf = Settings()
