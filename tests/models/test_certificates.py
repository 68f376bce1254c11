"""A webhook's client certificate and key are checked when saved: both or neither, PEM, an
unencrypted key that belongs to the certificate, a certificate that has not expired. The
messages never quote the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError

from tests.tls_server import Authority, Issued
from webhooks_app.models.certificates import check_client_certificate, describe_certificate


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def client(authority: Authority) -> Issued:
    return authority.client("client-1")


def errors(certificate: str, key: str, **kwargs: datetime) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        check_client_certificate(certificate, key, **kwargs)
    return caught.value.message_dict


def codes(certificate: str, key: str) -> dict[str, list[str | None]]:
    with pytest.raises(ValidationError) as caught:
        check_client_certificate(certificate, key)
    return {f: [e.code for e in errs] for f, errs in caught.value.error_dict.items()}


def test_neither_set_is_valid() -> None:
    check_client_certificate("", "")
    check_client_certificate("  \n", "\n")


def test_a_certificate_and_its_key_are_valid(client: Issued) -> None:
    check_client_certificate(client.certificate, client.key)


def test_windows_line_endings_and_surrounding_blank_lines_are_accepted(client: Issued) -> None:
    crlf = "\r\n"
    check_client_certificate(
        "\n" + client.certificate.replace("\n", crlf), client.key.replace("\n", crlf) + "\n\n"
    )


def test_the_certificate_may_be_followed_by_its_chain(authority: Authority, client: Issued) -> None:
    check_client_certificate(client.certificate + authority.certificate_pem, client.key)


def test_a_traditional_rsa_or_ec_key_is_accepted(client: Issued) -> None:
    key = serialization.load_pem_private_key(client.key.encode(), password=None)
    traditional = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert "BEGIN EC PRIVATE KEY" in traditional
    check_client_certificate(client.certificate, traditional)


def test_both_or_neither(client: Issued) -> None:
    assert errors(client.certificate, "") == {
        "client_key": ["A client certificate needs its private key."]
    }
    assert errors("", client.key) == {"client_certificate": ["A client key needs its certificate."]}


def test_the_certificate_must_be_pem(client: Issued) -> None:
    assert codes("not a certificate", client.key) == {"client_certificate": ["invalid_certificate"]}
    broken = client.certificate.replace(client.certificate.splitlines()[3], "AAAA")
    assert codes(broken, client.key) == {"client_certificate": ["invalid_certificate"]}


def test_the_key_must_be_a_pem_private_key(client: Issued) -> None:
    assert codes(client.certificate, "not a key") == {"client_key": ["invalid_key"]}
    lines = client.key.splitlines()
    broken = "\n".join([lines[0], "QUJD" + lines[1][4:], *lines[2:]])
    assert codes(client.certificate, broken) == {"client_key": ["invalid_key"]}


def test_a_passphrase_protected_key_is_refused_and_said_so(client: Issued) -> None:
    key = serialization.load_pem_private_key(client.key.encode(), password=None)
    protected = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    message = errors(client.certificate, protected)["client_key"][0]
    assert "passphrase" in message
    assert "unencrypted" in message


def test_the_key_must_belong_to_the_certificate(authority: Authority, client: Issued) -> None:
    other = authority.client("client-2")
    assert errors(client.certificate, other.key) == {
        "client_key": [
            "The private key does not belong to the certificate (their public keys differ)."
        ]
    }


def test_an_expired_certificate_is_refused_with_its_expiry_date(authority: Authority) -> None:
    expired_at = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    old = authority.client(
        "old", not_valid_before=expired_at - timedelta(days=30), not_valid_after=expired_at
    )
    assert errors(old.certificate, old.key) == {
        "client_certificate": ["The certificate expired on 2024-03-01 12:30 UTC."]
    }


def test_expiry_is_checked_at_the_time_given(client: Issued) -> None:
    later = datetime.now(UTC) + timedelta(days=3)
    assert "client_certificate" in errors(client.certificate, client.key, now=later)


def test_a_key_pasted_into_the_certificate_field_is_refused(client: Issued) -> None:
    # The certificate is stored in plain text: a key there would not be encrypted at rest.
    assert codes(client.certificate + client.key, client.key) == {
        "client_certificate": ["key_in_certificate"]
    }


def test_both_fields_are_reported_at_once(client: Issued) -> None:
    assert set(codes("junk", "junk")) == {"client_certificate", "client_key"}


def test_no_message_quotes_the_key(authority: Authority, client: Issued, tmp_path: Path) -> None:
    other = authority.client("client-2")
    secret_line = other.key.splitlines()[1]
    lines = other.key.splitlines()
    cases = [
        (client.certificate, other.key),  # mismatch
        ("", other.key),
        ("junk", other.key),
        (client.certificate, "\n".join([lines[0], lines[1][:-4] + "!!!!", *lines[2:]])),
        (client.certificate, other.key.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")),
    ]
    for certificate, key in cases:
        for messages in errors(certificate, key).values():
            for message in messages:
                assert secret_line[:16] not in message
                assert secret_line[-16:] not in message


def test_describe_certificate(authority: Authority, client: Issued) -> None:
    summary = describe_certificate(client.certificate + authority.certificate_pem)
    assert summary is not None
    assert summary.subject == "CN=client-1"
    assert summary.issuer == "CN=Test CA"
    assert len(summary.sha256_fingerprint) == 32 * 3 - 1
    assert str(summary).startswith("CN=client-1, issued by CN=Test CA, valid until ")
    assert describe_certificate("") is None
    assert describe_certificate("junk") is None


@pytest.mark.django_db
def test_a_certificate_that_expired_since_does_not_block_other_changes(
    authority: Authority,
) -> None:
    from webhooks_app.models import Webhook

    ends = datetime.now(UTC) - timedelta(days=1)
    old = authority.client("old", not_valid_before=ends - timedelta(days=30), not_valid_after=ends)
    webhook = Webhook(name="mtls", payload_url="https://127.0.0.1/hook")
    webhook.client_certificate, webhook.client_key = old.certificate, old.key
    with pytest.raises(ValidationError, match="expired"):
        webhook.full_clean()  # entering an expired certificate is refused
    webhook.save()  # as if it had expired after it was entered
    stored = Webhook.objects.get(pk=webhook.pk)
    stored.description = "still editable"
    stored.full_clean()
    stored.client_certificate = old.certificate + "\n"  # entered again: checked again
    with pytest.raises(ValidationError, match="expired"):
        stored.full_clean()
