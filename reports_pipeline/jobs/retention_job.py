"""Retention as a Dagster job, ``reports_retention``, and its daily schedule.

One op, a thin adapter over :func:`reports_pipeline.retention_pass.retention_pass`: it deletes
stored files past ``retention_days`` and runs past ``policy.run_retention_days``, and records
what went in its metadata (counts, bytes, the paths and run ids, capped) and its log. The
schedule ticks daily at ``policy.retention_at`` (03:30 by default, when reports rarely run) in
the policy's time zone.
"""

from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import (
    Config,
    DefaultScheduleStatus,
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

from reports_pipeline.resources.storage import STORAGE_RESOURCE_KEY
from reports_pipeline.retention_pass import (
    RetentionPass,
    file_retention_configured,
    retention_pass,
)
from reports_pipeline.scheduling.run_requests import tick_run_key
from reports_pipeline.spec.connections import ConnectionsFile
from reports_pipeline.spec.report import ReportSpec

RETENTION_JOB_NAME = "reports_retention"
RETENTION_SCHEDULE_NAME = "reports_retention_schedule"
LISTED_IN_METADATA = 200  # paths and runs named in the metadata; the counts cover them all


class RetentionConfig(Config):
    dry_run: bool = Field(default=False, description="Only record what would be deleted.")


def retention_configured(specs: Sequence[ReportSpec], connections: ConnectionsFile) -> bool:
    """Whether anything is ever deleted: the job exists only then."""
    return connections.policy.run_retention_days is not None or file_retention_configured(
        specs, connections.storage.retention_days
    )


def _capped(lines: list[str]) -> str:
    shown = lines[:LISTED_IN_METADATA]
    more = len(lines) - len(shown)
    return "\n".join(shown + ([f"… and {more} more"] if more else [])) or "(none)"


def retention_metadata(result: RetentionPass) -> dict:
    files = [f"{entry.relative}  {entry.bytes} bytes" for entry in result.files.files]
    runs = [f"{run.run_id}  {run.job_name}  {run.status}" for run in result.runs]
    return {
        "dry_run": result.dry_run,
        "files_deleted": len(result.files.files),
        "bytes_deleted": result.files.bytes,
        "runs_deleted": len(result.runs),
        "files": MetadataValue.text(_capped(files)),
        "runs": MetadataValue.text(_capped(runs)),
        "notes": MetadataValue.text("; ".join(result.notes) or "-"),
    }


def build_retention_job(specs: Sequence[ReportSpec], connections: ConnectionsFile) -> JobDefinition:
    """The job that deletes old report files and old runs as the deployment's settings say."""

    @op(
        name="apply_retention",
        required_resource_keys={STORAGE_RESOURCE_KEY},
        description="Delete stored files and runs older than their retention days.",
    )
    def apply_retention(context: OpExecutionContext, config: RetentionConfig):
        result = retention_pass(
            getattr(context.resources, STORAGE_RESOURCE_KEY),
            context.instance,
            specs,
            connections,
            datetime.now(timezone.utc),
            dry_run=config.dry_run,
        )
        verb = "would delete" if config.dry_run else "deleted"
        for entry in result.files.files:
            context.log.info(f"{verb} {entry.relative} ({entry.bytes} bytes)")
        for run in result.runs:
            context.log.info(f"{verb} run {run.run_id} of {run.job_name} ({run.status})")
        for note in result.notes:
            context.log.info(note)
        context.add_output_metadata(retention_metadata(result))
        return len(result.files.files) + len(result.runs)

    @job(
        name=RETENTION_JOB_NAME,
        description="Deletes report files and runs older than their retention days, keeping "
        "each report's latest file and latest runs.",
    )
    def reports_retention():
        apply_retention()

    return reports_retention


def build_retention_schedule(
    retention_job: JobDefinition, zone: str, at: str = "03:30"
) -> ScheduleDefinition:
    """Daily at ``at`` ("HH:MM") in ``zone``; one run per tick."""
    hour, minute = (int(part) for part in at.split(":"))

    @schedule(
        name=RETENTION_SCHEDULE_NAME,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=zone,
        job=retention_job,
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Deletes old report files and runs, daily at {at} ({zone}).",
    )
    def reports_retention_schedule(context: ScheduleEvaluationContext):
        return RunRequest(run_key=tick_run_key(context))

    return reports_retention_schedule
