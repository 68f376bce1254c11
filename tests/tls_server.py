"""Certificates and an HTTPS server on 127.0.0.1 that requires a client certificate, for the
mutual-TLS tests (delivery, worker, admin in a browser).

:class:`Authority` is a test certificate authority made with ``cryptography``: it issues server
certificates (for 127.0.0.1 and localhost) and client certificates, as PEM text and, for the
server side, as files in a directory. :class:`MutualTLSServer` serves HTTPS with
``verify_mode = CERT_REQUIRED`` against the client CA it is given, answers every request with
``status`` and records each request with the subject of the client certificate presented.
:class:`TunnelProxy` is an HTTP proxy that only tunnels (``CONNECT``).

    authority = Authority(tmp_path)
    client = authority.client("client-1")            # Issued: .certificate, .key (PEM text)
    with MutualTLSServer(authority) as server:       # trusts ``authority`` for clients
        send(..., verify=authority.ca_file, client_cert=...)
        server.requests[0].client_subject            # "CN=client-1"
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Authority", "Issued", "MutualTLSServer", "Recorded", "TunnelProxy"]


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM text (the key unencrypted, PKCS#8)."""

    certificate: str
    key: str
    subject: str

    def write(self, directory: Path, name: str) -> tuple[str, str]:
        """Write both to ``directory`` (``name``.pem, ``name``.key): (cert path, key path)."""
        cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
        cert_path.write_text(self.certificate)
        key_path.write_text(self.key)
        key_path.chmod(0o600)
        return str(cert_path), str(key_path)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())  # fast to make, unlike RSA


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Authority:
    """A certificate authority for tests; its certificate is in ``ca_file`` (``directory``)."""

    def __init__(self, directory: Path, name: str = "Test CA") -> None:
        self.directory = directory
        self.name = name
        self.key = _key()
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower())
        self.ca_file = str(directory / f"{slug}.pem")
        Path(self.ca_file).write_text(self.certificate_pem)

    def issue(
        self,
        common_name: str,
        *,
        server: bool,
        not_valid_before: datetime | None = None,
        not_valid_after: datetime | None = None,
    ) -> Issued:
        key = _key()
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_valid_before or now - timedelta(minutes=5))
            .not_valid_after(not_valid_after or now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                    ]
                ),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        return Issued(
            certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            key=_pem_key(key),
            subject=certificate.subject.rfc4514_string(),
        )

    def client(self, common_name: str = "webhook-client", **validity: datetime) -> Issued:
        """A client certificate (extended key usage: client authentication)."""
        return self.issue(common_name, server=False, **validity)

    def server(self, common_name: str = "localhost") -> Issued:
        """A server certificate for localhost, 127.0.0.1 and ::1."""
        return self.issue(common_name, server=True)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_subject: str | None
    client_port: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        try:
            self.request.do_handshake()
        except OSError:  # the client's certificate is missing or refused: the alert is sent
            self.server.owner.note_failure()
            _linger(self.request)
            raise
        super().setup()

    def handle_one(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner = self.server.owner
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        subject = None
        if peer:
            subject = ",".join(
                f"{'CN' if name == 'commonName' else name}={value}"
                for rdn in reversed(peer.get("subject", ()))
                for name, value in rdn
            )
        owner.record(
            Recorded(
                self.command, self.path, dict(self.headers), body, subject, self.client_address[1]
            )
        )
        self.send_response(owner.status)
        payload = b"" if owner.status in (204, 304) else owner.body
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

    def log_message(self, format: str, *args: object) -> None:
        pass


def _linger(sock: ssl.SSLSocket) -> None:
    """Close as servers do after a refused handshake (nginx's lingering close): stop writing,
    then read what the client still sends until it closes. Closing with unread data (the
    client's request, sent after its side of a TLS 1.3 handshake) would reset the connection
    and drop the alert before the client reads it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)  # also drops the TLS layer: what follows reads raw
        sock.settimeout(5)
        while sock.recv(65536):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: MutualTLSServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[ssl.SSLSocket, object]:
        # The handshake happens in the handler's thread (do_handshake_on_connect on first
        # read), so one client that fails it does not stop the server.
        sock, address = self.socket.accept()
        wrapped = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a refused handshake (no certificate, unknown CA) is what some tests expect


class MutualTLSServer:
    """HTTPS on 127.0.0.1 with a server certificate from ``authority``, requiring a client
    certificate issued by ``client_authority`` (default: ``authority``). With
    ``require_client_certificate=False`` a certificate is asked for but optional."""

    def __init__(
        self,
        authority: Authority,
        *,
        client_authority: Authority | None = None,
        status: int = 200,
        body: bytes = b"ok",
        require_client_certificate: bool = True,
    ) -> None:
        self.authority = authority
        self.status, self.body = status, body
        self.requests: list[Recorded] = []
        self.failed_handshakes = 0
        self._lock = threading.Lock()
        issued = authority.server()
        cert_file, key_file = issued.write(authority.directory, "server-" + str(id(self)))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.load_verify_locations(cadata=(client_authority or authority).certificate_pem)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_certificate else ssl.CERT_OPTIONAL
        self._server = _Server(self, context)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, host: str = "127.0.0.1", path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"

    def record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def note_failure(self) -> None:
        with self._lock:
            self.failed_handshakes += 1

    @property
    def client_subjects(self) -> list[str | None]:
        with self._lock:
            return [r.client_subject for r in self.requests]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


class _TunnelHandler(socketserver.StreamRequestHandler):
    server: _TunnelServer

    def handle(self) -> None:
        request_line = self.rfile.readline(65537).decode("latin-1")
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # the request's headers
        method, target, _ = request_line.split(" ", 2)
        self.server.owner.note(f"{method} {target}")
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        pump = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
        pump.start()
        _pipe(self.connection, upstream)
        pump.join(10)
        upstream.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class _TunnelServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, owner: TunnelProxy) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _TunnelHandler)


class TunnelProxy:
    """An HTTP proxy on 127.0.0.1 that only tunnels (``CONNECT host:port``), as proxies do for
    HTTPS: the TLS connection, client certificate included, goes through it unopened.
    ``requests`` lists the request lines it was sent."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = _TunnelServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def note(self, line: str) -> None:
        with self._lock:
            self.requests.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
