"""Secret rotation on the model: whatever saves a new secret (admin, API, ORM), the old one
stays valid for ``secret_overlap_hours`` as ``previous_secret``; clearing the secret, an
overlap of 0 or ending the overlap leaves none; an expired one is ignored and dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import make_webhook
from webhooks_app.models import Webhook
from webhooks_app.models.encrypted import stored_credential

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/"


def reloaded(webhook: Webhook) -> Webhook:
    return Webhook.objects.get(pk=webhook.pk)


def test_a_new_secret_keeps_the_old_one_for_the_overlap() -> None:
    webhook = make_webhook(URL, secret="old-secret", secret_overlap_hours=24)
    before = timezone.now()
    webhook.secret = "new-secret"
    webhook.save()
    stored = reloaded(webhook)
    assert stored.secret == "new-secret"
    assert stored.previous_secret == "old-secret"
    assert stored.previous_secret_expires_at is not None
    expected = before + timedelta(hours=24)
    assert expected <= stored.previous_secret_expires_at <= expected + timedelta(minutes=1)
    assert stored.active_previous_secret() == "old-secret"
    # Encrypted at rest like the secret.
    assert "old-secret" not in stored_credential(stored, "previous_secret")


def test_saving_without_changing_the_secret_does_not_rotate() -> None:
    webhook = make_webhook(URL, secret="same")
    reloaded(webhook).save()
    webhook = reloaded(webhook)
    webhook.description = "edited"
    webhook.save()
    webhook.secret = "same"  # typed again: same value, no rotation
    webhook.save()
    assert reloaded(webhook).previous_secret == ""
    assert reloaded(webhook).previous_secret_expires_at is None


def test_an_instance_not_loaded_from_the_database_rotates_too() -> None:
    webhook = make_webhook(URL, secret="first")
    detached = Webhook(pk=webhook.pk, name=webhook.name, payload_url=URL, secret="second")
    detached.created = webhook.created
    detached.save()
    assert reloaded(webhook).previous_secret == "first"


def test_a_secret_set_where_there_was_none_has_no_previous() -> None:
    webhook = make_webhook(URL)
    webhook.secret = "first"
    webhook.save()
    assert reloaded(webhook).previous_secret_expires_at is None


def test_clearing_the_secret_clears_the_previous_one() -> None:
    webhook = make_webhook(URL, secret="one")
    webhook.secret = "two"
    webhook.save()
    webhook.secret = ""
    webhook.save()
    stored = reloaded(webhook)
    assert (stored.secret, stored.previous_secret, stored.previous_secret_expires_at) == (
        "",
        "",
        None,
    )


def test_an_overlap_of_zero_keeps_no_previous_secret() -> None:
    webhook = make_webhook(URL, secret="one", secret_overlap_hours=0)
    webhook.secret = "two"
    webhook.save()
    assert reloaded(webhook).previous_secret == ""


def test_a_second_change_keeps_the_secret_it_replaced() -> None:
    webhook = make_webhook(URL, secret="one", secret_overlap_hours=2)
    webhook.secret = "two"
    webhook.save()
    webhook.secret = "three"
    webhook.save()
    assert reloaded(webhook).previous_secret == "two"


def test_ending_the_overlap_forgets_the_previous_secret_even_in_the_same_save() -> None:
    webhook = make_webhook(URL, secret="one")
    webhook.secret = "two"
    webhook.save()
    webhook.end_secret_overlap()
    webhook.save()
    assert reloaded(webhook).previous_secret_expires_at is None
    webhook.secret = "three"
    webhook.end_secret_overlap()
    webhook.save()
    stored = reloaded(webhook)
    assert (stored.secret, stored.previous_secret) == ("three", "")


def test_an_expired_previous_secret_is_ignored_and_dropped_on_the_next_save() -> None:
    webhook = make_webhook(URL, secret="one")
    webhook.secret = "two"
    webhook.save()
    Webhook.objects.filter(pk=webhook.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = reloaded(webhook)
    assert expired.previous_secret == "one"  # still stored...
    assert expired.active_previous_secret() == ""  # ...but not used
    assert not expired.previous_secret_active()
    expired.description = "any save"
    expired.save()
    assert reloaded(webhook).previous_secret == ""


def test_save_with_update_fields_rotates_and_saves_the_previous_secret() -> None:
    webhook = make_webhook(URL, secret="one")
    webhook.secret = "two"
    webhook.save(update_fields=["secret"])
    assert reloaded(webhook).previous_secret == "one"


def test_generate_secret_makes_a_strong_secret_and_rotates() -> None:
    webhook = make_webhook(URL, secret="one")
    generated = webhook.generate_secret()
    webhook.save()
    assert len(generated) >= 43 and generated == webhook.generated_secret
    stored = reloaded(webhook)
    assert (stored.secret, stored.previous_secret) == (generated, "one")
    assert not hasattr(stored, "generated_secret")  # shown once: never loaded again
    standard = make_webhook(URL, name="standard", secret="x", standard_webhooks=True)
    assert standard.generate_secret().startswith("whsec_")
