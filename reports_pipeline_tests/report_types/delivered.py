"""Read back what a run delivered: the attachment of the one e-mail in an outbox folder."""

import email
import email.policy
from pathlib import Path

from dagster import DagsterInstance

from reports_pipeline.definitions import build_definitions


def run_report(tmp_path: Path, connections_file: Path, name: str, period: str):
    """Run one period of the report ``name`` in ``tmp_path/reports`` in this process."""
    defs = build_definitions([tmp_path / "reports"], connections_file)
    job = defs.resolve_job_def(name)
    return job.execute_in_process(
        partition_key=period, instance=DagsterInstance.ephemeral(), raise_on_error=False
    )


def outbox_attachment(outbox: Path) -> tuple[str, bytes]:
    """The file name and bytes attached to the only message in ``outbox``."""
    (path,) = outbox.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    (part,) = list(message.iter_attachments())
    return part.get_filename(), part.get_payload(decode=True)
