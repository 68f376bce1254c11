"""Request middleware: a request id, and the request as the scope of its events.

Each request gets a UUID (``request.id``), returned as the ``X-Request-ID`` response header.
Changes the request commits are coalesced per object and dispatched when the view returns (or
raises), before the response is returned: once a client sees the response, the jobs are in
Redis, or in the outbox if Redis refused them (the response does not change either way).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from webhooks_app.capture.context import capture_events

__all__ = ["REQUEST_ID_HEADER", "WebhooksMiddleware"]

REQUEST_ID_HEADER = "X-Request-ID"


class WebhooksMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4()
        request.id = request_id  # type: ignore[attr-defined]
        with capture_events(request=request, request_id=request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = str(request_id)
        return response
