"""Mail connections as Dagster resources; passwords are ``EnvVar`` fields, never plain values."""

from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from dagster import ConfigurableResource

from reports_pipeline.delivery.outbox import write_to_outbox
from reports_pipeline.delivery.smtp import SmtpSettings, send_via_smtp


@dataclass(frozen=True)
class MailReceipt:
    """What a mail connection reports back, shown as run metadata."""

    summary: str
    details: dict = field(default_factory=dict)


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

    def send(self, message: EmailMessage, recipients: list[str], stem: str) -> MailReceipt:
        settings = SmtpSettings(
            host=self.host,
            port=self.port,
            starttls=self.starttls,
            ssl=self.ssl,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            ca_file=self.ca_file,
        )
        receipt = send_via_smtp(
            message, envelope_from=self.from_address, recipients=recipients, settings=settings
        )
        return MailReceipt(
            summary=f"accepted by {self.host}:{self.port} for {len(receipt.accepted)} recipients",
            details={
                "message_id": receipt.message_id,
                "accepted": len(receipt.accepted),
                "refused": receipt.refused,
                "server_reply": receipt.server_reply,
            },
        )


class OutboxMailer(ConfigurableResource):
    """Mail written as ``.eml`` files to a local folder, for development and demos."""

    path: str
    from_address: str = "reports@localhost"

    def send(self, message: EmailMessage, recipients: list[str], stem: str) -> MailReceipt:
        written = write_to_outbox(
            message,
            envelope_from=self.from_address,
            recipients=recipients,
            folder=Path(self.path),
            stem=stem,
        )
        return MailReceipt(summary=f"written to {written}", details={"eml": str(written.resolve())})
