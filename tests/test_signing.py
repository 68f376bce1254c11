"""Signatures: NetBox's X-Hook-Signature and Standard Webhooks."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from webhooks_app.delivery.callbacks import generate_signature as public_generate_signature
from webhooks_app.signing import (
    generate_signature,
    generate_standard_signature,
    generate_standard_signatures,
    new_secret,
    standard_secret,
    verify_hook_signatures,
    verify_signature,
    verify_standard_signature,
)

CAPTURES = Path(__file__).resolve().parent / "netbox_payloads"


def test_signature_is_lower_hex_hmac_sha512_of_the_body() -> None:
    body = b'{"a": 1}'
    expected = hmac.new(b"secret", body, hashlib.sha512).hexdigest()
    assert generate_signature(body, "secret") == expected
    assert len(expected) == 128 and expected == expected.lower()
    assert public_generate_signature is generate_signature


@pytest.mark.parametrize("name", ["created", "updated", "deleted"])
def test_matches_netbox_captured_signatures(name: str) -> None:
    body = (CAPTURES / f"{name}.raw.json").read_bytes()
    header = next(
        line.split(": ", 1)[1]
        for line in (CAPTURES / f"headers-{name}.txt").read_text().splitlines()
        if line.startswith("X-Hook-Signature")
    )
    assert generate_signature(body, "anchor-secret-123") == header


def test_verify_signature_accepts_only_the_right_one() -> None:
    signature = generate_signature(b"body", "k")
    assert verify_signature(b"body", "k", signature)
    assert verify_signature(b"body", "k", signature.upper())
    assert not verify_signature(b"body!", "k", signature)
    assert not verify_signature(b"body", "other", signature)


def test_standard_signature_verifies_with_the_standardwebhooks_library() -> None:
    body = b'{"event": "created"}'
    now = int(time.time())
    signature = generate_standard_signature("evt_1", now, body, "raw secret")
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    verifier = StandardWebhook(standard_secret("raw secret"))
    assert verifier.verify(body, headers) == {"event": "created"}
    assert verify_standard_signature("evt_1", now, body, "raw secret", signature)
    old = {**headers, "webhook-timestamp": "1000000000"}
    old["webhook-signature"] = generate_standard_signature("evt_1", 1000000000, body, "raw secret")
    with pytest.raises(Exception, match="(?i)timestamp"):
        verifier.verify(body, old)  # the library's replay window applies to our timestamp


def test_whsec_secrets_are_used_as_standard_webhooks_keys() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert standard_secret(secret) == secret
    signature = generate_standard_signature("id", 1, b"x", secret)
    assert verify_standard_signature("id", 1, b"x", secret, f"v1,bogus {signature}")


def test_verification_takes_one_secret_or_several() -> None:
    signature = generate_signature(b"body", "new")
    assert verify_signature(b"body", ["old", "new"], signature)
    assert not verify_signature(b"body", ["old", "other"], signature)
    assert not verify_signature(b"body", [], signature)
    both = generate_standard_signatures("id", 1, b"x", ["new", "old"])
    assert both.count("v1,") == 2 and both.split(" ")[1] == generate_standard_signature(
        "id", 1, b"x", "old"
    )
    assert verify_standard_signature("id", 1, b"x", "old", both)
    assert verify_standard_signature("id", 1, b"x", ["other", "new"], both)
    assert not verify_standard_signature("id", 1, b"x", ["other"], both)


def test_the_receiver_rule_accepts_next_or_current_signature() -> None:
    old, new = generate_signature(b"b", "old"), generate_signature(b"b", "new")
    assert verify_hook_signatures(b"b", "new", old, new)  # switched, during the overlap
    assert verify_hook_signatures(b"b", "old", old, new)  # not switched yet
    assert verify_hook_signatures(b"b", "new", new)  # switched, after the overlap
    assert not verify_hook_signatures(b"b", "old", new)  # too late: the overlap is over
    assert not verify_hook_signatures(b"b", "new", None, None)


def test_generated_secrets_are_strong_and_fit_their_use() -> None:
    plain = {new_secret() for _ in range(20)}
    assert len(plain) == 20 and all(len(s) == 43 and s.isascii() for s in plain)
    standard = new_secret(standard=True)
    assert standard.startswith("whsec_") and standard_secret(standard) == standard
    signature = generate_standard_signature("id", 1, b"x", standard)
    assert verify_standard_signature("id", 1, b"x", standard, signature)
