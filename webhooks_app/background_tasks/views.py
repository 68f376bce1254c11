"""The background tasks pages: queues, jobs by state, a job's arguments and traceback, workers,
and the operator's actions (retry, retry all failed, delete).

Inside the admin's look, for active staff (others are sent to the admin login) with the
permissions of ``webhooks_app.background_tasks.permissions``, the REST API's rule too: the pages
need the right to view deliveries, the actions (and their confirmation pages) the right to
change them; a user without them gets 403. Nothing is cached. Every action is a POST with a
CSRF token, after a confirmation page (its GET). When Redis cannot be reached, the pages say so
instead of failing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from redis.exceptions import RedisError

from webhooks_app.background_tasks import registries as tasks
from webhooks_app.background_tasks.permissions import can_act, can_read
from webhooks_app.models import OutboxEntry, Webhook

__all__ = [
    "background_tasks",
    "job_delete",
    "job_detail",
    "job_list",
    "job_retry",
    "queue_retry_all",
]

PAGE_SIZE = 25
CONFIRM_TEMPLATE = "webhooks_app/admin/confirm.html"

View = Callable[..., HttpResponse]
Rule = Callable[[Any], bool]


def allowed_by(rule: Rule) -> Callable[[View], View]:
    """Active staff for whom ``rule(user)`` holds; anonymous and non-staff users go to the admin
    login, other staff get 403. Responses are never cached."""

    def decorate(view: View) -> View:
        return never_cache(staff_member_required(checked_by(rule, view)))

    return decorate


def checked_by(rule: Rule, view: View) -> View:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not rule(request.user):
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except RedisError as exc:
            return _redis_unavailable(request, exc)
        except Http404 as exc:
            context = _context(request, "Not found", message=str(exc))
            return TemplateResponse(
                request, "webhooks_app/background_tasks/not_found.html", context, status=404
            )

    return checked


reader_required = allowed_by(can_read)
actor_required = allowed_by(can_act)


def _context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    # can_act: whether to offer the actions (retry, retry all, delete).
    return {
        **admin.site.each_context(request),
        "title": title,
        "can_act": can_act(request.user),
        **extra,
    }


def _redis_unavailable(request: HttpRequest, exc: RedisError) -> HttpResponse:
    context = _context(
        request,
        "Background tasks",
        redis_error=str(exc) or type(exc).__name__,
        outbox_count=OutboxEntry.objects.count(),
    )
    return TemplateResponse(
        request, "webhooks_app/background_tasks/unavailable.html", context, status=503
    )


def _status_text(value: object) -> str:
    """RQ's status enums as their plain value ("failed"), whether given an enum or its str()."""
    text = str(getattr(value, "value", value))
    prefix, dot, name = text.partition(".")
    return name.lower() if dot and prefix.endswith("Status") else text


def _job(job_id: str) -> tasks.JobInfo:
    try:
        job = tasks.find_job(job_id)
    except tasks.TaskError as exc:
        raise Http404(str(exc)) from exc
    info = tasks.job_info(job, _status_text(job.get_status(refresh=False)))
    _describe([info])
    return info


def _error_summary(error: str) -> str:
    """The error line without the exception's dotted class name (the message says enough)."""
    name, sep, message = error.partition(": ")
    return message if sep and "." in name and " " not in name else error


