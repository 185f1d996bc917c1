"""What every delivery channel is given: the stored file and what it is about."""

from dataclasses import dataclass, field
from pathlib import Path

from reports_pipeline.templating import PeriodContext


@dataclass(frozen=True)
class Preview:
    """The first rows of a report, as display strings, for e-mail and chat previews."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class DeliveryRequest:
    """One stored report file to deliver to one target."""

    report: str
    title: str
    period: PeriodContext
    file: Path
    file_name: str
    content_type: str
    sha256: str
    bytes: int
    rows: int
    variables: dict = field(default_factory=dict)  # the template context (templating.py)
    preview: Preview | None = None
    download_url: str | None = None  # where the stored file can be downloaded, if anywhere
    max_attachment_bytes: int = 20 * 1024 * 1024
    # Names the delivery (ledger.py): every attempt at one delivery has the same id, so a
    # channel that keeps messages (the outbox) can tell a retry from a new message.
    delivery_id: str = ""

    @property
    def too_large_to_attach(self) -> bool:
        return self.bytes > self.max_attachment_bytes

    def describe(self) -> dict:
        """The JSON description webhooks receive."""
        return {
            "report": self.report,
            "title": self.title,
            "period": {
                "key": self.period.key,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
            },
            "rows": self.rows,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "file_name": self.file_name,
            "content_type": self.content_type,
            "download_url": self.download_url,
        }
