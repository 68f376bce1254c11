"""Background tasks over REST: RQ queues, workers and jobs, and the operator's actions on them.
The services are in ``webhooks_app.background_tasks.registries``; who may use them is the
admin's rule (``webhooks_app.background_tasks.permissions``): reading needs the right to view
deliveries, requeueing and deleting the right to change them.

URL layout under ``background-tasks/``::

    GET  ./                                 queues with counts per state, and workers
    GET  queues/{queue}/{state}/            jobs in that state (limit/offset paginated)
    POST queues/{queue}/requeue-all/        requeue every failed job of the queue
    GET  jobs/{job_id}/                     one job with its deliveries and traceback
    POST jobs/{job_id}/requeue/             requeue a failed job
    POST jobs/{job_id}/delete/              delete a job

An unknown queue, state or job is a 404, an action on a job in the wrong state a 409, and an
unreachable Redis a 503.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from redis.exceptions import RedisError
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rq.job import Job

from webhooks_app.api.conflicts import Conflict
from webhooks_app.api.parsing import BoundedLimitOffsetPagination, SafeJSONParser
from webhooks_app.api.permissions import BackgroundTaskPermission
from webhooks_app.api.tasks_serializers import (
    JobDetailSerializer,
    JobSerializer,
    OverviewSerializer,
    PaginatedJobSerializer,
    RequeuedSerializer,
)
from webhooks_app.api.views import QueueUnavailable
from webhooks_app.background_tasks import registries as tasks
from webhooks_app.models import Webhook

__all__ = [
    "BackgroundTasksView",
    "JobDeleteView",
    "JobDetailView",
    "JobListView",
    "JobRequeueView",
    "QueueRequeueAllView",
]

NOT_FOUND = OpenApiResponse(description="No such queue, state or job.")
UNAVAILABLE = OpenApiResponse(description="The task queue (Redis) cannot be reached.")
STATE_PARAMETER = OpenApiParameter(
    "state", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(tasks.STATES)
)
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit", OpenApiTypes.INT, description="Number of results to return per page."
    ),
    OpenApiParameter("offset", OpenApiTypes.INT, description="The initial index of the results."),
]


class TasksAutoSchema(AutoSchema):
    """Describes ``{queue}`` as one of the queues in ``RQ_QUEUES`` (read when the schema is
    generated, not at import)."""

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = super().get_override_parameters()
        if "{queue}" in self.path:
            queues = tasks.queue_names()
            parameters.append(OpenApiParameter("queue", OpenApiTypes.STR, "path", enum=queues))
        return parameters


class TasksView(APIView):
    permission_classes = [BackgroundTaskPermission]
    parser_classes = [SafeJSONParser]
    schema = TasksAutoSchema()

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RedisError):
            exc = QueueUnavailable()
        return super().handle_exception(exc)


def _check_queue(name: str) -> None:
    if name not in tasks.queue_names():
        raise NotFound(f"Unknown queue {name!r}.")


def _find(job_id: str) -> Job:
    try:
        return tasks.find_job(job_id)
    except tasks.TaskError as exc:
        raise NotFound(str(exc)) from exc
    except ValueError as exc:  # RQ refuses ids with other than letters, digits, _ and -
        raise NotFound(f"Job {job_id} not found.") from exc


def _name_webhooks(infos: list[tasks.JobInfo]) -> list[tasks.JobInfo]:
    """Fill in the webhook names that the jobs' arguments lack (one query)."""
    ids = {
        info.webhook_id for info in infos if info.webhook_id is not None and not info.webhook_name
    }
    names = dict(Webhook.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    for info in infos:
        if not info.webhook_name and info.webhook_id in names:
            info.webhook_name = names[info.webhook_id]
    return infos


def _describe(job: Job) -> tasks.JobInfo:
    # tasks.job_info's own fallback writes the enum's str() ("JobStatus.FAILED"): pass the value.
    info = tasks.job_info(job, getattr(job.get_status(refresh=False), "value", ""))
    return _name_webhooks([info])[0]


class BackgroundTasksView(TasksView):
    @extend_schema(
        operation_id="webhooks_background_tasks_overview",
        responses={200: OverviewSerializer, 503: UNAVAILABLE},
    )
    def get(self, request: Request) -> Response:
        """The queues with their job counts per state, and the workers."""
        data = {"queues": tasks.queue_stats(), "workers": tasks.worker_list()}
        return Response(OverviewSerializer(data).data)


class JobListView(TasksView):
    @extend_schema(
        operation_id="webhooks_background_tasks_jobs_list",
        parameters=[STATE_PARAMETER, *PAGE_PARAMETERS],
        responses={200: PaginatedJobSerializer, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def get(self, request: Request, queue: str, state: str) -> Response:
        """The jobs of a queue in one state, with their webhook, event, object and error."""
        _check_queue(queue)
        if state not in tasks.STATES:
            raise NotFound(f"Unknown state {state!r}; use one of {', '.join(tasks.STATES)}.")
        paginator = BoundedLimitOffsetPagination()
        limit = paginator.get_limit(request) or paginator.max_limit or 50
        offset = paginator.get_offset(request)
        total, jobs = tasks.list_jobs(queue, state, offset, limit)
        paginator.request, paginator.limit, paginator.offset = request, limit, offset
        paginator.count = total
        results = JobSerializer(_name_webhooks(jobs), many=True, context={"request": request}).data
        return paginator.get_paginated_response(results)


class JobDetailView(TasksView):
    @extend_schema(
        operation_id="webhooks_background_tasks_job_retrieve",
        responses={200: JobDetailSerializer, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def get(self, request: Request, job_id: str) -> Response:
        """One job: its deliveries (the job's argument) and, if it failed, the traceback."""
        job = _find(job_id)
        return Response(JobDetailSerializer(_describe(job), context={"request": request}).data)


class JobRequeueView(TasksView):
    @extend_schema(
        operation_id="webhooks_background_tasks_job_requeue",
        request=None,
        responses={
            200: JobDetailSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(description="The job has not failed."),
            503: UNAVAILABLE,
        },
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Put a failed job back on its queue."""
        _find(job_id)
        try:
            job = tasks.requeue_job(job_id)
        except tasks.TaskError as exc:
            raise Conflict(str(exc)) from exc
        return Response(JobDetailSerializer(_describe(job), context={"request": request}).data)


class JobDeleteView(TasksView):
    @extend_schema(
        operation_id="webhooks_background_tasks_job_delete",
        request=None,
        responses={204: None, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Delete a job (removing it from its queue and registries)."""
        _find(job_id)
        try:
            tasks.delete_job(job_id)
        except tasks.TaskError as exc:  # deleted meanwhile
            raise NotFound(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class QueueRequeueAllView(TasksView):
    @extend_schema(
        operation_id="webhooks_background_tasks_requeue_all",
        request=None,
        responses={200: RequeuedSerializer, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def post(self, request: Request, queue: str) -> Response:
        """Put every failed job of the queue back on it."""
        _check_queue(queue)
        count = tasks.requeue_all_failed(queue)
        return Response(RequeuedSerializer({"requeued": count}).data)
