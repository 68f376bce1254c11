"""The RQ side: the job that delivers webhooks (:mod:`.job`) and the worker class that runs it."""

from __future__ import annotations

from webhooks_app.worker.worker import RECOVERY_BOUND, WebhookWorker, recovery_bound

__all__ = ["RECOVERY_BOUND", "WebhookWorker", "recovery_bound"]