def _describe(jobs: list[tasks.JobInfo]) -> None:
    """Fill in the webhook names that job arguments do not carry (one query) and shorten the
    error lines."""
    ids = {job.webhook_id for job in jobs if job.webhook_id is not None and not job.webhook_name}
    names = dict(Webhook.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    for job in jobs:
        job.error = _error_summary(job.error)
        if job.webhook_id in names:
            job.webhook_name = names[job.webhook_id]


def _confirm(
    request: HttpRequest, title: str, question: str, cancel_url: str, **extra: Any
) -> HttpResponse:
    context = _context(
        request,
        title,
        question=question,
        cancel_url=cancel_url,
        confirm_label=extra.pop("confirm_label", "Yes, I'm sure"),
        background_tasks=True,
        **extra,
    )
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def _list_url(queue: str, state: str) -> str:
    return reverse("webhooks_app:job-list", args=[queue, state])


@reader_required
def background_tasks(request: HttpRequest) -> HttpResponse:
    """Each queue with its job counts per state (linked to the lists), and the workers."""
    context = _context(
        request,
        "Background tasks",
        queues=tasks.queue_stats(),
        states=tasks.STATES,
        workers=[{**w, "state": _status_text(w["state"])} for w in tasks.worker_list()],
        outbox_count=OutboxEntry.objects.count(),
    )
    return TemplateResponse(request, "webhooks_app/background_tasks/index.html", context)


@reader_required
def job_list(request: HttpRequest, queue: str, state: str) -> HttpResponse:
    """One page of a queue's jobs in one state, described in webhook terms."""
    if queue not in tasks.queue_names() or state not in tasks.STATES:
        raise Http404(f"No job list for queue {queue!r} and state {state!r}.")
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    total, jobs = tasks.list_jobs(queue, state, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    _describe(jobs)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    context = _context(
        request,
        f"{state.capitalize()} jobs in {queue}",
        queue=queue,
        state=state,
        states=tasks.STATES,
        jobs=jobs,
        total=total,
        page=page,
        pages=pages,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page < pages else None,
    )
    return TemplateResponse(request, "webhooks_app/background_tasks/job_list.html", context)


@reader_required
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """A job's times, webhook terms, arguments (pretty JSON) and full traceback."""
    job = _job(job_id)
    context = _context(
        request,
        f"Job {job.id}",
        job=job,
        arguments=json.dumps(job.deliveries, indent=2, ensure_ascii=False)
        if job.deliveries
        else "",
    )
    return TemplateResponse(request, "webhooks_app/background_tasks/job_detail.html", context)


@actor_required
def job_retry(request: HttpRequest, job_id: str) -> HttpResponse:
    """Put a failed job back on its queue."""
    job = _job(job_id)
    detail_url = reverse("webhooks_app:job-detail", args=[job.id])
    if request.method != "POST":
        return _confirm(
            request,
            "Retry this job?",
            "Put this failed job back on its queue, to be run again by a worker?",
            detail_url,
            job=job,
            confirm_label="Yes, retry",
        )
    try:
        tasks.requeue_job(job.id)
    except tasks.TaskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Job {job.id} has been put back on the {job.queue} queue.")
    return HttpResponseRedirect(detail_url)


@actor_required
def job_delete(request: HttpRequest, job_id: str) -> HttpResponse:
    """Remove a job from its queue and registries, for good."""
    job = _job(job_id)
    if request.method != "POST":
        return _confirm(
            request,
            "Delete this job?",
            "Delete this job for good? Its deliveries stay in the delivery log and can be "
            "redelivered from there.",
            reverse("webhooks_app:job-detail", args=[job.id]),
            job=job,
            confirm_label="Yes, delete",
            danger=True,
        )
    try:
        tasks.delete_job(job.id)
    except tasks.TaskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Job {job.id} has been deleted.")
    return HttpResponseRedirect(
        _list_url(job.queue, job.state if job.state in tasks.STATES else "queued")
    )


@actor_required
def queue_retry_all(request: HttpRequest, queue: str) -> HttpResponse:
    """Put every failed job of a queue back on it."""
    if queue not in tasks.queue_names():
        raise Http404(f"Unknown queue {queue!r}.")
    failed_url = _list_url(queue, "failed")
    if request.method != "POST":
        stats = {q["name"]: q for q in tasks.queue_stats()}
        return _confirm(
            request,
            "Retry all failed jobs?",
            f"Put all {stats[queue]['failed']} failed job(s) of the {queue} queue back on it?",
            failed_url,
            confirm_label="Yes, retry all",
        )
    count = tasks.requeue_all_failed(queue)
    messages.success(request, f"{count} failed job(s) put back on the {queue} queue.")
    return HttpResponseRedirect(failed_url)
