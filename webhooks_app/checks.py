"""System checks for the app's settings and setup (ids ``webhooks_app.E001``...; never renumber).

E001 WEBHOOKS_MODELS is not a dict of "app_label.model" -> dotted path or None.
E002 WEBHOOKS_MODELS names a model that does not exist.
E003 WEBHOOKS_MODELS names a serializer that cannot be imported.
E004 WEBHOOKS_QUEUE is not a queue defined in RQ_QUEUES.
E005 WEBHOOKS_HTTP_TIMEOUT is not a positive number.
E006 WEBHOOKS_RETRY_SCHEDULE is not a list of non-negative numbers.
E007 WEBHOOKS_DELIVERY_RETENTION_DAYS is not a positive integer.
E008 WEBHOOKS_DELIVERY_LOG is not "all" or "failures".
E009 WEBHOOKS_DENIED_NETWORKS / WEBHOOKS_ALLOWED_NETWORKS holds an invalid network.
E010 WEBHOOKS_BATCH_SIZE / WEBHOOKS_CONCURRENCY / byte and size limits / WEBHOOKS_RELAY_INTERVAL /
     WEBHOOKS_CONDITION_REGEX_TIMEOUT are not positive.
E011 WEBHOOKS_JINJA2_FILTERS is not a dict of name -> callable or importable dotted path.
E012 WEBHOOKS_HTTP_PROXIES is not a dict of scheme -> proxy URL.
E013 WEBHOOKS_HTTP_TIMEOUT is not shorter than the queue's job timeout.
E014 WEBHOOKS_ENCRYPTION_KEYS is not a non-empty list of Fernet keys.
W001 WebhooksMiddleware is not in MIDDLEWARE (events carry no user or request id).
W002 WEBHOOKS_WORKER_CONCURRENCY is set: it is gone (a worker runs one job at a time); run more
     worker processes instead (``manage.py rqworker-pool <queue> --num-workers N``).
W003 (``check --deploy``) WEBHOOKS_ENCRYPTION_KEYS is unset: credentials are encrypted under
     keys derived from SECRET_KEY.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from webhooks_app import crypto

MIDDLEWARE_PATH = "webhooks_app.capture.middleware.WebhooksMiddleware"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_models() -> list[CheckMessage]:
    value = getattr(settings, "WEBHOOKS_MODELS", {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        return [
            Error(
                "WEBHOOKS_MODELS must be a dict of 'app_label.model' -> serializer dotted path or None.",
                id="webhooks_app.E001",
            )
        ]
    errors: list[CheckMessage] = []
    for label, path in value.items():
        try:
            apps.get_model(label)
        except (LookupError, ValueError):
            errors.append(
                Error(
                    f"WEBHOOKS_MODELS names {label!r}, which is not an installed model.",
                    hint="Use 'app_label.model_name', e.g. 'inventory.site'.",
                    id="webhooks_app.E002",
                )
            )
            continue
        if path is not None:
            try:
                import_string(path)
            except ImportError as exc:
                errors.append(
                    Error(
                        f"WEBHOOKS_MODELS[{label!r}]: cannot import serializer {path!r}: {exc}",
                        id="webhooks_app.E003",
                    )
                )
    return errors


def _check_queue() -> list[CheckMessage]:
    queues = getattr(settings, "RQ_QUEUES", {})
    name = getattr(settings, "WEBHOOKS_QUEUE", "default")
    if name not in queues:
        return [
            Error(
                f"WEBHOOKS_QUEUE is {name!r}, which is not defined in RQ_QUEUES.",
                hint=f"Define it in RQ_QUEUES (defined: {', '.join(queues) or 'none'}).",
                id="webhooks_app.E004",
            )
        ]
    errors: list[CheckMessage] = []
    timeout = getattr(settings, "WEBHOOKS_HTTP_TIMEOUT", 10.0)
    config = queues[name]
    job_timeout: Any = config.get("DEFAULT_TIMEOUT", 180) if isinstance(config, dict) else None
    if _is_number(timeout) and _is_number(job_timeout) and timeout >= job_timeout:
        errors.append(
            Error(
                f"WEBHOOKS_HTTP_TIMEOUT ({timeout}s) must be shorter than the queue's DEFAULT_TIMEOUT ({job_timeout}s).",
                id="webhooks_app.E013",
            )
        )
    return errors


def _check_numbers() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    timeout = getattr(settings, "WEBHOOKS_HTTP_TIMEOUT", 10.0)
    if not _is_number(timeout) or timeout <= 0:
        errors.append(
            Error(
                "WEBHOOKS_HTTP_TIMEOUT must be a positive number of seconds.",
                id="webhooks_app.E005",
            )
        )
    schedule = getattr(settings, "WEBHOOKS_RETRY_SCHEDULE", [])
    if not isinstance(schedule, (list, tuple)) or not all(
        _is_number(v) and v >= 0 for v in schedule
    ):
        errors.append(
            Error(
                "WEBHOOKS_RETRY_SCHEDULE must be a list of delays in seconds (numbers >= 0).",
                hint="For example [10, 60, 300, 1800, 7200, 21600]; [] disables retries.",
                id="webhooks_app.E006",
            )
        )
    if not _is_positive_int(getattr(settings, "WEBHOOKS_DELIVERY_RETENTION_DAYS", 30)):
        errors.append(
            Error(
                "WEBHOOKS_DELIVERY_RETENTION_DAYS must be a positive integer.",
                id="webhooks_app.E007",
            )
        )
    if getattr(settings, "WEBHOOKS_DELIVERY_LOG", "all") not in ("all", "failures"):
        errors.append(
            Error("WEBHOOKS_DELIVERY_LOG must be 'all' or 'failures'.", id="webhooks_app.E008")
        )
    for name in (
        "WEBHOOKS_BATCH_SIZE",
        "WEBHOOKS_CONCURRENCY",
        "WEBHOOKS_MAX_RESPONSE_BYTES",
        "WEBHOOKS_LOG_BODY_BYTES",
        "WEBHOOKS_TEMPLATE_MAX_SIZE",
        "WEBHOOKS_MAX_BODY_BYTES",
    ):
        if hasattr(settings, name) and not _is_positive_int(getattr(settings, name)):
            errors.append(Error(f"{name} must be a positive integer.", id="webhooks_app.E010"))
    for name, default in (
        ("WEBHOOKS_RELAY_INTERVAL", 30.0),
        ("WEBHOOKS_CONDITION_REGEX_TIMEOUT", 0.05),
        ("WEBHOOKS_PREVIEW_TIME_LIMIT", 5.0),
    ):
        value = getattr(settings, name, default)
        if not _is_number(value) or value <= 0:
            errors.append(
                Error(f"{name} must be a positive number of seconds.", id="webhooks_app.E010")
            )
    return errors


def _check_networks() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in ("WEBHOOKS_DENIED_NETWORKS", "WEBHOOKS_ALLOWED_NETWORKS"):
        value: Sequence[Any] = getattr(settings, name, [])
        if not isinstance(value, (list, tuple)):
            errors.append(
                Error(f"{name} must be a list of networks in CIDR form.", id="webhooks_app.E009")
            )
            continue
        for network in value:
            try:
                ipaddress.ip_network(str(network), strict=False)
            except ValueError:
                errors.append(
                    Error(
                        f"{name} holds {network!r}, which is not a network in CIDR form.",
                        id="webhooks_app.E009",
                    )
                )
    return errors


def _check_filters_and_proxies() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    filters = getattr(settings, "WEBHOOKS_JINJA2_FILTERS", {})
    if not isinstance(filters, dict):
        errors.append(
            Error(
                "WEBHOOKS_JINJA2_FILTERS must be a dict of name -> callable.",
                id="webhooks_app.E011",
            )
        )
    else:
        for name, value in filters.items():
            try:
                func = import_string(value) if isinstance(value, str) else value
            except ImportError as exc:
                func = None
                errors.append(
                    Error(f"WEBHOOKS_JINJA2_FILTERS[{name!r}]: {exc}", id="webhooks_app.E011")
                )
            else:
                if not callable(func):
                    errors.append(
                        Error(
                            f"WEBHOOKS_JINJA2_FILTERS[{name!r}] is not callable.",
                            id="webhooks_app.E011",
                        )
                    )
    proxies = getattr(settings, "WEBHOOKS_HTTP_PROXIES", None)
    if proxies is not None and (
        not isinstance(proxies, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in proxies.items())
    ):
        errors.append(
            Error(
                "WEBHOOKS_HTTP_PROXIES must be a dict such as {'https': 'http://proxy:3128'}.",
                id="webhooks_app.E012",
            )
        )
    return errors


@register(Tags.compatibility)
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    return [
        *_check_models(),
        *_check_queue(),
        *_check_numbers(),
        *_check_networks(),
        *_check_filters_and_proxies(),
        *_check_encryption_keys(),
    ]


@register(Tags.compatibility)
def check_removed_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not hasattr(settings, "WEBHOOKS_WORKER_CONCURRENCY"):
        return []
    return [
        Warning(
            "WEBHOOKS_WORKER_CONCURRENCY is no longer used: a WebhookWorker runs one job at a time.",
            hint="For jobs at once, run more worker processes, e.g. "
            "'manage.py rqworker-pool default --num-workers 4', and remove the setting.",
            id="webhooks_app.W002",
        )
    ]


@register(Tags.compatibility)
def check_middleware(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if MIDDLEWARE_PATH in getattr(settings, "MIDDLEWARE", []):
        return []
    return [
        Warning(
            f"{MIDDLEWARE_PATH} is not in MIDDLEWARE.",
            hint="Without it, events from requests carry no username or request id and are not coalesced per request.",
            id="webhooks_app.W001",
        )
    ]


def _check_encryption_keys() -> list[CheckMessage]:
    keys = getattr(settings, "WEBHOOKS_ENCRYPTION_KEYS", None)
    if keys is None:
        return []
    hint = (
        "A list of keys made by cryptography's Fernet.generate_key(); the first encrypts, "
        "all decrypt."
    )
    if not isinstance(keys, (list, tuple)) or not keys:
        return [
            Error(
                "WEBHOOKS_ENCRYPTION_KEYS must be a non-empty list of Fernet keys.",
                hint=hint,
                id="webhooks_app.E014",
            )
        ]
    errors: list[CheckMessage] = []
    for index, key in enumerate(keys):
        try:
            if not isinstance(key, (str, bytes)):
                raise TypeError
            crypto.keyring([key], "")
        except (TypeError, ValueError):
            errors.append(
                Error(
                    f"WEBHOOKS_ENCRYPTION_KEYS[{index}] is not a Fernet key "
                    "(32 bytes, URL-safe base64).",
                    hint=hint,
                    id="webhooks_app.E014",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_encryption_keys_set(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if getattr(settings, "WEBHOOKS_ENCRYPTION_KEYS", None) is not None:
        return []
    return [
        Warning(
            "WEBHOOKS_ENCRYPTION_KEYS is not set: webhook secrets and other credentials are "
            "encrypted under keys derived from SECRET_KEY (and SECRET_KEY_FALLBACKS).",
            hint="Set WEBHOOKS_ENCRYPTION_KEYS = [<Fernet.generate_key()>] (kept apart from "
            "SECRET_KEY and the database), then run 'manage.py webhooks_reencrypt'.",
            id="webhooks_app.W003",
        )
    ]


__all__ = [
    "check_encryption_keys_set",
    "check_middleware",
    "check_removed_settings",
    "check_settings",
]
