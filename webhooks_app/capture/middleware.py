"""Request middleware: a request id, and the request as the scope of its events.

Each request gets a UUID (``request.id``), returned as the ``X-Request-ID`` response header.
Changes the request commits are coalesced per object and dispatched as it finishes; their
events carry the request's id, method, path and user.

The jobs are sent to Redis before the response is returned (so they are queued before the
client can see the response), and Redis's answer is read when the response is closed, after
the server has written it: the client does not wait for that round trip, and the server
thread takes its next request only once the jobs are known to be queued, or saved to the
outbox if Redis refused them. WSGI servers close every response (PEP 3333); a streaming
response, or a request that raises, reads the answer at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from webhooks_app.capture.context import capture_events

REQUEST_ID_HEADER = "X-Request-ID"

logger = logging.getLogger(__name__)


def _confirm_all(unconfirmed: list[Callable[[], None]]) -> None:
    while unconfirmed:
        confirm = unconfirmed.pop(0)
        try:
            confirm()
        except Exception:  # response.close() would swallow it silently
            logger.exception("Could not confirm or save the webhook jobs of a request")


class WebhooksMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4()
        request.id = request_id  # type: ignore[attr-defined]
        unconfirmed: list[Callable[[], None]] = []
        try:
            with capture_events(request=request, request_id=request_id, unconfirmed=unconfirmed):
                response = self.get_response(request)
        except BaseException:
            _confirm_all(unconfirmed)
            raise
        response[REQUEST_ID_HEADER] = str(request_id)
        if unconfirmed:
            if response.streaming:
                _confirm_all(unconfirmed)
            else:
                # Django's response.close() runs these before sending request_finished.
                closers = response._resource_closers  # type: ignore[attr-defined]
                closers.append(lambda: _confirm_all(unconfirmed))
        return response
