"""Credentials end to end: a real worker process, the real queue (Redis) and a real receiver on
loopback. During a secret's overlap both signatures verify, each with its secret, and after the
overlap (made to end by setting its expiry, never by waiting) only the new secret's; secret
headers reach the receiver and the delivery log shows them as [hidden]."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rq import Queue

from demo.inventory.models import Site
from tests.conftest import make_rule, make_webhook
from tests.worker_processes import WorkerPool, wait_until
from webhooks_app.choices import DeliveryState
from webhooks_app.models import Delivery, DeliveryAttempt, Webhook
from webhooks_app.receiver import ReceivedRequest, Receiver
from webhooks_app.signing import check_request_signatures, standard_secret, verify_signature

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "tok-e2e-5d1f-bearer"


def delivered(receiver: Receiver, count: int) -> ReceivedRequest:
    """The ``count``-th request the receiver got, once its delivery is logged as succeeded."""
    request = receiver.wait_for(count, timeout=60)[count - 1]
    wait_until(
        lambda: Delivery.objects.filter(state=DeliveryState.SUCCEEDED).count() == count,
        60,
        "the delivery log",
    )
    return request


def test_rotation_overlap_then_only_the_new_secret(queue: Queue, pool: WorkerPool) -> None:
    with Receiver() as receiver:  # records; the checks below use each secret on its own
        webhook = make_webhook(
            receiver.url, name="Rotating", secret="old-secret", standard_webhooks=True
        )
        make_rule(webhook, events=("object_created",))
        webhook.secret = "new-secret"
        webhook.save()  # rotated: the old secret stays valid for 24 hours
        pool.start()

        Site.objects.create(name="During", slug="during")
        during = delivered(receiver, 1)
        headers, body = during.headers, during.body
        # A receiver that has not switched (old secret) and one that has (new secret): both
        # accept, on X-Hook-Signature and X-Hook-Signature-Next, and on webhook-signature.
        assert check_request_signatures("old-secret", headers, body) == (True, True)
        assert check_request_signatures("new-secret", headers, body) == (True, True)
        assert check_request_signatures("other", headers, body) == (False, False)
        assert verify_signature(body, "old-secret", during.header("X-Hook-Signature") or "")
        assert verify_signature(body, "new-secret", during.header("X-Hook-Signature-Next") or "")
        assert len((during.header("webhook-signature") or "").split()) == 2

        # The overlap ends (its expiry set in the past: deterministic, no waiting).
        Webhook.objects.filter(pk=webhook.pk).update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
        )
        Site.objects.create(name="After", slug="after")
        after = delivered(receiver, 2)
        assert after.header("X-Hook-Signature-Next") is None
        assert check_request_signatures("new-secret", after.headers, after.body) == (True, True)
        assert check_request_signatures("old-secret", after.headers, after.body) == (False, False)
        assert len((after.header("webhook-signature") or "").split()) == 1
        # The standardwebhooks secret a receiver configures is derived from the new secret.
        assert standard_secret("new-secret").startswith("whsec_")


def test_secret_headers_reach_the_receiver_and_the_log_shows_them_hidden(
    queue: Queue, pool: WorkerPool
) -> None:
    with Receiver(secret="s3cret") as receiver:
        webhook = make_webhook(
            receiver.url,
            name="Authorized",
            secret="s3cret",
            additional_headers="Authorization: overridden\nX-Public: {{ model }}",
            secret_headers=f"Authorization: Bearer {TOKEN}\nX-Api-Key: key-{{{{ data.slug }}}}",
        )
        make_rule(webhook, events=("object_created",))
        pool.start()
        Site.objects.create(name="Secret", slug="secret-site")
        request = delivered(receiver, 1)
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.header("X-Api-Key") == "key-secret-site"
        assert request.header("X-Public") == "site"
        assert request.signature_valid is True
        attempt = DeliveryAttempt.objects.get()
        logged = {k.lower(): v for k, v in attempt.request_headers.items()}
        assert logged["x-api-key"] == "[hidden]"
        # A secret header stays [hidden], even under a name the log redacts anyway.
        assert logged["authorization"] == "[hidden]"
        assert logged["x-public"] == "site"
        assert TOKEN not in str(attempt.request_headers) and "key-secret-site" not in str(
            attempt.request_headers
        )
