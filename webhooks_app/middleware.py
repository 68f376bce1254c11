"""Request middleware: a request id, and the request as the scope of its events.

Each request gets a UUID (``request.id``), returned as the ``X-Request-ID`` response header.
Changes the request commits are coalesced per object and dispatched as it finishes; their
events carry the request's id, method, path and user.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import capture_events

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
