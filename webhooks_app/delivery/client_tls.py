"""TLS contexts for webhooks that present a client certificate (mutual TLS).

A webhook's client certificate travels to :func:`~webhooks_app.delivery.http.send` as a
:class:`ClientCertificate`: the PEM certificate (and chain), an identifier of the key that is
not the key (the webhook's stored, encrypted token), and a function that returns the key in
plain text, called only when a context has to be built. :func:`context_for` builds an
:class:`ssl.SSLContext` with urllib3's public ``create_urllib3_context`` (the settings urllib3
uses for its own contexts), loads the CA bundle (the webhook's, or certifi's) unless
verification is off, and the certificate and key with ``load_cert_chain``. urllib3 gets it as
``ssl_context``, a public pool keyword argument; a supplied context is used as it is (urllib3
loads no default CA into it and takes its ``verify_mode``), in urllib3 2.0.4 as in the newest.

Python's ``ssl`` loads a key only from a file. The plaintext key never goes to a file on disk:
on Linux it is written to an anonymous memory file (``os.memfd_create``, read back through
``/proc/self/fd/N``) that disappears when closed, right after ``load_cert_chain``. Where that
is not available, it goes to a file readable by this user only (0600) in a private temporary
directory (0700), both removed right after loading: the key is then on the temporary
directory's file system for the duration of one ``load_cert_chain`` call.

Contexts are cached per process by (owner, verification), with a fingerprint of the
certificate and the key's token: connection pools are keyed by their context, so requests to
one receiver reuse their keep-alive connections, and a certificate or key changed in the
database (a new token) gives a new context at the next job, whose new connections present it.

:func:`client_certificate_problem` reads a TLS error for an alert about the client
certificate (required, unknown CA, bad, expired...) and says it in words.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import certifi
from django.core.exceptions import ValidationError
from urllib3.util import create_urllib3_context

from webhooks_app.exceptions import WebhookError

__all__ = [
    "MEMFD_AVAILABLE",
    "ClientCertificate",
    "ClientCertificateError",
    "client_certificate_problem",
    "context_for",
    "key_file",
    "reset_contexts",
    "verify_context",
]

MEMFD_AVAILABLE = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")
MAX_CONTEXTS = 1024
# The expiry is the receiver's to judge when sending: explaining a load failure ignores it.
_FAR_PAST = datetime(1970, 1, 2, tzinfo=UTC)


class ClientCertificateError(WebhookError):
    """A webhook's client certificate or key cannot be loaded (not PEM, a passphrase, a key of
    another certificate). It fails the attempt for good: it fails again until changed."""


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate (PEM, chain after it) to present, and its key, loaded on demand.

    ``owner`` names it in messages and the context cache (a webhook's id); ``key_id`` tells
    one key from another without being the key (the key's encrypted token); ``load_key``
    returns the plaintext PEM key, or raises a :class:`WebhookError` (a key no configured key
    decrypts). Neither the key nor ``load_key`` appears in ``repr``.
    """

    owner: object
    certificate: str
    key_id: str = field(repr=False)
    load_key: Callable[[], str] = field(repr=False, compare=False)

    @classmethod
    def from_pem(cls, certificate: str, key: str, owner: object = None) -> ClientCertificate:
        """From a plaintext key (tests, tools): its id is a hash of it."""
        key_id = hashlib.sha256(key.encode()).hexdigest()
        return cls(owner, certificate, key_id, lambda: key)

    @property
    def fingerprint(self) -> str:
        data = f"{self.certificate}\0{self.key_id}".encode("utf-8", "replace")
        return hashlib.sha256(data).hexdigest()


_lock = threading.Lock()
# (owner, verify) -> (fingerprint, context): a new certificate or key replaces the old context
_contexts: dict[tuple[object, bool | str], tuple[str, ssl.SSLContext]] = {}
_verify_only: dict[bool | str, ssl.SSLContext] = {}


def context_for(client: ClientCertificate, verify: bool | str) -> ssl.SSLContext:
    """The process's context for ``client`` with ``verify`` (``False``: no verification, a
    path: that CA bundle, ``True``: certifi's). Raises :class:`ClientCertificateError`, what
    ``client.load_key`` raises, or ``OSError`` / ``ssl.SSLError`` for a CA bundle that cannot
    be read."""
    key = (client.owner, verify)
    fingerprint = client.fingerprint
    with _lock:  # built under the lock (rare, a few ms): threads share one context, one pool
        cached = _contexts.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        context = _new_context(verify)
        load_client_certificate(context, client)
        _contexts.pop(key, None)
        while len(_contexts) >= MAX_CONTEXTS:
            del _contexts[next(iter(_contexts))]  # the oldest
        _contexts[key] = (fingerprint, context)
        return context


