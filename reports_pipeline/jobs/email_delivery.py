"""The deliver step of an e-mail target: render the templates, build the message, send it."""

from pathlib import Path

from dagster import Failure, MetadataValue, OpDefinition, OpExecutionContext, Output, op

from reports_pipeline.delivery.email_message import build_email_message, envelope_recipients
from reports_pipeline.delivery.errors import DeliveryError
from reports_pipeline.jobs.retry import retry_policy
from reports_pipeline.scheduling.run_period import period_of_run
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.loader import LoadedReport
from reports_pipeline.spec.report import EmailTarget
from reports_pipeline.storage.local_files import period_slug
from reports_pipeline.templating import (
    PeriodContext,
    TemplateRenderError,
    render_template,
    template_context,
)

DEFAULT_BODY = (
    "{{ title }}\n\nPeriod: {{ period.start | date('%Y-%m-%d %H:%M') }} to "
    "{{ period.end | date('%Y-%m-%d %H:%M') }} ({{ period.key }})\nRows: {{ rows }}\n\n"
    "The report is attached.\n"
)


def _body_source(report: LoadedReport, target: EmailTarget) -> str:
    if target.body_template:
        return (report.path.parent / target.body_template).read_text(encoding="utf-8")
    return target.body if target.body is not None else DEFAULT_BODY


def build_email_delivery_op(
    report: LoadedReport,
    index: int,
    target: EmailTarget,
    connections: ConnectionsFile,
    partitions_def,
) -> OpDefinition:
    """A step that e-mails the stored report to one target's recipients, with retries."""
    spec = report.spec
    mail_key = connections.mail_connection_for(target.connection)
    max_bytes = connections.policy.max_attachment_mb * 1024 * 1024
    recipients = envelope_recipients(target.to, target.cc, target.bcc)

    @op(
        name=f"{spec.name}__deliver_{index + 1}_email",
        required_resource_keys={mail_key},
        retry_policy=retry_policy(spec.retry or connections.policy.retry),
        description=f"E-mail to {len(recipients)} recipients through '{mail_key}'.",
    )
    def deliver_email(context: OpExecutionContext, stored: dict):
        if spec.send_if == "rows" and stored["rows"] == 0:
            context.log.info("no rows in this period and send_if is rows: nothing sent")
            yield Output(None, metadata={"status": "skipped", "reason": "no rows (send_if: rows)"})
            return
        period = period_of_run(spec.schedule, partitions_def, context)
        attachment = Path(stored["path"])
        if attachment.stat().st_size > max_bytes:
            raise Failure(
                description=f"the file is {attachment.stat().st_size / 1048576:.1f} MB, over "
                f"policy.max_attachment_mb ({connections.policy.max_attachment_mb}); filter the "
                "query or raise the limit in connections.yaml",
                allow_retries=False,
            )
        variables = template_context(
            name=spec.name,
            title=spec.display_title,
            owner=str(spec.owner),
            period=PeriodContext(start=period.start, end=period.end, key=period.key),
            rows=stored["rows"],
            ext=spec.extension,
            format=spec.format,
            run_id=context.run_id,
            params=spec.source.params,
        )
        mailer = getattr(context.resources, mail_key)
        try:
            message = build_email_message(
                from_address=mailer.from_address,
                to=list(target.to),
                cc=list(target.cc),
                subject=render_template(target.subject, variables).strip(),
                body=render_template(_body_source(report, target), variables),
                attachment=attachment,
            )
        except (TemplateRenderError, ValueError) as exc:
            raise Failure(
                description=f"deliver[{index}].email: cannot build the message: {exc}",
                allow_retries=False,
            ) from None
        stem = f"{spec.name}_{period_slug(period.key)}_{index + 1}"
        try:
            receipt = mailer.send(message, recipients, stem)
        except DeliveryError as exc:
            if exc.permanent:
                raise Failure(
                    description=f"deliver[{index}].email via '{mail_key}' failed: {exc}",
                    allow_retries=False,
                ) from None
            raise  # transient: the step's retry policy tries again
        context.log.info(f"e-mail {receipt.summary}")
        yield Output(
            None,
            metadata={
                "status": "delivered",
                "recipients": len(recipients),
                "connection": mail_key,
                "subject": message["Subject"],
                "receipt": MetadataValue.json(receipt.details),
            },
        )

    return deliver_email
