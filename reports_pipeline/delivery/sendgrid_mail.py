"""Send a report e-mail through the SendGrid v3 Mail Send API."""

import base64
import http.client
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from python_http_client.exceptions import HTTPError as SendgridHttpError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Bcc,
    Cc,
    Content,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Mail,
    Personalization,
    Subject,
    To,
)

from reports_pipeline.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.redaction import Redactor

# The HTTP client under the sendgrid library logs every request's headers at DEBUG, the
# Authorization header (the API key) included; a DEBUG run log must not leak the key.
logging.getLogger("python_http_client.client").setLevel(logging.INFO)

_ANSWER_CHARS = 600  # of an error message quoting SendGrid's answer


@dataclass(frozen=True)
class SendgridSettings:
    """An API key with the ``mail.send`` scope and the API base URL (changed only for tests)."""

    api_key: str = field(repr=False)
    base_url: str = "https://api.sendgrid.com"
    timeout: float = 30.0

    def __post_init__(self):
        # An empty key would make the library fall back to the SENDGRID_API_KEY variable.
        if not self.api_key:
            raise ValueError("sendgrid api_key is empty")


def _client(settings: SendgridSettings) -> SendGridAPIClient:
    return SendGridAPIClient(api_key=settings.api_key, host=settings.base_url.rstrip("/"))


def _error_messages(body: bytes) -> str:
    """SendGrid's ``{"errors": [{"message", "field"}]}`` as one line, else the raw text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        errors = json.loads(text)["errors"]
        parts = [
            f"{e['field']}: {e['message']}" if e.get("field") else e["message"] for e in errors
        ]
        return "; ".join(parts)
    except (ValueError, KeyError, TypeError):
        return " ".join(text.split())  # cut by _delivery_error, once scrubbed


def _delivery_error(exc: Exception, settings: SendgridSettings, action: str) -> DeliveryError:
    if isinstance(exc, SendgridHttpError):
        status = exc.status_code
        message = f"SendGrid {action} answered {status} {exc.reason}: {_error_messages(exc.body)}"
        transient = status == 429 or status >= 500
    else:  # URLError, timeouts, resets, broken answers
        message = f"cannot reach SendGrid at {settings.base_url}: {type(exc).__name__}: {exc}"
        transient = True
    # An answer echoing our request must not put the key in the run log, in any form; scrubbed
    # before it is cut, so a cut cannot leave the start of the key readable.
    message = Redactor([settings.api_key]).text(message, _ANSWER_CHARS)
    return (TransientDeliveryError if transient else PermanentDeliveryError)(message)


_SENDGRID_ERRORS = (SendgridHttpError, OSError, http.client.HTTPException)


def _personalization(to: list[str], cc: list[str], bcc: list[str]) -> Personalization:
    # SendGrid rejects a personalization naming an address twice across to, cc and bcc;
    # keep each address in its most visible role only.
    personalization = Personalization()
    seen: set[str] = set()
    for addresses, kind, add in (
        (to, To, personalization.add_to),
        (cc, Cc, personalization.add_cc),
        (bcc, Bcc, personalization.add_bcc),
    ):
        for address in addresses:
            recipient = kind(address)
            if recipient.email.lower() not in seen:
                seen.add(recipient.email.lower())
                add(recipient)
    return personalization


def build_sendgrid_mail(
    *,
    from_address: str,
    to: list[str],
    cc: list[str],
    bcc: list[str],
    subject: str,
    text: str,
    html: str | None,
    attachment: Path | None,
    attachment_type: str | None,
) -> dict:
    """The Mail Send request body: one personalization, text (and HTML), the attachment."""
    if not to:
        raise PermanentDeliveryError("SendGrid needs at least one 'to' recipient")
    mail = Mail()
    mail.from_email = From(from_address)
    mail.subject = Subject(subject)
    mail.add_personalization(_personalization(to, cc, bcc))
    mail.add_content(Content("text/plain", text))
    if html is not None:
        mail.add_content(Content("text/html", html))
    if attachment is not None:
        encoded = base64.b64encode(attachment.read_bytes()).decode("ascii")
        mail.add_attachment(
            Attachment(
                file_content=FileContent(encoded),
                file_name=FileName(attachment.name),
                file_type=FileType(attachment_type) if attachment_type else None,
                disposition=Disposition("attachment"),
            )
        )
    return mail.get()


def send_via_sendgrid(
    *,
    from_address: str,
    to: list[str],
    cc: list[str],
    bcc: list[str],
    subject: str,
    text: str,
    html: str | None,
    attachment: Path | None,
    attachment_type: str | None,
    settings: SendgridSettings,
) -> DeliveryReceipt:
    """Send one e-mail to ``to``, ``cc`` and ``bcc`` (blind copies stay blind).

    2xx (SendGrid answers 202 Accepted): a receipt with SendGrid's ``X-Message-Id``.
    429, 5xx, timeouts and network failures: :class:`TransientDeliveryError`. Other answers
    (400 invalid request, 401 bad key, 403 missing scope or unverified sender):
    :class:`PermanentDeliveryError` with SendGrid's error messages, never the key.
    """
    body = build_sendgrid_mail(
        from_address=from_address,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=subject,
        text=text,
        html=html,
        attachment=attachment,
        attachment_type=attachment_type,
    )
    try:
        response = _client(settings).client.mail.send.post(
            request_body=body, timeout=settings.timeout
        )
    except _SENDGRID_ERRORS as exc:
        raise _delivery_error(exc, settings, "mail send") from None
    message_id = response.headers.get("X-Message-Id")
    recipients = len(to) + len(cc) + len(bcc)
    return DeliveryReceipt(
        summary=f"SendGrid accepted the mail for {recipients} recipient(s) ({message_id})",
        details={"status": response.status_code, "message_id": message_id},
    )


def check_sendgrid(settings: SendgridSettings) -> str:
    """Check the key with ``GET /v3/scopes``; a key without ``mail.send`` is a permanent error."""
    try:
        response = _client(settings).client.scopes.get(timeout=settings.timeout)
    except _SENDGRID_ERRORS as exc:
        raise _delivery_error(exc, settings, "key check") from None
    scopes = json.loads(response.body or b"{}").get("scopes", [])
    if "mail.send" not in scopes:
        raise PermanentDeliveryError("SendGrid accepted the key, but it lacks the mail.send scope")
    return f"SendGrid key accepted with {len(scopes)} scope(s), mail.send included"
