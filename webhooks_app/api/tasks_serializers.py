"""Serializers of the background-tasks endpoints (RQ queues, workers and jobs)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers
from rq.job import JobStatus

from webhooks_app.api.fields import NamedChoiceField

__all__ = [
    "JobDetailSerializer",
    "JobSerializer",
    "OverviewSerializer",
    "PaginatedJobSerializer",
    "RequeuedSerializer",
]


class QueueSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    queued = serializers.IntegerField()
    started = serializers.IntegerField()
    scheduled = serializers.IntegerField()
    deferred = serializers.IntegerField()
    finished = serializers.IntegerField()
    failed = serializers.IntegerField()
    workers = serializers.IntegerField(help_text="Workers serving this queue.")


class WorkerSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    hostname = serializers.CharField(allow_null=True)
    pid = serializers.IntegerField(allow_null=True)
    state = serializers.CharField()
    queues = serializers.ListField(child=serializers.CharField())
    current_job = serializers.CharField(allow_null=True)
    birth = serializers.DateTimeField(allow_null=True)
    last_heartbeat = serializers.DateTimeField(allow_null=True)
    successful_jobs = serializers.IntegerField()
    failed_jobs = serializers.IntegerField()


class OverviewSerializer(serializers.Serializer[Any]):
    queues = QueueSerializer(many=True)
    workers = WorkerSerializer(many=True)


class JobSerializer(serializers.Serializer[Any]):
    """A job, in webhook terms when it is a delivery job (webhook, event, object, error)."""

    id = serializers.CharField()
    url = serializers.SerializerMethodField()
    queue = serializers.CharField()
    state = NamedChoiceField(component="JobStatus", choices=[(s.value, s.value) for s in JobStatus])
    func_name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(allow_null=True)
    enqueued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    webhook_id = serializers.IntegerField(allow_null=True)
    webhook_name = serializers.CharField(allow_blank=True)
    event_id = serializers.CharField(allow_blank=True)
    event_type = serializers.CharField(allow_blank=True)
    object_type = serializers.CharField(allow_blank=True)
    object_id = serializers.CharField(allow_blank=True)
    delivery_count = serializers.IntegerField()
    attempt = serializers.IntegerField(allow_null=True, help_text="The attempt the job makes.")
    error = serializers.CharField(allow_blank=True, help_text="The last line of the traceback.")

    def get_url(self, obj: Any) -> str:
        path = reverse("webhooks_api:background-task-job", kwargs={"job_id": obj.id})
        request = self.context.get("request")
        return str(request.build_absolute_uri(path)) if request is not None else path


class JobDetailSerializer(JobSerializer):
    traceback = serializers.CharField(allow_blank=True)
    deliveries = serializers.ListField(
        child=serializers.DictField(),
        help_text="The job's argument: the deliveries it carries, with their event context.",
    )


class PaginatedJobSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobSerializer(many=True)


class RequeuedSerializer(serializers.Serializer[Any]):
    requeued = serializers.IntegerField(
        help_text="How many failed jobs were put back on the queue."
    )
