"""Send a built e-mail through an SMTP server, mapping failures to transient or permanent."""

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.redaction import Redactor


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect; ``ca_file`` trusts a private CA (None: system trust store)."""

    host: str
    port: int
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: str | None = None


@dataclass(frozen=True)
class SmtpReceipt:
    """What the server accepted; ``refused`` maps each refused recipient to the server's reply."""

    message_id: str
    accepted: list[str]
    refused: dict[str, str]
    server_reply: str


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.ca_file)
    except OSError as exc:  # missing or unreadable file, not PEM (ssl.SSLError is an OSError)
        raise PermanentDeliveryError(f"cannot load ca_file {settings.ca_file}: {exc}") from None


class _KeepsDataReply:
    """Keep the reply to DATA (``250 ok: queued as ...``), which ``sendmail`` throws away.

    The queue id in it is what a mail administrator needs to trace a report that never arrived.
    """

    data_reply: str = ""

    def data(self, msg):
        code, reply = super().data(msg)
        self.data_reply = _reply_text(code, reply)
        return code, reply


class _Smtp(_KeepsDataReply, smtplib.SMTP):
    pass


class _SmtpSsl(_KeepsDataReply, smtplib.SMTP_SSL):
    pass


def _open(settings: SmtpSettings) -> _Smtp | _SmtpSsl:
    if settings.ssl:
        return _SmtpSsl(
            settings.host, settings.port, timeout=settings.timeout, context=_tls_context(settings)
        )
    return _Smtp(settings.host, settings.port, timeout=settings.timeout)


def _secure_and_login(client: smtplib.SMTP, settings: SmtpSettings) -> None:
    if settings.starttls:
        client.ehlo()
        # Never fall back to clear text: a server (or a man in the middle stripping the
        # capability) that does not offer STARTTLS would otherwise see the password and report.
        if not client.has_extn("starttls"):
            raise PermanentDeliveryError(
                f"smtp {settings.host}:{settings.port} does not offer STARTTLS;"
                " refusing to send in clear"
            )
        client.starttls(context=_tls_context(settings))
        client.ehlo()
    if settings.username:
        try:
            client.login(settings.username, settings.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            # 454 "temporary authentication failure" is worth a retry; 535 is not, and retrying
            # a wrong password can get the account locked.
            error = TransientDeliveryError if exc.smtp_code < 500 else PermanentDeliveryError
            raise error(
                f"SMTP login refused for user {settings.username}: {exc.smtp_code}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentDeliveryError(
                f"smtp {settings.host}:{settings.port} does not offer AUTH"
                " (does it need starttls or ssl?)"
            ) from None
        except smtplib.SMTPResponseException:
            raise  # mapped by send_via_smtp like any other reply code
        except smtplib.SMTPException as exc:  # e.g. no common AUTH mechanism
            raise PermanentDeliveryError(
                f"SMTP login impossible for user {settings.username}: {exc}"
            ) from None


def _refusals(refused: dict[str, tuple[int, bytes]]) -> dict[str, str]:
    return {address: _reply_text(code, reply) for address, (code, reply) in refused.items()}


@contextmanager
def _mapped_errors(where: str) -> Iterator[None]:
    """smtplib, ssl and socket errors as transient or permanent delivery errors."""
    # `from None` everywhere: one clear message for the run log and owner notifications,
    # rather than smtplib internals printed as "during handling of the above exception".
    try:
        yield
    except smtplib.SMTPRecipientsRefused as exc:
        refusals = _refusals(exc.recipients)
        # Only a refusal that is temporary for every recipient is worth retrying.
        retry = all(400 <= code < 500 for code, _ in exc.recipients.values())
        error = TransientDeliveryError if retry else PermanentDeliveryError
        raise error(f"smtp {where} refused every recipient: {refusals}") from None
    except smtplib.SMTPResponseException as exc:
        text = f"smtp {where} answered {_reply_text(exc.smtp_code, exc.smtp_error)}"
        error = TransientDeliveryError if 400 <= exc.smtp_code < 500 else PermanentDeliveryError
        raise error(text) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientDeliveryError(f"cannot reach smtp {where}: {exc}") from None
    except smtplib.SMTPException as exc:  # STARTTLS not supported and the like: settings
        raise PermanentDeliveryError(f"smtp {where}: {type(exc).__name__}: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentDeliveryError(
            f"TLS certificate of smtp {where} rejected: {exc.verify_message}"
        ) from None
    except ssl.SSLError as exc:
        # A handshake failure is a settings mismatch (ssl against a plain port, old protocols),
        # not something a retry fixes.
        raise PermanentDeliveryError(f"TLS with smtp {where} failed: {exc.reason}") from None
    except OSError as exc:
        # Refused connections, resets and timeouts; SMTPException and ssl.SSLError are OSError
        # too, so this generic catch has to come after the specific ones above.
        raise TransientDeliveryError(f"cannot reach smtp {where}: {exc}") from None


@contextmanager
def _scrubbed(settings: SmtpSettings) -> Iterator[None]:
    """Errors without the password in any form: a server may quote what it was sent (the
    base64 of an AUTH PLAIN line) in its reply."""
    try:
        yield
    except (TransientDeliveryError, PermanentDeliveryError) as exc:
        raise type(exc)(Redactor([settings.password]).text(str(exc))) from None


def send_via_smtp(
    message: EmailMessage, *, envelope_from: str, recipients: list[str], settings: SmtpSettings
) -> SmtpReceipt:
    """Send ``message`` to the envelope ``recipients`` (Bcc included) and return a receipt.

    Some recipients refused: the receipt lists them and the caller decides. All refused, 5xx,
    bad credentials or missing STARTTLS: :class:`PermanentDeliveryError`. Unreachable server,
    timeouts and 4xx: :class:`TransientDeliveryError`. No message ever contains the password.
    """
    where = f"{settings.host}:{settings.port}"
    with _scrubbed(settings), _mapped_errors(where):
        with _open(settings) as client:
            _secure_and_login(client, settings)
            refused = client.send_message(message, envelope_from, to_addrs=recipients)
            server_reply = client.data_reply
    refusals = _refusals(refused)
    accepted = [r for r in recipients if r not in refused]
    return SmtpReceipt(
        message_id=str(message.get("Message-ID", "")),
        accepted=accepted,
        refused=refusals,
        server_reply=server_reply,
    )


def check_smtp(settings: SmtpSettings) -> str:
    """Connect, secure and log in as a delivery would, without sending anything."""
    where = f"{settings.host}:{settings.port}"
    with _scrubbed(settings), _mapped_errors(where):
        with _open(settings) as client:
            _secure_and_login(client, settings)
            client.noop()
    login = f" as {settings.username}" if settings.username else ""
    return f"smtp {where}: connected{login}"
