"""Client certificates (mutual TLS) in the sender, against a real HTTPS server on 127.0.0.1 that
requires one: the certificate is presented, kept connections are reused, a new certificate
takes effect, failures say what happened, and the key is never written to a file that stays."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from urllib3.exceptions import InsecureRequestWarning

from tests.delivery.loopback import Loopback
from tests.tls_server import Authority, Issued, MutualTLSServer, TunnelProxy
from webhooks_app.delivery.client_tls import (
    MEMFD_AVAILABLE,
    ClientCertificate,
    ClientCertificateError,
    client_certificate_problem,
    context_for,
    key_file,
    reset_contexts,
)
from webhooks_app.delivery.http import ConnectionFailed, OutgoingRequest, reset_pools, send
from webhooks_app.exceptions import BlockedDestinationError
from webhooks_app.models.encrypted import UndecryptableCredentialError


@pytest.fixture(autouse=True)
def fresh_pools() -> Iterator[None]:
    reset_pools()
    reset_contexts()
    yield
    reset_pools()
    reset_contexts()


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


@pytest.fixture
def issued(authority: Authority) -> Issued:
    return authority.client("client-1")


@pytest.fixture
def server(authority: Authority) -> Iterator[MutualTLSServer]:
    with MutualTLSServer(authority, status=204) as s:
        yield s


def post(url: str) -> OutgoingRequest:
    return OutgoingRequest("POST", url, {"Content-Type": "application/json"}, b"{}")


def client(issued: Issued, owner: object = 1) -> ClientCertificate:
    return ClientCertificate.from_pem(issued.certificate, issued.key, owner=owner)


def test_the_certificate_is_presented_and_the_request_answered(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    response = send(post(server.url()), verify=authority.ca_file, client_cert=client(issued))
    assert response.status_code == 204
    assert server.client_subjects == ["CN=client-1"]


def test_the_name_in_the_url_is_checked_against_the_receivers_certificate(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    response = send(
        post(server.url("localhost")), verify=authority.ca_file, client_cert=client(issued)
    )
    assert response.status_code == 204


def test_without_verification_the_certificate_is_still_presented(
    issued: Issued, server: MutualTLSServer
) -> None:
    # The server's certificate comes from a CA nobody trusts here; verify=False accepts it.
    with pytest.warns(InsecureRequestWarning):
        response = send(post(server.url()), verify=False, client_cert=client(issued))
    assert response.status_code == 204
    assert server.client_subjects == ["CN=client-1"]


def test_the_default_bundle_does_not_trust_a_private_ca(
    issued: Issued, server: MutualTLSServer
) -> None:
    with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
        send(post(server.url()), verify=True, client_cert=client(issued))


def test_requests_one_after_the_other_share_one_kept_connection(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    for _ in range(3):
        send(post(server.url()), verify=authority.ca_file, client_cert=client(issued))
    assert len(server.requests) == 3
    assert len({r.client_port for r in server.requests}) == 1


def test_a_new_certificate_for_the_same_owner_is_presented_at_once(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    send(post(server.url()), verify=authority.ca_file, client_cert=client(issued))
    renewed = authority.client("client-1-renewed")
    send(post(server.url()), verify=authority.ca_file, client_cert=client(renewed))
    assert server.client_subjects == ["CN=client-1", "CN=client-1-renewed"]
    assert server.requests[0].client_port != server.requests[1].client_port


def test_contexts_are_cached_by_owner_certificate_key_and_verification(
    authority: Authority, issued: Issued
) -> None:
    first = context_for(client(issued), authority.ca_file)
    assert context_for(client(issued), authority.ca_file) is first
    assert context_for(client(issued, owner=2), authority.ca_file) is not first
    assert context_for(client(issued), False) is not first
    other_key = ClientCertificate(1, issued.certificate, "another token", lambda: issued.key)
    assert context_for(other_key, authority.ca_file) is not first


def test_the_key_is_read_only_when_a_context_is_built(authority: Authority, issued: Issued) -> None:
    reads: list[int] = []

    def load_key() -> str:
        reads.append(1)
        return issued.key

    certificate = ClientCertificate(1, issued.certificate, "token-1", load_key)
    context_for(certificate, authority.ca_file)
    context_for(certificate, authority.ca_file)
    assert len(reads) == 1


def test_a_plain_http_receiver_never_needs_the_key() -> None:
    def load_key() -> str:
        raise AssertionError("the key was read")

    with Loopback(status=204) as plain:
        certificate = ClientCertificate(1, "cert", "token", load_key)
        assert send(post(plain.url()), client_cert=certificate).status_code == 204


def test_a_denied_destination_is_refused_before_the_key_is_read(settings: Any) -> None:
    settings.WEBHOOKS_DENIED_NETWORKS = ["127.0.0.0/8"]

    def load_key() -> str:
        raise AssertionError("the key was read")

    certificate = ClientCertificate(1, "cert", "token", load_key)
    with pytest.raises(BlockedDestinationError):
        send(post("https://127.0.0.1:9/"), client_cert=certificate)
    with (
        TunnelProxy() as proxy,
        override_settings(WEBHOOKS_HTTP_PROXIES={"https": proxy.url}),
        pytest.raises(BlockedDestinationError),
    ):
        send(post("https://127.0.0.1:9/"), client_cert=certificate)
    assert proxy.requests == []


def test_without_a_certificate_the_failure_says_the_receiver_requires_one(
    authority: Authority, server: MutualTLSServer
) -> None:
    with pytest.raises(ConnectionFailed) as failed:
        send(post(server.url()), verify=authority.ca_file)
    assert str(failed.value).startswith("The receiver requires a client certificate")
    assert failed.value.retryable  # a certificate set meanwhile is used by the next attempt
    assert server.requests == []


def test_a_certificate_from_another_ca_is_refused(
    authority: Authority, server: MutualTLSServer, tmp_path: Path
) -> None:
    stranger = Authority(tmp_path, name="Other CA").client("stranger")
    with pytest.raises(ConnectionFailed) as failed:
        send(post(server.url()), verify=authority.ca_file, client_cert=client(stranger))
    assert str(failed.value).startswith("The receiver refused the client certificate")
    assert "unknown ca" in str(failed.value).lower()
    assert server.requests == []


def test_a_certificate_and_key_that_do_not_match_fail_for_good(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    other = authority.client("client-2")
    mismatched = ClientCertificate.from_pem(issued.certificate, other.key, owner=7)
    with pytest.raises(ClientCertificateError) as failed:
        send(post(server.url()), verify=authority.ca_file, client_cert=mismatched)
    assert str(failed.value) == (
        "The client certificate of webhook 7 cannot be loaded: The private key does not "
        "belong to the certificate (their public keys differ)."
    )
    assert not failed.value.retryable
    assert other.key.splitlines()[1][:20] not in str(failed.value)
    assert server.requests == []


def test_text_that_is_not_pem_fails_for_good(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    broken = ClientCertificate.from_pem(issued.certificate, "not a key", owner=7)
    with pytest.raises(ClientCertificateError, match="not a valid PEM private key|PEM private"):
        send(post(server.url()), verify=authority.ca_file, client_cert=broken)


def test_an_undecryptable_key_fails_with_its_own_reason(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    def load_key() -> str:
        raise UndecryptableCredentialError("The client key of webhook 7 cannot be decrypted.")

    locked = ClientCertificate(7, issued.certificate, "token", load_key)
    with pytest.raises(UndecryptableCredentialError, match="cannot be decrypted"):
        send(post(server.url()), verify=authority.ca_file, client_cert=locked)
    assert server.requests == []


def test_an_https_request_through_a_proxy_presents_the_certificate_in_the_tunnel(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    with TunnelProxy() as proxy, override_settings(WEBHOOKS_HTTP_PROXIES={"https": proxy.url}):
        for _ in range(2):
            response = send(
                post(server.url()), verify=authority.ca_file, client_cert=client(issued)
            )
            assert response.status_code == 204
    assert proxy.requests == [f"CONNECT 127.0.0.1:{server.port}"]  # one tunnel, kept
    assert server.client_subjects == ["CN=client-1", "CN=client-1"]


def test_through_a_proxy_a_new_certificate_is_presented_at_once(
    authority: Authority, issued: Issued, server: MutualTLSServer
) -> None:
    renewed = authority.client("client-1-renewed")
    with TunnelProxy() as proxy, override_settings(WEBHOOKS_HTTP_PROXIES={"https": proxy.url}):
        send(post(server.url()), verify=authority.ca_file, client_cert=client(issued))
        send(post(server.url()), verify=authority.ca_file, client_cert=client(renewed))
    assert server.client_subjects == ["CN=client-1", "CN=client-1-renewed"]


@pytest.mark.skipif(not MEMFD_AVAILABLE, reason="Linux memory files")
def test_the_key_goes_through_a_memory_file_that_is_gone_afterwards() -> None:
    with key_file(b"-----BEGIN PRIVATE KEY-----\n") as path:
        assert path.startswith("/proc/self/fd/")
        assert "memfd:" in os.readlink(path)  # anonymous memory, no file system
        assert Path(path).read_bytes() == b"-----BEGIN PRIVATE KEY-----\n"
    assert not os.path.exists(path) or "memfd:" not in os.readlink(path)


def test_without_memory_files_the_key_file_is_private_and_removed_at_once() -> None:
    with key_file(b"secret", in_memory=False) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert Path(path).read_bytes() == b"secret"
    assert not os.path.exists(path)
    assert not os.path.exists(os.path.dirname(path))


def test_tls_alerts_about_the_client_certificate_are_told_in_words() -> None:
    required = "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required"
    unknown = "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"
    handshake = "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure"
    assert client_certificate_problem(required, presented=False) == (
        "The receiver requires a client certificate"
    )
    assert client_certificate_problem(unknown, presented=True) == (
        "The receiver refused the client certificate: it does not trust its issuer"
    )
    assert client_certificate_problem(unknown, presented=False) is None
    assert "may require a client certificate" in (
        client_certificate_problem(handshake, presented=False) or ""
    )
    assert client_certificate_problem("[SSL: CERTIFICATE_VERIFY_FAILED]", presented=True) is None
