"""The data that travels in a job: a delivery spec, and a job spec that carries several.

Plain JSON data only (ids, strings, dicts), never model instances: a job can wait in Redis (or
in the outbox) across deploys. Dispatch builds them, the worker runs them, the delivery log and
redelivery read them. Pure: no Django models, no I/O.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from rest_framework.utils.encoders import JSONEncoder

__all__ = ["DeliverySpec", "JobSpec", "job_id", "job_spec", "payload_body"]


class DeliverySpec(TypedDict):
    """One webhook delivery of one event: which webhook, which event, which attempt, and the
    template context (``event``, ``timestamp``, ``model``, ``username``, ``request_id``,
    ``data``, ``snapshots``) its URL, headers and body are rendered from."""

    delivery_id: str  # uuid4 string: one per (event, webhook, rule); attempts share it
    event_id: str  # uuid4 string: one per event; every webhook's delivery of it shares it
    webhook_id: int
    webhook_name: str
    event_rule_id: int | None  # None for a test send or a redelivery of a deleted rule's event
    event_rule_name: NotRequired[str]  # kept in the log once the rule is deleted
    event_type: str  # object_created / object_updated / object_deleted
    object_type: str  # "app_label.model"
    object_id: str
    attempt: int  # 1 for the first attempt
    context: dict[str, Any]
    retry_after: NotRequired[float]  # seconds the receiver asked for (Retry-After); not queued


class JobSpec(TypedDict):
    """A job as plain data: its id and the deliveries it carries (one or more)."""

    id: str
    deliveries: list[DeliverySpec]


def job_id(delivery: DeliverySpec) -> str:
    """The RQ job id of a job whose first delivery is ``delivery``: one job per attempt, so a
    retry or a redelivery is a new job and a relay of the same attempt is recognised."""
    return f"webhook-{delivery['delivery_id']}-{delivery['attempt']}"


def job_spec(deliveries: list[DeliverySpec]) -> JobSpec:
    """The job that carries ``deliveries`` (at least one)."""
    return {"id": job_id(deliveries[0]), "deliveries": deliveries}


def payload_body(context: Any) -> str:
    """The body a webhook without a body template sends for a delivery's ``context``: its
    JSON, written once here for the sender and the delivery log (an attempt whose body was
    exactly this stores no copy of it). Raises what ``json.dumps`` raises."""
    return json.dumps(context, cls=JSONEncoder)
