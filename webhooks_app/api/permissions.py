"""Permissions of the webhooks API: Django model permissions, as in NetBox.

- ``ModelPermissions``: reading needs ``view_<model>`` (DRF's own class lets any authenticated
  user read); creating, changing and deleting need ``add_``, ``change_`` and ``delete_``.
- ``ChangePermission``: for actions that act on an object (test and render a webhook,
  redeliver a delivery): ``view_<model>`` and ``change_<model>``, whatever the HTTP method.
- ``BackgroundTaskPermission``: the rule of ``webhooks_app.background_tasks.permissions``, the
  admin's too: reading needs ``view_delivery``, acting on jobs ``change_delivery`` as well.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.views import APIView

from webhooks_app.background_tasks.permissions import can_act, can_read

__all__ = ["BackgroundTaskPermission", "ChangePermission", "ModelPermissions"]

_VIEW = "%(app_label)s.view_%(model_name)s"
_CHANGE = "%(app_label)s.change_%(model_name)s"


class ModelPermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": [_VIEW],
        "HEAD": [_VIEW],
    }


class ChangePermission(DjangoModelPermissions):
    perms_map = {
        method: [_VIEW, _CHANGE]
        for method in ("GET", "OPTIONS", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    }


class BackgroundTaskPermission(BasePermission):
    """Background tasks: reading (GET, HEAD, OPTIONS) needs the right to view deliveries, any
    other method (requeue, requeue all, delete) the right to change them too."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return can_read(request.user)
        return can_act(request.user)