def verify_context(verify: bool | str) -> ssl.SSLContext:
    """A context that verifies as ``verify`` says and presents no certificate (for the TLS
    connection to an https:// proxy, which never sees the webhook's client certificate)."""
    with _lock:
        context = _verify_only.get(verify)
    if context is None:
        context = _new_context(verify)
        with _lock:
            context = _verify_only.setdefault(verify, context)
    return context


def reset_contexts() -> None:
    with _lock:
        _contexts.clear()
        _verify_only.clear()


def _new_context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        return create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.load_verify_locations(cafile=certifi.where() if verify is True else verify)
    return context


def load_client_certificate(context: ssl.SSLContext, client: ClientCertificate) -> None:
    """Load ``client``'s certificate and key into ``context`` through memory files."""
    certificate = client.certificate.strip().encode("utf-8", "replace") + b"\n"
    key = client.load_key().strip().encode("utf-8", "replace") + b"\n"
    try:
        with key_file(certificate) as cert_path, key_file(key) as key_path:
            # A password callback that fails: a passphrase-protected key is refused at once
            # instead of OpenSSL prompting on the terminal.
            context.load_cert_chain(cert_path, key_path, password=_no_passphrase)
    except (ssl.SSLError, ValueError, TypeError) as exc:
        raise ClientCertificateError(_explain(client, exc)) from None


def _no_passphrase() -> str:
    raise TypeError("the key is protected by a passphrase")


def _explain(client: ClientCertificate, exc: Exception) -> str:
    # Imported here, not at the top: http imports this module, and the preview's forkserver
    # preloads http (through rendering) before Django is set up, when no model may be imported.
    from webhooks_app.models.certificates import check_client_certificate

    owner = f" of webhook {client.owner}" if client.owner is not None else ""
    try:
        check_client_certificate(client.certificate, client.load_key(), now=_FAR_PAST)
    except ValidationError as invalid:
        reason = " ".join(m for messages in invalid.message_dict.values() for m in messages)
    except WebhookError as error:
        reason = str(error)
    else:
        # ssl's messages name OpenSSL's reason (e.g. "[SSL] PEM lib"), never the key.
        reason = str(exc) or type(exc).__name__
    return f"The client certificate{owner} cannot be loaded: {reason}"


@contextlib.contextmanager
def key_file(data: bytes, *, in_memory: bool = MEMFD_AVAILABLE) -> Iterator[str]:
    """A path that reads as ``data`` while the block runs, gone afterwards: an anonymous
    memory file (``in_memory``, Linux), else a 0600 file in a new 0700 temporary directory,
    removed when the block ends."""
    if in_memory:
        try:
            fd = os.memfd_create("webhooks-client-tls", os.MFD_CLOEXEC)
        except OSError:  # not allowed here (seccomp): the temporary file
            pass
        else:
            try:
                _write_all(fd, data)
                yield f"/proc/self/fd/{fd}"
            finally:
                os.close(fd)
            return
    directory = tempfile.mkdtemp(prefix="webhooks-tls-")  # 0700, this user's
    try:
        path = os.path.join(directory, "pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# TLS alerts about the client's certificate (OpenSSL's reason codes), as a person reads them.
_REQUIRED = "The receiver requires a client certificate"
_REFUSED = "The receiver refused the client certificate"
_CLIENT_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": (_REQUIRED, _REQUIRED),
    "TLSV1_ALERT_UNKNOWN_CA": (None, f"{_REFUSED}: it does not trust its issuer"),
    "SSLV3_ALERT_BAD_CERTIFICATE": (None, _REFUSED),
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": (None, _REFUSED),
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": (None, f"{_REFUSED}: it has expired"),
    "SSLV3_ALERT_CERTIFICATE_REVOKED": (None, f"{_REFUSED}: it was revoked"),
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": (None, _REFUSED),
    "TLSV1_ALERT_ACCESS_DENIED": (None, f"{_REFUSED} (access denied)"),
    "SSLV3_ALERT_HANDSHAKE_FAILURE": (
        "The TLS handshake failed; the receiver may require a client certificate",
        None,
    ),
}


def client_certificate_problem(message: str, *, presented: bool) -> str | None:
    """What a TLS error says about the client certificate (``presented``: one was sent)."""
    upper = message.upper()
    for reason, (without, with_one) in _CLIENT_ALERTS.items():
        if reason in upper:
            return with_one if presented else without
    return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
