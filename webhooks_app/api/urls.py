"""REST API URLs (mounted under /api/webhooks/ by the project)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from webhooks_app.api.bulk import BulkRouter
from webhooks_app.api.tasks_views import (
    BackgroundTasksView,
    JobDeleteView,
    JobDetailView,
    JobListView,
    JobRequeueView,
    QueueRequeueAllView,
)
from webhooks_app.api.views import DeliveryViewSet, EventRuleViewSet, WebhookViewSet

app_name = "webhooks_api"

router = BulkRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("event-rules", EventRuleViewSet, basename="eventrule")
router.register("deliveries", DeliveryViewSet, basename="delivery")

_tasks = "background-tasks/"
urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    path(_tasks, BackgroundTasksView.as_view(), name="background-tasks"),
    path(
        f"{_tasks}queues/<str:queue>/requeue-all/",
        QueueRequeueAllView.as_view(),
        name="background-task-requeue-all",
    ),
    path(
        f"{_tasks}queues/<str:queue>/<str:state>/",
        JobListView.as_view(),
        name="background-task-list",
    ),
    path(f"{_tasks}jobs/<str:job_id>/", JobDetailView.as_view(), name="background-task-job"),
    path(
        f"{_tasks}jobs/<str:job_id>/requeue/",
        JobRequeueView.as_view(),
        name="background-task-requeue",
    ),
    path(
        f"{_tasks}jobs/<str:job_id>/delete/",
        JobDeleteView.as_view(),
        name="background-task-delete",
    ),
]
