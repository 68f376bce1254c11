"""Background tasks URLs. Mount them inside the admin, before the admin's own URLs:
``path("admin/background-tasks/", include("webhooks_app.urls"))``."""

from __future__ import annotations

from django.urls import path

from webhooks_app.background_tasks import views

app_name = "webhooks_app"

urlpatterns = [
    path("", views.background_tasks, name="background-tasks"),
    path("queues/<str:queue>/retry-all/", views.queue_retry_all, name="queue-retry-all"),
    path("queues/<str:queue>/<str:state>/", views.job_list, name="job-list"),
    path("jobs/<str:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<str:job_id>/retry/", views.job_retry, name="job-retry"),
    path("jobs/<str:job_id>/delete/", views.job_delete, name="job-delete"),
]
