"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests: records mail, can fail on demand.

    with SmtpTestServer(require_starttls=True, auth=("reports", "s3cret")) as server:
        send_via_smtp(msg, ..., settings=server.settings(username="reports", password="s3cret"))
        [received] = server.wait_for_messages(1)

Test-only: it lives in the tests package so it is never shipped.
"""

import asyncio
import datetime
import email
import email.message
import email.policy
import ipaddress
import pathlib
import ssl
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reports_pipeline.delivery.smtp import SmtpSettings


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted transaction: envelope, raw bytes, and how the client connected."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None
    encrypted: bool

    def parsed(self) -> email.message.EmailMessage:
        """The content parsed with the modern email API (decoded headers, ``iter_attachments``)."""
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass(frozen=True)
class ThrowawayCertificate:
    """A throwaway CA and a server certificate for ``localhost`` and ``127.0.0.1`` signed by it."""

    ca_file: pathlib.Path
    cert_file: pathlib.Path
    key_file: pathlib.Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_certificate(folder: pathlib.Path) -> ThrowawayCertificate:
    """Write a CA and a server certificate (EC keys: instant to generate) into ``folder``.

    A separate CA, rather than one self-signed leaf, keeps OpenSSL's strict verification
    (default in newer Pythons) happy.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("reports_pipeline test CA"))
        .issuer_name(_name("reports_pipeline test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = ThrowawayCertificate(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class _EphemeralPortController(Controller):
    """Controller bound to port 0; the kernel picks a free port, so parallel tests never clash."""

    def _trigger_server(self):
        # Learn the real port before the base class connects to it to finish start-up.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def factory(self):
        # aiosmtpd warns about AUTH without STARTTLS even when the whole connection is SMTPS.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()


@dataclass
class HeldTransaction:
    """A transaction stopped at MAIL FROM until :attr:`released` is set."""

    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    peer: tuple | None = None  # the client's (host, port), known once it has arrived


class _RecordingHandler:
    """aiosmtpd hooks; all state lives in the owning :class:`SmtpTestServer`."""

    def __init__(self, owner: "SmtpTestServer"):
        self._owner = owner

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        hold = self._owner._take_hold()
        if hold is not None:
            hold.peer = session.peer
            hold.arrived.set()
            # Waits in a thread so the server's event loop keeps serving other connections.
            await asyncio.get_running_loop().run_in_executor(None, hold.released.wait, 600)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self._owner._refusal_for(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self._owner._take_failure()
        if failure:
            return failure
        encrypted = server.transport.get_extra_info("sslcontext") is not None
        login = session.auth_data.login.decode() if session.authenticated else None
        number = self._owner._record(
            ReceivedMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content or envelope.content,
                login=login,
                encrypted=encrypted,
            )
        )
        return f"250 OK: queued as test-{number}"


class SmtpTestServer:
    """A started-on-demand SMTP server on 127.0.0.1 and a free port.

    ``starttls`` offers STARTTLS, ``require_starttls`` offers and requires it before MAIL,
    ``implicit_tls`` speaks TLS from the first byte (SMTPS). ``auth=(user, password)`` requires
    login before MAIL; as on real servers, AUTH is only offered once the connection is
    encrypted. Any TLS option generates a test CA: pass ``ca_file`` to clients.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        starttls: bool = False,
        require_starttls: bool = False,
        implicit_tls: bool = False,
        auth: tuple[str, str] | None = None,
    ):
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.port: int | None = None
        self.ca_file: str | None = None
        self._messages: list[ReceivedMessage] = []
        self._failures: list[str] = []
        self._refused: dict[str, str] = {}
        self._holds: list[HeldTransaction] = []
        self._issued_holds: list[HeldTransaction] = []
        self._changed = threading.Condition()
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self._controller = self._make_controller(starttls or require_starttls, require_starttls)

    def _make_controller(self, starttls: bool, require_starttls: bool) -> Controller:
        tls_context = None
        if starttls or self.implicit_tls:
            self._tempdir = tempfile.TemporaryDirectory(prefix="smtp-test-cert-")
            cert = make_test_certificate(pathlib.Path(self._tempdir.name))
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(cert.cert_file, cert.key_file)
            self.ca_file = str(cert.ca_file)
        options = {}
        if self.auth:
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                # aiosmtpd only counts STARTTLS as encryption; SMTPS already is encrypted.
                "auth_require_tls": not self.implicit_tls,
            }
        return _EphemeralPortController(
            _RecordingHandler(self),
            hostname=self.host,
            port=0,
            ssl_context=tls_context if self.implicit_tls else None,
            tls_context=tls_context if starttls else None,
            require_starttls=require_starttls,
            **options,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.auth is None:
            return AuthResult(success=False, handled=False)
        user, password = self.auth
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> "SmtpTestServer":
        """Start listening; ``port`` is set once this returns."""
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        """Stop the server and delete the test certificate."""
        for hold in self._issued_holds:
            hold.released.set()  # a held transaction would keep its thread waiting
        self._controller.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> "SmtpTestServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def settings(self, **overrides) -> SmtpSettings:
        """Client settings pointing at this server (``ssl`` and ``ca_file`` filled in)."""
        values = {
            "host": self.host,
            "port": self.port,
            "ssl": self.implicit_tls,
            "ca_file": self.ca_file,
            "timeout": 60.0,
        }
        return SmtpSettings(**{**values, **overrides})

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Everything accepted so far, oldest first (a copy)."""
        with self._changed:
            return list(self._messages)

    def wait_for_messages(self, count: int, timeout: float = 120) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived; AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout}s, got {len(self._messages)}"
                )
            return list(self._messages)

    def wait_until(
        self, predicate: Callable[[list[ReceivedMessage]], bool], timeout: float = 120
    ) -> list[ReceivedMessage]:
        """Block until ``predicate(messages)`` holds; AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(list(self._messages)), timeout):
                raise AssertionError(
                    f"condition not met within {timeout}s; {len(self._messages)} message(s) arrived"
                )
            return list(self._messages)

    def fail_next(self, count: int = 1, code: int = 451, message: str = "try later") -> None:
        """Reject the next ``count`` transactions at the end of DATA with ``code message``."""
        with self._changed:
            self._failures.extend([f"{code} {message}"] * count)

    def refuse_recipient(
        self, address: str, code: int = 550, message: str = "no such user"
    ) -> None:
        """Answer ``code message`` to RCPT TO for ``address`` (case-insensitive), every time."""
        with self._changed:
            self._refused[address.lower()] = f"{code} {message}"

    def accept_all_recipients(self) -> None:
        """Forget every refusal set with :meth:`refuse_recipient`."""
        with self._changed:
            self._refused.clear()

    def hold_next(self) -> HeldTransaction:
        """Stop the next transaction at MAIL FROM until the returned hold is released.

        Gives a test a moment at which a client is known to be inside a delivery, to kill it.
        """
        hold = HeldTransaction()
        with self._changed:
            self._holds.append(hold)
            self._issued_holds.append(hold)
        return hold

    def _take_hold(self) -> HeldTransaction | None:
        with self._changed:
            return self._holds.pop(0) if self._holds else None

    def _refusal_for(self, address: str) -> str | None:
        with self._changed:
            return self._refused.get(address.lower())

    def _take_failure(self) -> str | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else None

    def _record(self, message: ReceivedMessage) -> int:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()
            return len(self._messages)
