"""Background tasks: RQ queues, jobs by state, workers, and the operator's actions on them.

Shared by the admin's background-tasks page and the REST API. Webhook jobs are described in
webhook terms (webhook, event, object, error) rather than as raw RQ data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import django_rq
from django.conf import settings
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import (
    BaseRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from webhooks_app.dispatch.enqueue import JOB_FUNC

__all__ = [
    "STATES",
    "JobInfo",
    "delete_job",
    "find_job",
    "job_info",
    "list_jobs",
    "queue_names",
    "queue_stats",
    "requeue_all_failed",
    "requeue_job",
    "worker_list",
]

logger = logging.getLogger(__name__)

STATES = ("queued", "started", "scheduled", "deferred", "finished", "failed")
_REGISTRIES: dict[str, type[BaseRegistry]] = {
    "started": StartedJobRegistry,
    "scheduled": ScheduledJobRegistry,
    "deferred": DeferredJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
}


class TaskError(Exception):
    """An operator action that cannot be done (unknown job, wrong state...)."""


@dataclass
class JobInfo:
    id: str
    queue: str
    state: str
    func_name: str
    description: str
    created_at: datetime | None
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    webhook_id: int | None = None
    webhook_name: str = ""
    event_id: str = ""
    event_type: str = ""
    object_type: str = ""
    object_id: str = ""
    delivery_count: int = 0
    attempt: int | None = None
    error: str = ""
    traceback: str = ""
    deliveries: list[dict[str, Any]] = field(default_factory=list)


def queue_names() -> list[str]:
    return list(getattr(settings, "RQ_QUEUES", {}).keys())


def get_queue(name: str) -> Queue:
    if name not in queue_names():
        raise TaskError(f"Unknown queue {name!r}.")
    return django_rq.get_queue(name)


def _registry(queue: Queue, state: str) -> BaseRegistry:
    return _REGISTRIES[state](queue=queue)


def queue_stats() -> list[dict[str, Any]]:
    stats = []
    for name in queue_names():
        queue = django_rq.get_queue(name)
        counts = {"queued": queue.count}
        for state in STATES[1:]:
            counts[state] = _registry(queue, state).count
        stats.append({"name": name, **counts, "workers": Worker.count(queue=queue)})
    return stats


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def job_info(job: Job, state: str | None = None) -> JobInfo:
    status = state or job.get_status(refresh=False).value
    info = JobInfo(
        id=job.id,
        queue=job.origin,
        state=status,
        func_name=job.func_name or "",
        description=job.description or "",
        created_at=job.created_at,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
    )
    if job.func_name == JOB_FUNC and job.args and isinstance(job.args[0], list) and job.args[0]:
        deliveries: list[dict[str, Any]] = job.args[0]
        first = deliveries[0]
        info.deliveries = deliveries
        info.delivery_count = len(deliveries)
        info.webhook_id = first.get("webhook_id")
        info.webhook_name = first.get("webhook_name", "")
        info.event_id = first.get("event_id", "")
        info.event_type = first.get("event_type", "")
        info.object_type = first.get("object_type", "")
        info.object_id = str(first.get("object_id", ""))
        info.attempt = first.get("attempt")
    if status == "failed":
        latest = job.latest_result()
        text = latest.exc_string if latest is not None else ""
        info.traceback = text or ""
        info.error = _last_line(info.traceback)
    return info


def list_jobs(
    queue_name: str, state: str, offset: int = 0, limit: int = 50
) -> tuple[int, list[JobInfo]]:
    if state not in STATES:
        raise TaskError(f"Unknown state {state!r}; use one of {', '.join(STATES)}.")
    queue = get_queue(queue_name)
    if state == "queued":
        total = queue.count
        ids = queue.get_job_ids(offset, limit)
    else:
        registry = _registry(queue, state)
        total = registry.count
        ids = registry.get_job_ids(offset, offset + limit - 1)
    jobs = [job for job in Job.fetch_many(ids, connection=queue.connection) if job is not None]
    return total, [job_info(job, state) for job in jobs]


def find_job(job_id: str) -> Job:
    if not job_id or not all(ch.isalnum() or ch in "-_" for ch in job_id):
        raise TaskError(f"Job {job_id} not found.")
    for name in queue_names():
        try:
            return Job.fetch(job_id, connection=django_rq.get_connection(name))
        except NoSuchJobError:
            continue
    raise TaskError(f"Job {job_id} not found.")


def requeue_job(job_id: str) -> Job:
    """Move a failed job back onto its queue (RQ's FailedJobRegistry.requeue)."""
    job = find_job(job_id)
    queue = get_queue(job.origin)
    try:
        return FailedJobRegistry(queue=queue).requeue(job)
    except InvalidJobOperation as exc:
        raise TaskError(f"Job {job_id} is not failed; only failed jobs can be retried.") from exc


def requeue_all_failed(queue_name: str) -> int:
    queue = get_queue(queue_name)
    registry = FailedJobRegistry(queue=queue)
    count = 0
    for job_id in registry.get_job_ids():
        try:
            registry.requeue(job_id)
            count += 1
        except (InvalidJobOperation, NoSuchJobError):
            logger.warning("Failed job %s vanished before it could be requeued", job_id)
    return count


def delete_job(job_id: str) -> None:
    job = find_job(job_id)
    job.delete(remove_from_queue=True, delete_dependents=False)


def worker_list() -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for name in queue_names():
        queue = django_rq.get_queue(name)
        for worker in Worker.all(queue=queue):
            current = worker.get_current_job_id()
            seen[worker.name] = {
                "name": worker.name,
                "hostname": worker.hostname,
                "pid": worker.pid,
                "state": getattr(worker.get_state(), "value", str(worker.get_state())),
                "queues": worker.queue_names(),
                "current_job": current,
                "birth": worker.birth_date,
                "last_heartbeat": worker.last_heartbeat,
                "successful_jobs": worker.successful_job_count,
                "failed_jobs": worker.failed_job_count,
            }
    return list(seen.values())
