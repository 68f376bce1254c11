"""Who may see and act on background tasks: one rule for the admin's pages and the REST API,
as strict as the delivery log's, since a job holds its deliveries' full payloads.

- Reading (the queues, job lists, a job's deliveries and traceback) needs the right to view
  deliveries (``webhooks_app.view_delivery``).
- Acting (retry or requeue a job, retry all failed jobs, delete a job) needs the right to
  change deliveries as well (``webhooks_app.change_delivery``), as redelivering does.

Staff status is not part of the rule: the admin's pages are for staff anyway (its login), and
the API lets users with the permissions in, as it does for the delivery log.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, PermissionsMixin

__all__ = ["ACT_PERMISSIONS", "READ_PERMISSIONS", "can_act", "can_read"]

READ_PERMISSIONS = ("webhooks_app.view_delivery",)
ACT_PERMISSIONS = ("webhooks_app.view_delivery", "webhooks_app.change_delivery")


def can_read(user: PermissionsMixin | AnonymousUser) -> bool:
    """Whether ``user`` may see the queues and jobs (with their payloads)."""
    return bool(user.has_perms(READ_PERMISSIONS))


def can_act(user: PermissionsMixin | AnonymousUser) -> bool:
    """Whether ``user`` may retry, requeue and delete jobs."""
    return bool(user.has_perms(ACT_PERMISSIONS))
