"""Permissions of the webhooks API: Django model permissions, as in NetBox.

- ``ModelPermissions``: reading needs ``view_<model>`` (DRF's own class lets any authenticated
  user read); creating, changing and deleting need ``add_``, ``change_`` and ``delete_``.
- ``ChangePermission``: for actions that act on an object (test and render a webhook,
  redeliver a delivery): ``view_<model>`` and ``change_<model>``, whatever the HTTP method.
- Background tasks use DRF's ``IsAdminUser`` (staff only).
"""

from __future__ import annotations

from rest_framework.permissions import DjangoModelPermissions

__all__ = ["ChangePermission", "ModelPermissions"]

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
