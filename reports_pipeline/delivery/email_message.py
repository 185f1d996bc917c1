"""Build the e-mail for a report: headers, plain-text body and an optional attachment."""

import mimetypes
import pathlib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

# mimetypes reads the host's /etc/mime.types, which differs between machines (and may lack
# .xlsx); the report formats we render are pinned here so the attachment type is stable.
_REPORT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".html": "text/html",
    ".gz": "application/gzip",
    ".zip": "application/zip",
}


def _one_line(value: str, what: str) -> str:
    # A CR or LF in a header value would let template output inject headers (e.g. a Bcc).
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must be one line")
    return value


def attachment_content_type(name: str) -> str:
    """The MIME type of a report file, from its name (``text/csv``, ``application/pdf``...)."""
    maintype, subtype = _attachment_type(name)
    return f"{maintype}/{subtype}"


def _attachment_type(name: str) -> tuple[str, str]:
    suffix = pathlib.PurePath(name).suffix.lower()
    mime = _REPORT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    maintype, subtype = mime.split("/", 1)
    return maintype, subtype


def build_email_message(
    *,
    from_address: str,
    to: list[str],
    cc: list[str],
    subject: str,
    body: str,
    attachment: pathlib.Path | None,
    attachment_name: str | None = None,
    html: str | None = None,
    message_id_domain: str = "reports.local",
) -> EmailMessage:
    """Build a report e-mail with To, Cc, Date and Message-ID headers and a UTF-8 text body
    (with ``html`` as its alternative when given).

    There is deliberately no ``bcc`` parameter: blind copies belong in the SMTP envelope only
    (see :func:`envelope_recipients`), never in a header every recipient can read.
    ``attachment`` is attached as ``attachment_name`` (default: its file name) with a MIME type
    taken from the extension. A subject with a line break raises ``ValueError``.
    """
    message = EmailMessage(policy=SMTP)
    message["From"] = _one_line(from_address, "from address")
    if to:
        message["To"] = ", ".join(_one_line(a, "recipient") for a in to)
    if cc:
        message["Cc"] = ", ".join(_one_line(a, "recipient") for a in cc)
    message["Subject"] = _one_line(subject, "subject")
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=message_id_domain)
    message.set_content(body, charset="utf-8")
    if html is not None:
        # multipart/alternative: mail clients show the HTML, others the plain text
        message.add_alternative(html, subtype="html", charset="utf-8")
    if attachment is not None:
        filename = _one_line(attachment_name or attachment.name, "attachment name")
        maintype, subtype = _attachment_type(filename)
        # Text files we render are UTF-8; without the charset a mail client assumes ASCII
        # and shows accented or CJK text as garbage.
        params = {"charset": "utf-8"} if maintype == "text" else {}
        message.add_attachment(
            attachment.read_bytes(),
            maintype=maintype,
            subtype=subtype,
            filename=filename,
            params=params,
        )
    return message


def envelope_recipients(to: list[str], cc: list[str], bcc: list[str]) -> list[str]:
    """All SMTP envelope recipients (To, then Cc, then Bcc), each once, first spelling kept.

    Addresses are compared case-insensitively so that ``CFO@x.com`` in To and ``cfo@x.com`` in
    Bcc do not make the server deliver two copies.
    """
    seen: set[str] = set()
    recipients: list[str] = []
    for address in [*to, *cc, *bcc]:
        key = address.strip().lower()
        if key and key not in seen:
            seen.add(key)
            recipients.append(address.strip())
    return recipients
