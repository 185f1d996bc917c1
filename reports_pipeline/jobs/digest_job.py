"""The owners' digest as a Dagster job, ``reports_digest``, and its schedule.

One op: read the reports' facts from the instance (``digest_facts``), compose one e-mail per
owner (``digest``), send each through ``policy.notify``'s mail connection like the notices.
The schedule (``policy.digest``: weekly on Monday at 08:00 in the policy's time zone by
default) hands the op its tick, so a digest covers the interval before its tick whenever the
run starts; a run launched by hand covers the interval before now.
"""

from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import (
    Config,
    DefaultScheduleStatus,
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    job,
    op,
    schedule,
)
from pydantic import Field

from reports_pipeline.digest import compose_digests
from reports_pipeline.digest_facts import digest_reports
from reports_pipeline.scheduling.run_requests import tick_run_key
from reports_pipeline.sensors.owner_notice import OwnerNotices
from reports_pipeline.spec.connections import ConnectionsFile, DigestPolicy
from reports_pipeline.spec.report import ReportSpec

DIGEST_JOB_NAME = "reports_digest"
DIGEST_SCHEDULE_NAME = "reports_digest_schedule"
_HEADINGS = {"week": "Weekly", "day": "Daily"}


class DigestConfig(Config):
    until: str | None = Field(
        default=None,
        description="The end of the digest's window, ISO 8601 (the schedule's tick); "
        "default: when the run starts.",
    )


def _window_end(config: DigestConfig) -> datetime:
    if config.until is None:
        return datetime.now(timezone.utc)
    until = datetime.fromisoformat(config.until)
    return until if until.tzinfo else until.replace(tzinfo=timezone.utc)


def build_digest_job(
    specs: Sequence[ReportSpec], connections: ConnectionsFile, digest: DigestPolicy
) -> JobDefinition:
    """The job that sends every owner the digest of their ``specs``."""
    notices = OwnerNotices(connections)
    zone = connections.policy.timezone

    @op(name="send_digests", description="E-mail each report owner the digest of their reports.")
    def send_digests(context: OpExecutionContext, config: DigestConfig):
        until = _window_end(config)
        redactor = notices.redactor()
        reports = digest_reports(
            context.instance,
            specs,
            since=until - digest.covers,
            until=until,
            ahead=digest.covers,
            scrub=lambda text: redactor.text(text, limit=None),
        )
        emails = compose_digests(
            reports,
            since=until - digest.covers,
            until=until,
            zone=zone,
            ui_base_url=notices.ui_base_url,
            heading=_HEADINGS[digest.every],
        )
        failed = []
        for email in emails:
            try:
                notices.send(
                    email.owner, email.subject, email.text, "digest", html=email.html, slack=False
                )
            except RuntimeError as exc:  # already scrubbed; the other owners still get theirs
                failed.append(str(exc))
                context.log.error(f"{email.owner}: {exc}")
            else:
                context.log.info(f"sent {email.owner} the digest of {', '.join(email.reports)}")
        context.add_output_metadata(
            {
                "owners": len(emails),
                "sent": len(emails) - len(failed),
                "window": MetadataValue.text(
                    f"{(until - digest.covers).isoformat()} to {until.isoformat()}"
                ),
            }
        )
        if failed:
            raise Failure(
                description=f"{len(failed)} of {len(emails)} digests not sent: "
                + "; ".join(failed),
                allow_retries=False,  # a retry would send the others' digests twice
            )
        return len(emails)

    @job(
        name=DIGEST_JOB_NAME,
        description="Each report owner's digest: their reports, runs, failures, late periods, "
        "file sizes and next runs.",
    )
    def reports_digest():
        send_digests()

    return reports_digest


def build_digest_schedule(
    digest_job: JobDefinition, digest: DigestPolicy, zone: str
) -> ScheduleDefinition:
    """``policy.digest``'s cadence in ``zone``; each tick's run covers the interval before it."""

    @schedule(
        name=DIGEST_SCHEDULE_NAME,
        cron_schedule=digest.cron,
        execution_timezone=zone,
        job=digest_job,
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Sends the owners' digest ({_HEADINGS[digest.every].lower()} at "
        f"{digest.at}, {zone}).",
    )
    def reports_digest_schedule(context: ScheduleEvaluationContext):
        until = tick_run_key(context)
        return RunRequest(
            run_key=until,
            run_config={"ops": {"send_digests": {"config": {"until": until}}}},
        )

    return reports_digest_schedule
