"""Django admin for webhooks: configuration, the delivery log, and a link from the admin index
to the background tasks page.

The index link needs the admin site's index template to include it. Unless the project has its
own index template, ours (which extends Django's) is used; a project with its own can add
``{% include "webhooks_app/admin/operations.html" %}`` to it instead.
"""

from __future__ import annotations

from django.contrib import admin

from webhooks_app.admin import deliveries, event_rules, webhooks

__all__ = ["deliveries", "event_rules", "webhooks"]

INDEX_TEMPLATE = "webhooks_app/admin/index.html"

if admin.site.index_template is None:
    admin.site.index_template = INDEX_TEMPLATE
