"""Mail connections as Dagster resources; passwords and keys are ``EnvVar`` fields."""

from email.message import EmailMessage
from pathlib import Path

from dagster import ConfigurableResource

from reports_pipeline.delivery.email_compose import ComposedEmail, compose_email
from reports_pipeline.delivery.email_message import build_email_message, envelope_recipients
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.request import DeliveryRequest
from reports_pipeline.spec.report import EmailTarget


def _compose(request: DeliveryRequest, target: EmailTarget, body: str | None) -> ComposedEmail:
    return compose_email(
        request, subject=target.subject, body=body, attach=target.attach, inline=target.inline
    )


def _message(
    from_address: str, request: DeliveryRequest, target: EmailTarget, email: ComposedEmail
) -> EmailMessage:
    return build_email_message(
        from_address=from_address,
        to=list(target.to),
        cc=list(target.cc),
        subject=email.subject,
        body=email.text,
        html=email.html,
        attachment=request.file if email.attach else None,
        attachment_name=request.file_name,
    )


def _people(to: str | list[str]) -> list[str]:
    return [to] if isinstance(to, str) else list(to)


def _notice(
    from_address: str, to: str | list[str], subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A message to a few people, text (and HTML), without attachment (notices, digests)."""
    return build_email_message(
        from_address=from_address,
        to=_people(to),
        cc=[],
        subject=subject,
        body=text,
        html=html,
        attachment=None,
    )


class SmtpMailer(ConfigurableResource):
    """Mail sent through an SMTP server (optionally STARTTLS or implicit TLS, with login)."""

    host: str
    port: int = 587
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    from_address: str
    timeout: float = 30.0
    ca_file: str | None = None

    def settings(self):
        from reports_pipeline.delivery.smtp import SmtpSettings

        return SmtpSettings(
            host=self.host,
            port=self.port,
            starttls=self.starttls,
            ssl=self.ssl,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            ca_file=self.ca_file,
        )

    def deliver(
        self, request: DeliveryRequest, target: EmailTarget, body: str | None = None
    ) -> DeliveryReceipt:
        from reports_pipeline.delivery.smtp import send_via_smtp

        email = _compose(request, target, body)
        recipients = envelope_recipients(target.to, target.cc, target.bcc)
        receipt = send_via_smtp(
            _message(self.from_address, request, target, email),
            envelope_from=self.from_address,
            recipients=recipients,
            settings=self.settings(),
        )
        return DeliveryReceipt(
            summary=f"accepted by {self.host}:{self.port} for {len(receipt.accepted)} recipients",
            details={
                "message_id": receipt.message_id,
                "accepted": len(receipt.accepted),
                "refused": receipt.refused,
                "server_reply": receipt.server_reply,
                "attached": email.attach,
                "link": email.link,
            },
        )

    def notify(
        self, to: str | list[str], subject: str, text: str, html: str | None = None
    ) -> DeliveryReceipt:
        """A message without attachment to a few people (notices, digests)."""
        from reports_pipeline.delivery.smtp import send_via_smtp

        message = _notice(self.from_address, to, subject, text, html)
        receipt = send_via_smtp(
            message,
            envelope_from=self.from_address,
            recipients=_people(to),
            settings=self.settings(),
        )
        return DeliveryReceipt(
            summary=f"notice sent to {', '.join(_people(to))}",
            details={"message_id": receipt.message_id},
        )

    def check(self) -> str:
        from reports_pipeline.delivery.smtp import check_smtp

        return check_smtp(self.settings())


def _outbox_name(request: DeliveryRequest) -> dict:
    """``daily_invoices_2026-11-02_<delivery id>.eml``: one file per delivery (ledger.py).

    An attempt that finds its delivery's file already written keeps it: a retry is not a
    second e-mail. Without a delivery id the message is numbered after any earlier one.
    """
    stem = Path(request.file_name).stem.replace(".", "_")
    if request.delivery_id:
        return {"stem": f"{stem}_{request.delivery_id}", "if_taken": "keep"}
    return {"stem": stem, "if_taken": "number"}


class OutboxMailer(ConfigurableResource):
    """Mail written as ``.eml`` files to a local folder, for development and demos."""

    path: str
    from_address: str = "reports@localhost"

    def deliver(
        self, request: DeliveryRequest, target: EmailTarget, body: str | None = None
    ) -> DeliveryReceipt:
        from reports_pipeline.delivery.outbox import write_to_outbox

        email = _compose(request, target, body)
        written = write_to_outbox(
            _message(self.from_address, request, target, email),
            envelope_from=self.from_address,
            recipients=envelope_recipients(target.to, target.cc, target.bcc),
            folder=Path(self.path),
            **_outbox_name(request),
        )
        return DeliveryReceipt(
            summary=f"written to {written}", details={"eml": str(written.resolve())}
        )

    def notify(
        self, to: str | list[str], subject: str, text: str, html: str | None = None
    ) -> DeliveryReceipt:
        from reports_pipeline.delivery.outbox import write_to_outbox

        message = _notice(self.from_address, to, subject, text, html)
        stem = "notice_" + "".join(c if c.isalnum() else "_" for c in subject)[:80]
        written = write_to_outbox(
            message,
            envelope_from=self.from_address,
            recipients=_people(to),
            folder=Path(self.path),
            stem=stem,
            if_taken="number",  # a notice like an earlier one is another notice
        )
        return DeliveryReceipt(summary=f"notice written to {written}", details={})

    def check(self) -> str:
        folder = Path(self.path).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        return f"outbox folder {folder} is writable"


class SendgridMailer(ConfigurableResource):
    """Mail sent through the SendGrid API."""

    api_key: str
    from_address: str
    base_url: str = "https://api.sendgrid.com"
    timeout: float = 30.0

    def settings(self):
        from reports_pipeline.delivery.sendgrid_mail import SendgridSettings

        return SendgridSettings(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout)

    def deliver(
        self, request: DeliveryRequest, target: EmailTarget, body: str | None = None
    ) -> DeliveryReceipt:
        from reports_pipeline.delivery.sendgrid_mail import send_via_sendgrid

        email = _compose(request, target, body)
        return send_via_sendgrid(
            from_address=self.from_address,
            to=list(target.to),
            cc=list(target.cc),
            bcc=list(target.bcc),
            subject=email.subject,
            text=email.text,
            html=email.html,
            attachment=request.file if email.attach else None,
            attachment_type=request.content_type if email.attach else None,
            settings=self.settings(),
        )

    def notify(
        self, to: str | list[str], subject: str, text: str, html: str | None = None
    ) -> DeliveryReceipt:
        from reports_pipeline.delivery.sendgrid_mail import send_via_sendgrid

        return send_via_sendgrid(
            from_address=self.from_address,
            to=_people(to),
            cc=[],
            bcc=[],
            subject=subject,
            text=text,
            html=html,
            attachment=None,
            attachment_type=None,
            settings=self.settings(),
        )

    def check(self) -> str:
        from reports_pipeline.delivery.sendgrid_mail import check_sendgrid

        return check_sendgrid(self.settings())
